// POST /v1/restore/{full,incremental,timestamp} bodies.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace absvc::service;
  Json j = Json::parse(std::string(reinterpret_cast<const char*>(data), size), nullptr, false);
  if (j.is_discarded()) return 0;
  // An inline secret-agent may name any host: nothing is fetched.
  const SecretFetcher fake = [](const SecretAgentConfig&,
                                const absvc::client::SecretRef& ref) -> absvc::Result<std::string> {
    return "secret-of-" + ref.key;
  };
  (void)ParseRestoreRequest(j, false, {}, fake);
  (void)ParseRestoreRequest(j, true, {}, fake);
  return 0;
}
