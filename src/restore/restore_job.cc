#include "restore/restore_job.h"

#include <algorithm>
#include <mutex>
#include <thread>

#include "asb/decoder.h"
#include "backupset/metadata.h"
#include "common/base64.h"
#include "common/bytes.h"
#include "common/cltime.h"
#include "common/rate_limiter.h"
#include "restore/restore_plan.h"
#include "storage/layers.h"
#include "wire/info.h"

namespace absvc::restore {
namespace {

// Feeds the decoder from a storage reader, honouring the bandwidth limit.
class ThrottledSource : public asb::ByteSource {
 public:
  ThrottledSource(std::unique_ptr<storage::Reader> reader, RateLimiter& bandwidth)
      : reader_(std::move(reader)), bandwidth_(bandwidth) {}
  Result<size_t> Read(char* buf, size_t n) override {
    ABS_ASSIGN_OR_RETURN(size_t k, reader_->Read(buf, n));
    bandwidth_.Acquire(k);
    return k;
  }

 private:
  std::unique_ptr<storage::Reader> reader_;
  RateLimiter& bandwidth_;
};

bool Listed(const std::vector<std::string>& list, std::string_view name) {
  return list.empty() || std::find(list.begin(), list.end(), name) != list.end();
}

class FileRestorer {
 public:
  FileRestorer(client::Client& client, storage::Storage& storage, const RestoreOptions& o,
               RestoreCounters& counters, RateLimiter& tps, RateLimiter& bandwidth)
      : client_(client),
        storage_(storage),
        o_(o),
        counters_(counters),
        tps_(tps),
        bandwidth_(bandwidth) {}

  // Restores one planned file. On any failure the records it read but did not write are
  // counted as failed, so the counters add up.
  Status Restore(const PlannedFile& file) {
    written_from_file_ = 0;
    Status st = RestoreFile(file);
    if (!st.ok()) {
      counters_.failed += batch_.size();
      batch_.clear();
    }
    return st;
  }

 private:
  Status RestoreFile(const PlannedFile& file) {
    const std::string& path = file.object.path;
    ABS_ASSIGN_OR_RETURN(auto stored, storage_.OpenReader(path));
    counters_.bytes += file.object.size;
    auto hashing_owned = std::make_unique<storage::HashingReader>(std::move(stored));
    storage::HashingReader* hashing = hashing_owned.get();  // owned by the decoder's chain
    auto reader = storage::DecodeReader(std::move(hashing_owned), o_.codec, path);
    asb::Decoder decoder(std::make_unique<ThrottledSource>(std::move(reader), bandwidth_), path);
    Status st = DecodeAndWrite(decoder, path);
    // The checksum speaks first when the file itself may be at fault: a damaged file
    // often fails to decode too, and the mismatch is the better explanation. The last
    // batch waits for it. A stop for another reason (the cluster, a cancel) does not read
    // the rest of the file.
    bool file_at_fault = st.ok() || st.code() == StatusCode::kCorrupt;
    if (!file.sha256.empty() && file_at_fault) {
      auto sha = hashing->Finish();
      if (!sha.ok()) return sha.status().WithContext(path);
      if (*sha != file.sha256 || hashing->bytes_read() != file.object.size) {
        return Status::Corrupt(storage_.Describe() + "/" + path +
                               ": does not match its SHA-256 in the manifest (" +
                               (hashing->bytes_read() != file.object.size
                                    ? "now " + std::to_string(hashing->bytes_read()) +
                                          " bytes, planned " + std::to_string(file.object.size)
                                    : std::string("the file is damaged")) +
                               "); " + std::to_string(written_from_file_) + " of its records and " +
                               std::to_string(WrittenInAll()) + " in all were already written");
      }
    }
    if (!st.ok()) return st;
    return FlushBatch().WithContext(path);
  }

