#include "backupset/chunk_claims.h"

#include <charconv>

namespace absvc::backupset {
namespace {

using nlohmann::json;

// "<digits>.json" -> the number, or -1.
int NumberedJson(std::string_view name) {
  constexpr std::string_view kExt = ".json";
  if (name.size() <= kExt.size() || name.substr(name.size() - kExt.size()) != kExt) return -1;
  name.remove_suffix(kExt.size());
  int n = -1;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
  return ec == std::errc() && end == name.data() + name.size() && n >= 0 ? n : -1;
}

// Fields of records any instance (or a damaged write) may have left: a wrong type reads
// as absent, never as an exception.
std::string StringField(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
std::optional<int64_t> IntField(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return std::nullopt;
  }
  return it->get<int64_t>();
}

Result<json> ReadJson(storage::Storage& storage, const std::string& path) {
  ABS_ASSIGN_OR_RETURN(std::string text, storage.ReadAll(path));
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Status::Corrupt(path + " is not a JSON object");
  return j;
}

}  // namespace

ChunkClaims::ChunkClaims(storage::Storage& storage, std::string set_dir, std::string owner,
                         int chunks, ClaimOptions options, Clock& clock, int first)
    : storage_(storage),
      dir_(std::move(set_dir)),
      owner_(std::move(owner)),
      chunks_(chunks),
      options_(options),
      clock_(clock),
      first_(chunks > 0 ? ((first % chunks) + chunks) % chunks : 0) {}

std::string ChunkClaims::ClaimPath(int chunk, int generation) const {
  return dir_ + "/claims/" + std::to_string(chunk) + "/" + std::to_string(generation) + ".json";
}

Status ChunkClaims::Heartbeat() {
  json beat = {{"owner", owner_}, {"heartbeat-ms", clock_.UnixMillis()}};
  return storage_.PutAtomic(dir_ + "/owners/" + owner_ + ".json", beat.dump());
}

Result<std::optional<int64_t>> ChunkClaims::HeartbeatOf(const std::string& owner) {
  auto beat = ReadJson(storage_, dir_ + "/owners/" + owner + ".json");
  if (!beat.ok()) {
    // Missing or damaged (a write cut short): no heartbeat to go by.
    const StatusCode code = beat.status().code();
    if (code == StatusCode::kNotFound || code == StatusCode::kCorrupt) {
      return std::optional<int64_t>();
    }
    return beat.status();
  }
  return IntField(*beat, "heartbeat-ms");
}

Result<std::map<int, json>> ChunkClaims::Committed() {
  std::map<int, json> out;
  auto listed = storage_.List(dir_ + "/done/");
  if (!listed.ok()) {
    if (listed.status().code() == StatusCode::kNotFound) return out;
    return listed.status();
  }
  for (const auto& o : *listed) {
    int chunk = NumberedJson(std::string_view(o.path).substr(o.path.rfind('/') + 1));
    if (chunk < 0 || chunk >= chunks_) continue;
    auto record = ReadJson(storage_, o.path);
    if (record.ok()) {
      out[chunk] = std::move(record).value();
    } else if (record.status().code() == StatusCode::kCorrupt) {
      // Committed (the name is taken for good) but unreadable: shown, never claimed again.
      out[chunk] = json{{"damaged", record.status().message()}};
    } else if (record.status().code() != StatusCode::kNotFound) {
      return record.status();
    }
  }
  return out;
}

Result<bool> ChunkClaims::AllDone() {
  ABS_ASSIGN_OR_RETURN(auto done, Committed());
  return static_cast<int>(done.size()) == chunks_;
}

Result<std::optional<ChunkClaim>> ChunkClaims::ClaimNext() {
  ABS_ASSIGN_OR_RETURN(auto done, Committed());
  // Each chunk's newest claim generation.
  std::map<int, int> newest;
  auto listed = storage_.List(dir_ + "/claims/");
  if (!listed.ok() && listed.status().code() != StatusCode::kNotFound) return listed.status();
  if (listed.ok()) {
    for (const auto& o : *listed) {
      // <dir>/claims/<chunk>/<generation>.json
      auto slash = o.path.rfind('/');
      auto parent = o.path.rfind('/', slash - 1);
      if (slash == std::string::npos || parent == std::string::npos) continue;
      int generation = NumberedJson(std::string_view(o.path).substr(slash + 1));
      int chunk = NumberedJson(o.path.substr(parent + 1, slash - parent - 1) + ".json");
      if (generation < 0 || chunk < 0 || chunk >= chunks_) continue;
      auto [n, fresh] = newest.emplace(chunk, generation);
      if (!fresh && generation > n->second) n->second = generation;
    }
  }
  const int64_t now = clock_.UnixMillis();
  std::map<std::string, bool> silent;  // owner -> lease lapsed (read once per call)
  for (int i = 0; i < chunks_; ++i) {
    const int chunk = (first_ + i) % chunks_;
    if (done.count(chunk)) continue;
    auto it = newest.find(chunk);
    if (it == newest.end()) {
      ABS_ASSIGN_OR_RETURN(
          bool mine, storage_.CreateExclusive(ClaimPath(chunk, 0),
                                              json{{"owner", owner_}, {"claimed-ms", now}}.dump()));
      if (mine) return std::optional<ChunkClaim>(ChunkClaim{chunk, 0, ""});
      continue;  // another instance got there first: look further
    }
    const int generation = it->second;
    auto claim = ReadJson(storage_, ClaimPath(chunk, generation));
    if (!claim.ok() && claim.status().code() != StatusCode::kCorrupt) continue;  // gone
    // A damaged claim (a write cut short) names nobody: it is taken over like a silent
    // owner's. If it was being written, two owners work; one commit counts.
    const json record = claim.ok() ? *claim : json::object();
    const std::string holder = StringField(record, "owner");
    if (holder == owner_) return std::optional<ChunkClaim>(ChunkClaim{chunk, generation, ""});
    auto known = silent.find(holder);
    if (known == silent.end()) {
      ABS_ASSIGN_OR_RETURN(auto beat, HeartbeatOf(holder));
      // No heartbeat at all: judged by when the claim was made.
      int64_t last = beat ? *beat : IntField(record, "claimed-ms").value_or(0);
      known =
          silent.emplace(holder, now - last > options_.lease_ms + options_.max_clock_skew_ms).first;
    }
    if (!known->second) continue;
    ABS_ASSIGN_OR_RETURN(
        bool mine,
        storage_.CreateExclusive(
            ClaimPath(chunk, generation + 1),
            json{{"owner", owner_}, {"claimed-ms", now}, {"took-over-from", holder}}.dump()));
    if (mine) return std::optional<ChunkClaim>(ChunkClaim{chunk, generation + 1, holder});
  }
  return std::optional<ChunkClaim>();
}

Result<bool> ChunkClaims::Superseded(const ChunkClaim& claim) {
  return storage_.Exists(ClaimPath(claim.chunk, claim.generation + 1));
}

Result<bool> ChunkClaims::Commit(const ChunkClaim& claim, const json& result) {
  const std::string path = dir_ + "/done/" + std::to_string(claim.chunk) + ".json";
  // The nonce tells this commit from any other: a storage that retried a create whose
  // answer was lost reports "exists" for the object this very call created.
  const std::string nonce = owner_ + "/" + std::to_string(claim.generation) + "/" +
                            std::to_string(clock_.UnixMillis()) + "/" + std::to_string(commits_++);
  json record = {
      {"generation", claim.generation}, {"owner", owner_}, {"nonce", nonce}, {"result", result}};
  ABS_ASSIGN_OR_RETURN(bool created, storage_.CreateExclusive(path, record.dump()));
  if (created) return true;
  auto there = ReadJson(storage_, path);
  return there.ok() && StringField(*there, "nonce") == nonce;
}

}  // namespace absvc::backupset
