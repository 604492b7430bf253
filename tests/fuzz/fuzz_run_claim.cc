// Run claims (abs-run.json) and run-lock records read back from shared storage, where any
// instance, an older abs or a damaged write may have left anything: deciding whether
// their owner is gone must never crash, and a record that names no owner is judged by the
// flag alone.
#include <cstddef>
#include <cstdint>
#include <string>

#include "service/ownership.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace absvc::service;
  Json record = Json::parse(std::string(reinterpret_cast<const char*>(data), size), nullptr, false);
  if (record.is_discarded()) return 0;
  bool gone = OwnerIsGone(record, 1795574895000, 60000, false);
  (void)OwnerIsGone(record, 1795574895000, 60000, true);
  Owner owner = Owner::FromJson(record.is_object() ? record.value("owner", Json()) : Json());
  (void)owner.Describe();
  // Without an owner's host and pid nothing is provably gone.
  bool named = record.is_object() && ((record.contains("owner") && record["owner"].is_object()) ||
                                      record.contains("host"));
  if (!named && gone) __builtin_trap();
  return 0;
}