  Status DecodeAndWrite(asb::Decoder& decoder, const std::string& path) {
    ABS_RETURN_IF_ERROR(decoder.ReadHeader());
    asb::DecodedRecord rec;
    asb::SindexDefinition sindex;
    asb::UdfDefinition udf;
    while (true) {
      ABS_ASSIGN_OR_RETURN(asb::ItemKind kind, decoder.Next(&rec, &sindex, &udf));
      if (kind == asb::ItemKind::kEnd) return Status::Ok();
      if (o_.cancel && o_.cancel->load(std::memory_order_relaxed)) {
        return Status::Cancelled("restore cancelled");
      }
      if (kind == asb::ItemKind::kSindex) {
        if (!o_.no_indexes) ABS_RETURN_IF_ERROR(CreateSindex(sindex));
      } else if (kind == asb::ItemKind::kUdf) {
        if (!o_.no_udfs) ABS_RETURN_IF_ERROR(PutUdf(udf));
      } else if (!o_.no_records) {
        ABS_RETURN_IF_ERROR(AddRecord(rec).WithContext(path));
      }
    }
  }

  uint64_t WrittenInAll() const {
    return counters_.inserted.load() + counters_.existed.load() + counters_.fresher.load();
  }

  std::string TargetNamespace(const std::string& ns) const {
    if (!o_.namespace_source.empty() && ns == o_.namespace_source) return o_.namespace_destination;
    return ns;
  }

  Status AddRecord(const asb::DecodedRecord& r) {
    ++counters_.read;
    if (!Listed(o_.sets, r.set)) {
      ++counters_.skipped;
      return Status::Ok();
    }
    uint32_t ttl = client::kTtlNeverExpire;
    if (r.void_time != 0) {
      int64_t remaining = static_cast<int64_t>(r.void_time) - CitrusleafNowSeconds() + o_.extra_ttl;
      if (remaining <= 0) {
        ++counters_.expired;
        return Status::Ok();
      }
      ttl = static_cast<uint32_t>(remaining);
    }
    client::BatchWriteRecord w;
    w.key = client::Key::FromDigest(TargetNamespace(r.ns), r.set, r.digest);
    if (!r.key.empty()) {
      w.key.user_key = client::Value{static_cast<uint8_t>(r.key[0]), r.key.substr(1)};
      w.send_key = true;
    }
    for (size_t i = 0; i < r.bin_count; ++i) {
      const auto& b = r.bins[i];
      if (!Listed(o_.bins, b.name)) continue;
      wire::AppendOp(w.ops, wire::OpType::kWrite, b.particle_type, b.name, b.value);
      ++w.n_ops;
    }
    if (w.n_ops == 0) {
      ++counters_.skipped;
      return Status::Ok();
    }
    w.ttl = ttl;
    if (o_.policy.unique) {
      w.exists = client::RecordExistsAction::kCreateOnly;
    } else {
      w.exists = o_.policy.replace ? client::RecordExistsAction::kReplace
                                   : client::RecordExistsAction::kUpdate;
      if (!o_.policy.no_generation) {
        w.generation_policy = client::GenerationPolicy::kExpectGreater;
        w.generation = r.generation;
      }
    }
    tps_.Acquire(1);
    batch_.push_back(std::move(w));
    if (batch_.size() >= o_.batch_size) return FlushBatch();
    return Status::Ok();
  }

  Status FlushBatch() {
    if (batch_.empty()) return Status::Ok();
    Status sent;
    if (o_.disable_batch_writes) {
      sent = WriteOneByOne();
    } else {
      client::BatchPolicy policy;
      policy.batch_size = o_.batch_size;
      policy.max_outstanding = o_.max_async_batches;
      sent = client_.BatchWrite(batch_, policy);
    }
    // Every record of the batch lands in exactly one counter; those without an answer
    // (a transport error) are failed.
    Status refused;
    for (const auto& w : batch_) {
      switch (w.result) {
        case 0:
          ++counters_.inserted;
          ++written_from_file_;
          break;
        case 3:
          ++counters_.fresher;
          break;
        case 5:
          ++counters_.existed;
          break;
        default:
          ++counters_.failed;
          if (w.result >= 0 && refused.ok()) {
            refused = Status::Server(
                w.result, "writing a record failed: " + client::ResultCodeName(w.result));
          }
      }
    }
    batch_.clear();
    if (!sent.ok()) return sent;
    return refused;
  }

