// The claim protocol of cooperative backup sets (backupset/chunk_claims.h), as a property
// test: instances on an in-memory storage, each with its own fake clock skewed within the
// stated bound, claim, work on and commit chunks in a random order while others die, stall
// past their lease, renew late (but within lease / 3) and join late. Whatever the seed:
// every chunk is committed exactly once, the commits add up to every record once, and no
// claim is taken from an owner that kept renewing.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>

#include "backupset/chunk_claims.h"
#include "storage/memory/memory_storage.h"

namespace absvc::backupset {
namespace {

constexpr int64_t kLease = 30000;
constexpr int64_t kSkew = 5000;

struct Instance {
  std::string name;
  int64_t skew_ms = 0;  // its clock minus true time, within ±kSkew / 2
  FakeClock clock;
  std::unique_ptr<ChunkClaims> claims;
  bool dead = false;
  int64_t stalled_until = 0;  // true time; no heartbeat, no work before it
  int64_t last_beat = -1;     // true time of its last heartbeat
  int64_t beat_every = 0;     // at most lease / 3
  std::optional<ChunkClaim> claim;
  int work_left = 0;
};

struct Outcome {
  int sets = 0, kills = 0, stalls = 0, takeovers = 0, lost_commits = 0, joins = 0;
};

// One cooperative set of `chunks` chunks, to the end; failures are reported by gtest.
void RunSet(uint32_t seed, int chunks, Outcome& total) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  auto storage = storage::OpenMemoryStorage("claims-" + std::to_string(seed)).value();
  const std::string set = "r1/backup/1700000000000";
  std::vector<uint64_t> records(static_cast<size_t>(chunks));
  uint64_t all_records = 0;
  for (auto& r : records)
    all_records += (r = static_cast<uint64_t>(pick(0, 5000)));

  int64_t now = 1700000000000;
  std::vector<std::unique_ptr<Instance>> instances;
  auto join = [&]() {
    auto in = std::make_unique<Instance>();
    in->name = "i" + std::to_string(instances.size());
    in->skew_ms = pick(-kSkew / 2, kSkew / 2);
    in->clock.SetUnixMillis(now + in->skew_ms);
    in->beat_every = pick(kLease / 10, kLease / 3);
    in->claims =
        std::make_unique<ChunkClaims>(*storage, set, in->name, chunks, ClaimOptions{kLease, kSkew},
                                      in->clock, static_cast<int>(pick(0, chunks - 1)));
    instances.push_back(std::move(in));
    ++total.joins;
  };
  const int first = static_cast<int>(pick(1, 8));
  for (int i = 0; i < first; ++i)
    join();

