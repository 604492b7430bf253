// absd's configuration: YAML (the file) and JSON (PUT /v1/config) through the strict
// validator. A document that validates must survive the writer: JsonToYaml and back gives
// the same document.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.h"

namespace {

// A fuzzed document may name any host as a Secret Agent: nothing is fetched, but a well
// formed reference to a configured agent gets a secret back, so parsing goes on past it.
absvc::Result<std::string> FakeAgent(const absvc::service::SecretAgentConfig& agent,
                                     const absvc::client::SecretRef& ref) {
  if (ref.resource == "missing") return absvc::Status::NotFound("no such secret");
  return "secret-of-" + ref.key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace absvc::service;
  std::string in(reinterpret_cast<const char*>(data), size);
  auto doc = YamlToJson(in, "fuzz.yml");
  if (doc.ok()) {
    auto cfg = ParseConfig(*doc, FakeAgent);
    if (cfg.ok()) {
      auto back = YamlToJson(JsonToYaml(cfg->document), "roundtrip.yml");
      if (!back.ok() || *back != cfg->document) __builtin_trap();
      (void)RedactSecrets(cfg->document);
    }
  }
  Json j = Json::parse(in, nullptr, false);
  if (!j.is_discarded()) {
    (void)ParseConfig(j, FakeAgent);
    (void)KeepStoredSecrets(j, j);
  }
  return 0;
}
