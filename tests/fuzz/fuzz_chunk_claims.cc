// The records of a cooperative set read back from shared storage (claims, heartbeats,
// commits), where any instance, an older abs or a damaged write may have left anything:
// claiming and listing must never crash, and a committed chunk, however damaged its
// record, is never claimed again.
#include <cstddef>
#include <cstdint>
#include <string>

#include "backupset/chunk_claims.h"
#include "storage/memory/memory_storage.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace absvc;
  // One store, emptied before each input.
  auto storage = storage::OpenMemoryStorage("fuzz-claims").value();
  (void)storage->Remove("set/");
  // The input, split in three, is the claim of chunk 0, its owner's heartbeat and the
  // commit of chunk 1.
  std::string input(reinterpret_cast<const char*>(data), size);
  size_t third = input.size() / 3;
  (void)storage->PutAtomic("set/claims/0/0.json", input.substr(0, third));
  (void)storage->PutAtomic("set/owners/other.json", input.substr(third, third));
  (void)storage->PutAtomic("set/done/1.json", input.substr(2 * third));
  FakeClock clock;
  clock.SetUnixMillis(1700000000000);
  backupset::ChunkClaims claims(*storage, "set", "me", 3, {}, clock);
  auto next = claims.ClaimNext();
  if (next.ok() && *next && (*next)->chunk == 1) __builtin_trap();
  auto committed = claims.Committed();
  if (committed.ok() && !committed->count(1)) __builtin_trap();
  (void)claims.AllDone();
  (void)storage->Remove("set/");
  return 0;
}