  std::map<int, std::string> committed_by;  // chunk -> the one commit that counted
  Outcome o;
  for (int step = 0; step < 20000; ++step) {
    now += pick(100, 2000);
    if (chance(0.003)) join();
    bool any_alive = false;
    for (size_t idx = 0; idx < instances.size(); ++idx) {
      Instance& in = *instances[idx];
      if (in.dead) continue;
      any_alive = true;
      in.clock.SetUnixMillis(now + in.skew_ms);
      if (now < in.stalled_until) continue;
      // The first instance never dies, so the set always ends; the others may.
      if (idx > 0 && chance(0.002)) {
        in.dead = true;
        ++o.kills;
        continue;
      }
      if (chance(0.002)) {  // stalls (SIGSTOP, a long pause): no heartbeat either
        in.stalled_until = now + pick(1000, 3 * kLease);
        ++o.stalls;
        continue;
      }
      if (in.last_beat < 0 || now - in.last_beat >= in.beat_every) {
        ASSERT_TRUE(in.claims->Heartbeat().ok());
        in.last_beat = now;
      }
      if (!in.claim) {
        auto next = in.claims->ClaimNext();
        ASSERT_TRUE(next.ok()) << next.status().ToString();
        if (!*next) continue;
        in.claim = **next;
        in.work_left = static_cast<int>(pick(1, 6));
        if (!in.claim->previous.empty()) {
          ++o.takeovers;
          // Taken only from an owner silent for a whole lease, in true time.
          for (const auto& other : instances) {
            if (other->name != in.claim->previous) continue;
            EXPECT_GE(now - other->last_beat, kLease)
                << in.name << " took chunk " << in.claim->chunk << " from " << other->name
                << ", which renewed " << now - other->last_beat << " ms ago";
          }
        }
        continue;
      }
      if (--in.work_left > 0) {
        auto superseded = in.claims->Superseded(*in.claim);
        ASSERT_TRUE(superseded.ok());
        if (*superseded) in.claim.reset();  // another owner has it: stop early
        continue;
      }
      nlohmann::json result = {{"records", records[static_cast<size_t>(in.claim->chunk)]},
                               {"by", in.name}};
      auto won = in.claims->Commit(*in.claim, result);
      ASSERT_TRUE(won.ok()) << won.status().ToString();
      if (*won) {
        EXPECT_EQ(committed_by.count(in.claim->chunk), 0u)
            << "chunk " << in.claim->chunk << " committed twice";
        committed_by[in.claim->chunk] = in.name;
      } else {
        ++o.lost_commits;  // a stalled owner's work, discarded
      }
      in.claim.reset();
    }
    ASSERT_TRUE(any_alive);
    auto done = instances[0]->claims->AllDone();
    ASSERT_TRUE(done.ok());
    if (*done) break;
  }
  auto committed = instances[0]->claims->Committed();
  ASSERT_TRUE(committed.ok());
  ASSERT_EQ(committed->size(), static_cast<size_t>(chunks)) << "the set did not complete";
  uint64_t sum = 0;
  for (const auto& [chunk, record] : *committed) {
    EXPECT_EQ(record["owner"], committed_by[chunk]) << "chunk " << chunk;
    sum += record["result"]["records"].get<uint64_t>();
  }
  EXPECT_EQ(sum, all_records) << "every record once";
  ++total.sets;
  total.kills += o.kills;
  total.stalls += o.stalls;
  total.takeovers += o.takeovers;
  total.lost_commits += o.lost_commits;
}

TEST(ChunkClaims, EveryChunkIsCommittedOnceWhateverDiesStallsOrJoins) {
  Outcome total;
  for (uint32_t seed = 1; seed <= 150; ++seed) {
    RunSet(seed, seed % 3 == 0 ? 64 : 16, total);
    if (HasFatalFailure()) return;
  }
  // The campaign exercised what it claims to.
  EXPECT_EQ(total.sets, 150);
  EXPECT_GT(total.kills, 0);
  EXPECT_GT(total.stalls, 0);
  EXPECT_GT(total.takeovers, 0);
  EXPECT_GT(total.lost_commits, 0) << "no stalled owner ever woke to a chunk already taken";
  std::cout << "[ claims ] sets " << total.sets << ", instances " << total.joins << ", kills "
            << total.kills << ", stalls " << total.stalls << ", takeovers " << total.takeovers
            << ", commits discarded " << total.lost_commits << "\n";
}

TEST(ChunkClaims, ALiveOwnerKeepsItsChunkAndARestartedOneFindsIt) {
  auto storage = storage::OpenMemoryStorage("claims-live").value();
  FakeClock a_clock, b_clock;
  a_clock.SetUnixMillis(1700000000000);
  b_clock.SetUnixMillis(1700000000000 + kSkew / 2);  // b's clock runs ahead
  ChunkClaims a(*storage, "set", "a", 2, {kLease, kSkew}, a_clock);
  ChunkClaims b(*storage, "set", "b", 2, {kLease, kSkew}, b_clock);
  ASSERT_TRUE(a.Heartbeat().ok());
  auto mine = a.ClaimNext();
  ASSERT_TRUE(mine.ok() && *mine);
  EXPECT_EQ(**mine, (ChunkClaim{0, 0, ""}));
  // b takes the other chunk, then finds nothing free while a renews.
  auto other = b.ClaimNext();
  ASSERT_TRUE(other.ok() && *other);
  EXPECT_EQ((*other)->chunk, 1);
  for (int i = 0; i < 10; ++i) {
    a_clock.Advance(std::chrono::milliseconds(kLease / 3));
    b_clock.Advance(std::chrono::milliseconds(kLease / 3));
    ASSERT_TRUE(a.Heartbeat().ok());
    ASSERT_TRUE(b.Heartbeat().ok());
    auto none = b.ClaimNext();
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(*none, std::optional<ChunkClaim>(ChunkClaim{1, 0, ""})) << "only its own";
  }
  // a restarts under its name: it holds chunk 0 still.
  ChunkClaims a_again(*storage, "set", "a", 2, {kLease, kSkew}, a_clock);
  EXPECT_EQ(*a_again.ClaimNext(), std::optional<ChunkClaim>(ChunkClaim{0, 0, ""}));
  // a goes silent: after lease + skew by b's clock, b takes chunk 0 over.
  b_clock.Advance(std::chrono::milliseconds(kLease + kSkew));
  ASSERT_TRUE(b.Commit(ChunkClaim{1, 0, ""}, {{"records", 1}}).value());
  auto taken = b.ClaimNext();
  ASSERT_TRUE(taken.ok() && *taken);
  EXPECT_EQ(**taken, (ChunkClaim{0, 1, "a"}));
  EXPECT_TRUE(a.Superseded(**mine).value());
  // a wakes and commits first: its commit counts, b's is refused.
  EXPECT_TRUE(a.Commit(**mine, {{"records", 2}}).value());
  EXPECT_FALSE(b.Commit(**taken, {{"records", 2}}).value());
  EXPECT_TRUE(b.AllDone().value());
  EXPECT_EQ(b.Committed().value().at(0)["owner"], "a");
}

// A storage whose conditional creates under done/ succeed but lose their answer, so the
// retry reports "exists" (what a retrying client sees after a timeout).
class LostAnswers : public storage::Storage {
 public:
  explicit LostAnswers(storage::Storage& inner) : inner_(inner) {}
  Result<std::vector<storage::ObjectInfo>> List(const std::string& prefix) override {
    return inner_.List(prefix);
  }
  Result<std::unique_ptr<storage::Reader>> OpenReader(const std::string& path) override {
    return inner_.OpenReader(path);
  }
  Result<std::unique_ptr<storage::Writer>> OpenWriter(const std::string& path) override {
    return inner_.OpenWriter(path);
  }
  Status Remove(const std::string& path) override { return inner_.Remove(path); }
  Status PutAtomic(const std::string& path, std::string_view data) override {
    return inner_.PutAtomic(path, data);
  }
  Result<std::string> ReadAll(const std::string& path) override { return inner_.ReadAll(path); }
  Result<bool> CreateExclusive(const std::string& path, std::string_view data) override {
    auto first = inner_.CreateExclusive(path, data);
    if (!first.ok() || path.find("/done/") == std::string::npos) return first;
    return inner_.CreateExclusive(path, data);  // the retry after the lost answer
  }
  Result<bool> Exists(const std::string& path) override { return inner_.Exists(path); }
  std::string Describe() const override { return "lost answers"; }