  Status WriteOneByOne() {
    for (auto& w : batch_) {
      client::WritePolicy p;
      p.exists = w.exists;
      p.generation_policy = w.generation_policy;
      p.generation = w.generation;
      p.ttl = w.ttl;
      p.send_key = w.send_key;
      std::vector<client::Bin> bins;
      // Re-read the encoded ops as bins.
      size_t pos = 0;
      while (pos + 8 <= w.ops.size()) {
        uint32_t size = LoadU32BE(w.ops.data() + pos);
        uint8_t type = static_cast<uint8_t>(w.ops[pos + 5]);
        uint8_t name_len = static_cast<uint8_t>(w.ops[pos + 7]);
        bins.push_back(
            {w.ops.substr(pos + 8, name_len),
             client::Value{type, w.ops.substr(pos + 8 + name_len, size - 4 - name_len)}});
        pos += 4 + size;
      }
      Status st = client_.Put(w.key, bins, p);
      if (!st.ok() && st.server_code() == 0 && st.code() != StatusCode::kNotFound) return st;
      w.result = st.ok() ? 0 : (st.code() == StatusCode::kNotFound ? 2 : st.server_code());
    }
    return Status::Ok();
  }

  Status CreateSindex(const asb::SindexDefinition& s) {
    static const std::map<char, std::string> kBinTypes = {
        {'S', "string"}, {'N', "numeric"}, {'G', "geo2dsphere"}, {'B', "blob"}};
    static const std::map<char, std::string> kIndexTypes = {
        {'N', "default"}, {'L', "list"}, {'K', "mapkeys"}, {'V', "mapvalues"}};
    std::string cmd = "sindex-create:namespace=" + TargetNamespace(s.ns) + ";indexname=" + s.name +
                      (s.set.empty() ? "" : ";set=" + s.set) +
                      ";indextype=" + kIndexTypes.at(s.index_type) + ";bin=" + s.bin +
                      ";type=" + kBinTypes.at(s.bin_type) +
                      (s.context.empty() ? "" : ";context=" + s.context);
    ABS_ASSIGN_OR_RETURN(std::string answer, client_.InfoAny(cmd));
    if (auto err = wire::ParseInfoError(answer); err && err->code != 200) {
      return Status::Server(err->code, "creating index " + s.name + ": " + err->message);
    }
    ++counters_.index_count;
    return Status::Ok();
  }

  Status PutUdf(const asb::UdfDefinition& u) {
    std::string b64 = Base64Encode(u.content);
    ABS_ASSIGN_OR_RETURN(
        std::string answer,
        client_.InfoAny("udf-put:filename=" + u.name + ";content=" + b64 +
                        ";content-len=" + std::to_string(b64.size()) + ";udf-type=LUA"));
    if (answer.rfind("error=", 0) == 0 || wire::ParseInfoError(answer)) {
      return Status::Server(100, "registering UDF " + u.name + ": " + answer);
    }
    ++counters_.udf_count;
    return Status::Ok();
  }