 private:
  storage::Storage& inner_;
};

TEST(ChunkClaims, ACommitWhoseAnswerWasLostIsStillTheCommittersAndDamageIsShown) {
  auto inner = storage::OpenMemoryStorage("claims-lost").value();
  LostAnswers storage(*inner);
  FakeClock clock;
  clock.SetUnixMillis(1700000000000);
  ChunkClaims a(storage, "set", "a", 3, {kLease, kSkew}, clock);
  ChunkClaims b(storage, "set", "b", 3, {kLease, kSkew}, clock);
  auto claim = a.ClaimNext();
  ASSERT_TRUE(claim.ok() && *claim);
  EXPECT_TRUE(a.Commit(**claim, {{"records", 1}}).value()) << "the retry found its own commit";
  EXPECT_FALSE(b.Commit(**claim, {{"records", 1}}).value()) << "another's commit is not ours";
  // A damaged commit record still counts as committed (never claimed again) and shows
  // as damaged; a damaged claim is taken over; a damaged heartbeat reads as none.
  ASSERT_TRUE(inner->PutAtomic("set/done/1.json", "{\"generation\":").ok());
  ASSERT_TRUE(inner->PutAtomic("set/claims/2/0.json", "").ok());
  ASSERT_TRUE(inner->PutAtomic("set/owners/ghost.json", "[]").ok());
  auto committed = b.Committed();
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_TRUE(committed->at(1).contains("damaged"));
  auto next = b.ClaimNext();
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  ASSERT_TRUE(*next);
  EXPECT_EQ(**next, (ChunkClaim{2, 1, ""}));
  EXPECT_TRUE(b.Commit(**next, {{"records", 1}}).value());
  EXPECT_TRUE(b.AllDone().value());
}

}  // namespace
}  // namespace absvc::backupset