  client::Client& client_;
  storage::Storage& storage_;
  const RestoreOptions& o_;
  RestoreCounters& counters_;
  RateLimiter& tps_;
  RateLimiter& bandwidth_;
  std::vector<client::BatchWriteRecord> batch_;
  uint64_t written_from_file_ = 0;  // inserted from the file being restored
};

// A backup's metadata.yaml says how its files were written; a restore told otherwise would
// fail on the first byte, so say what is wrong before starting.
Status CheckCodecAgainstMetadata(storage::Storage& storage, const std::string& dir,
                                 const storage::CodecOptions& codec) {
  std::string path = dir.empty() ? "metadata.yaml" : dir + "/metadata.yaml";
  auto exists = storage.Exists(path);
  if (!exists.ok() || !*exists) return Status::Ok();
  ABS_ASSIGN_OR_RETURN(std::string text, storage.ReadAll(path));
  ABS_ASSIGN_OR_RETURN(auto meta, backupset::ParseMetadataYaml(text));
  if (meta.compression != codec.CompressionName()) {
    return Status::InvalidArgument(storage.Describe() + "/" + path +
                                   ": the backup's compression is " + meta.compression +
                                   ", the restore was given " + codec.CompressionName());
  }
  if (meta.encryption != codec.EncryptionName()) {
    return Status::InvalidArgument(storage.Describe() + "/" + path +
                                   ": the backup's encryption is " + meta.encryption +
                                   ", the restore was given " + codec.EncryptionName());
  }
  return Status::Ok();
}

}  // namespace

Result<RestorePlan> PrepareRestore(storage::Storage& storage, const RestoreOptions& o) {
  if (o.directories.empty()) return Status::InvalidArgument("no backup directory to restore");
  if (o.parallel < 1) return Status::InvalidArgument("parallel must be at least 1");
  if (o.batch_size < 1) return Status::InvalidArgument("batch-size must be at least 1");
  if (o.policy.unique && (o.policy.replace || o.policy.no_generation)) {
    return Status::InvalidArgument("unique cannot be combined with replace or no-generation");
  }
  if (o.namespace_source.empty() != o.namespace_destination.empty()) {
    return Status::InvalidArgument("a namespace remap needs both source and destination");
  }
  for (const auto& dir : o.directories)
    ABS_RETURN_IF_ERROR(CheckCodecAgainstMetadata(storage, dir, o.codec));
  return PlanRestore(storage, o.directories, o.salvage);
}

Status RunRestore(client::Client& client, storage::Storage& storage, const RestoreOptions& o,
                  RestoreCounters& counters, RestoreNotes* notes) {
  ABS_ASSIGN_OR_RETURN(RestorePlan plan, PrepareRestore(storage, o));
  if (notes) notes->Add(plan);
  return RunPlannedRestore(client, storage, o, plan, counters);
}

void RestoreNotes::Add(const RestorePlan& plan) {
  std::lock_guard lock(mu);
  warnings.insert(warnings.end(), plan.warnings.begin(), plan.warnings.end());
  skipped.insert(skipped.end(), plan.skipped.begin(), plan.skipped.end());
  planned_records += plan.manifest_records;
}

Status RunPlannedRestore(client::Client& client, storage::Storage& storage, const RestoreOptions& o,
                         const RestorePlan& plan, RestoreCounters& counters) {
  std::vector<PlannedFile> definition_files, record_files;
  for (const auto& f : plan.files) {
    if (o.restored_files && o.restored_files->Contains(f.object.path)) continue;
    (f.definitions ? definition_files : record_files).push_back(f);
  }
  auto done = [&](const PlannedFile& f) {
    ++counters.files;
    if (o.restored_files) o.restored_files->Add(f.object.path);
  };
  RateLimiter tps(o.records_per_second), bandwidth(o.bandwidth_bytes_per_second);
  // Indexes and UDFs first, so they exist before the data arrives. They change the
  // cluster beyond the records (a UDF runs code), so their files are checked whole
  // before any of it is applied: they are small.
  for (const auto& f : definition_files) {
    if (f.sha256.empty()) continue;
    ABS_ASSIGN_OR_RETURN(std::string sha, storage::Sha256OfObject(storage, f.object.path));
    if (sha != f.sha256) {
      return Status::Corrupt(storage.Describe() + "/" + f.object.path +
                             ": does not match its SHA-256 in the manifest (the file is "
                             "damaged); nothing was written");
    }
  }
  for (const auto& f : definition_files) {
    FileRestorer r(client, storage, o, counters, tps, bandwidth);
    ABS_RETURN_IF_ERROR(r.Restore(f));
    done(f);
  }
  // Largest files first keeps the workers busy to the end.
  std::sort(record_files.begin(), record_files.end(),
            [](const auto& a, const auto& b) { return a.object.size > b.object.size; });
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first_error;
  auto worker = [&] {
    FileRestorer r(client, storage, o, counters, tps, bandwidth);
    for (size_t i = next.fetch_add(1); i < record_files.size(); i = next.fetch_add(1)) {
      {
        std::lock_guard lock(mu);
        if (!first_error.ok()) return;
        if (o.cancel && o.cancel->load()) {
          first_error = Status::Cancelled("restore cancelled");
          return;
        }
      }
      Status st = r.Restore(record_files[i]);
      std::lock_guard lock(mu);
      // A cancel seen by one worker must not hide another's real error, nor the reverse.
      if (!st.ok() && (first_error.ok() || first_error.code() == StatusCode::kCancelled)) {
        first_error = st;
      }
      if (st.ok()) done(record_files[i]);
    }
  };
  size_t threads_wanted = std::min<size_t>(static_cast<size_t>(o.parallel), record_files.size());
  std::vector<std::thread> threads;
  for (size_t t = 0; t < threads_wanted; ++t)
    threads.emplace_back(worker);
  for (auto& t : threads)
    t.join();
  return first_error;
}

}  // namespace absvc::restore
