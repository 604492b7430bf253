#include "backup/backup_job.h"

#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "asb/asb.h"
#include "backup/backup_metadata.h"
#include "common/base64.h"
#include "common/cltime.h"
#include "common/log.h"
#include "common/rate_limiter.h"
#include "storage/codec.h"
#include "wire/expression.h"
#include "wire/info.h"

namespace absvc::backup {
namespace {

constexpr size_t kFlushBytes = 64 << 10;

// The files of one backup: names, the shared file counter, and who gets "# first-file".
struct FileSet {
  storage::Storage& storage;
  const BackupOptions& options;
  RateLimiter bandwidth;
  std::atomic<uint32_t> next_id{1};
  std::atomic<bool> first_file_taken{false};
  std::mutex mu;
  std::vector<BackupFile> files;
  std::vector<std::string> opened;  // every path created, for cleanup on failure

  FileSet(storage::Storage& s, const BackupOptions& o)
      : storage(s), options(o), bandwidth(o.bandwidth_bytes_per_second) {}
  std::string Path(const std::string& name) const {
    return options.directory.empty() ? name : options.directory + "/" + name;
  }
};

// One open .asb file: header written at open, bytes counted after compression and
// encryption, closed into the FileSet's list.
class AsbFile {
 public:
  static Result<std::unique_ptr<AsbFile>> Open(FileSet& set, const std::string& name) {
    std::unique_ptr<AsbFile> f(new AsbFile(set, name));
    {
      std::lock_guard lock(set.mu);
      set.opened.push_back(set.Path(name));
    }
    ABS_ASSIGN_OR_RETURN(auto stored, set.storage.OpenWriter(set.Path(name)));
    f->writer_ = storage::EncodeWriter(std::move(stored), set.options.codec, &f->hash_);
    std::string header;
    asb::Encoder::AppendHeader(header, set.options.ns, !set.first_file_taken.exchange(true));
    ABS_RETURN_IF_ERROR(f->writer_->Write(header));
    return f;
  }

  Status Write(std::string_view text, uint64_t records) {
    set_.bandwidth.Acquire(text.size());
    records_ += records;
    return writer_->Write(text);
  }
  uint64_t stored_bytes() const { return writer_->bytes_written(); }

  Status Close() {
    ABS_RETURN_IF_ERROR(writer_->Close());
    BackupFile f{name_, writer_->bytes_written(), hash_->sha256_hex(), records_};
    std::lock_guard lock(set_.mu);
    set_.files.push_back(std::move(f));
    return Status::Ok();
  }

 private:
  AsbFile(FileSet& set, std::string name) : set_(set), name_(std::move(name)) {}
  FileSet& set_;
  std::string name_;
  std::unique_ptr<storage::Writer> writer_;
  storage::HashingWriter* hash_ = nullptr;
  uint64_t records_ = 0;
};

std::string FilterExpression(const BackupOptions& o) {
  std::vector<std::string> parts;
  if (!o.filter.empty()) parts.push_back(o.filter);
  if (o.modified_after_unix_ns > 0) {
    parts.push_back(
        wire::exp::Ge(wire::exp::LastUpdate(), wire::exp::Int(o.modified_after_unix_ns)));
  }
  if (o.modified_before_unix_ns > 0) {
    parts.push_back(
        wire::exp::Lt(wire::exp::LastUpdate(), wire::exp::Int(o.modified_before_unix_ns)));
  }
  if (parts.empty()) return "";
  if (parts.size() == 1) return parts[0];
  return wire::exp::And(parts);
}

// One scan worker: its partitions, its files, rotated at file-limit.
class ScanWorker {
 public:
  ScanWorker(client::Client& client, FileSet& files, PartitionSet partitions, int index,
             uint32_t rps, BackupProgress* progress)
      : client_(client),
        files_(files),
        partitions_(partitions),
        index_(index),
        rps_(rps),
        progress_(progress),
        encoder_({.compact = files.options.compact}) {}

  Status Run() {
    for (uint32_t pid : partitions_.Ids()) {
      client::PartitionCursor c;
      c.pid = static_cast<uint16_t>(pid);
      cursors_.push_back(c);
    }
    const BackupOptions& o = files_.options;
    client::ScanRequest req;
    req.ns = o.ns;
    req.sets = o.sets;
    req.bins = o.bins;
    req.filter = FilterExpression(o);
    req.records_per_second = rps_;
    if (o.socket_timeout.count() > 0) req.socket_timeout = o.socket_timeout;
    req.max_concurrent_nodes = 1;  // one callback thread: this worker's files need no lock
    if (o.scan_slots && !o.scan_slots->Acquire(o.cancel)) {
      return Status::Cancelled("backup of " + o.ns + " cancelled");
    }
    Status st = client_.ScanPartitions(
        req, cursors_, [this](const client::ScanRecordView& r) { return OnRecord(r); });
    if (o.scan_slots) o.scan_slots->Release();
    if (st.ok()) st = Flush();
    if (st.ok() && file_) st = CloseFile();
    return st;
  }

  const std::vector<client::PartitionCursor>& cursors() const { return cursors_; }

 private:
  Status OnRecord(const client::ScanRecordView& r) {
    if (files_.options.cancel && files_.options.cancel->load(std::memory_order_relaxed)) {
      return Status::Cancelled("backup of " + files_.options.ns + " cancelled");
    }
    Status st = encoder_.AppendRecord(buf_, r.ns, r.set, r.user_key, r.digest, r.generation,
                                      r.void_time, *r.bins);
    if (!st.ok()) {
      return st.WithContext("record in partition " + std::to_string(r.partition_id) + " of " +
                            std::string(r.ns));
    }
    ++buffered_records_;
    if (progress_) ++progress_->records;
    if (buf_.size() >= kFlushBytes) return Flush();
    return Status::Ok();
  }

  Status Flush() {
    if (buf_.empty()) return Status::Ok();
    if (!file_) {
      std::string name = std::to_string(index_) + "_" + files_.options.ns + "_" +
                         std::to_string(files_.next_id.fetch_add(1)) + ".asb";
      ABS_ASSIGN_OR_RETURN(file_, AsbFile::Open(files_, name));
      if (progress_) ++progress_->files;
    }
    uint64_t before = file_->stored_bytes();
    ABS_RETURN_IF_ERROR(file_->Write(buf_, buffered_records_));
    if (progress_) progress_->bytes += file_->stored_bytes() - before;
    buf_.clear();
    buffered_records_ = 0;
    if (file_->stored_bytes() >= files_.options.file_limit_bytes) return CloseFile();
    return Status::Ok();
  }

  Status CloseFile() {
    Status st = file_->Close();
    file_.reset();
    return st;
  }

  client::Client& client_;
  FileSet& files_;
  PartitionSet partitions_;
  int index_;
  uint32_t rps_;
  BackupProgress* progress_;
  asb::Encoder encoder_;
  std::vector<client::PartitionCursor> cursors_;
  std::string buf_;
  uint64_t buffered_records_ = 0;
  std::unique_ptr<AsbFile> file_;
};

char SindexBinType(const std::string& t) {
  if (t == "string" || t == "STRING") return 'S';
  if (t == "geo2dsphere" || t == "GEO2DSPHERE") return 'G';
  if (t == "blob" || t == "BLOB") return 'B';
  return 'N';
}

char SindexIndexType(const std::string& t) {
  if (t == "list" || t == "LIST") return 'L';
  if (t == "mapkeys" || t == "MAPKEYS") return 'K';
  if (t == "mapvalues" || t == "MAPVALUES") return 'V';
  return 'N';
}

Result<std::vector<asb::SindexDefinition>> FetchSindexes(client::Client& c, const std::string& ns) {
  ABS_ASSIGN_OR_RETURN(std::string list, c.InfoAny("sindex-list:ns=" + ns));
  if (auto err = wire::ParseInfoError(list)) {
    return Status::Server(err->code, "sindex-list: " + err->message);
  }
  std::vector<asb::SindexDefinition> out;
  for (auto entry : wire::SplitList(list, ';')) {
    std::map<std::string, std::string> kv;
    for (auto& [k, v] : wire::ParseKeyValues(entry, ':'))
      kv[k] = v;
    if (kv["ns"] != ns || kv["indexname"].empty()) continue;
    asb::SindexDefinition s;
    s.ns = ns;
    s.name = kv["indexname"];
    s.set = (kv["set"] == "null" || kv["set"] == "NULL") ? "" : kv["set"];
    s.bin = kv["bin"];
    s.bin_type = SindexBinType(kv["type"]);
    s.index_type = SindexIndexType(kv["indextype"]);
    s.context = (kv["context"] == "null" || kv["context"] == "NULL") ? "" : kv["context"];
    if (s.bin.empty() || s.bin == "null") continue;  // expression indexes: not in .asb 3.1
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<asb::UdfDefinition>> FetchUdfs(client::Client& c) {
  ABS_ASSIGN_OR_RETURN(std::string list, c.InfoAny("udf-list"));
  std::vector<asb::UdfDefinition> out;
  for (auto entry : wire::SplitList(list, ';')) {
    std::string name;
    for (auto& [k, v] : wire::ParseKeyValues(entry, ',')) {
      if (k == "filename") name = v;
    }
    if (name.empty()) continue;
    ABS_ASSIGN_OR_RETURN(std::string answer, c.InfoAny("udf-get:filename=" + name));
    std::string content;
    for (auto& [k, v] : wire::ParseKeyValues(answer)) {
      if (k == "content") {
        auto decoded = Base64Decode(v);
        if (!decoded) return Status::Corrupt("udf-get " + name + ": content is not base64");
        content = *decoded;
      }
    }
    out.push_back({'L', name, content});
  }
  return out;
}

}  // namespace

Result<BackupResult> RunBackup(client::Client& client, storage::Storage& storage,
                               const BackupOptions& o, BackupProgress* progress) {
  if (o.ns.empty()) return Status::InvalidArgument("backup needs a namespace");
  if (o.parallel < 1 || o.parallel > 1024)
    return Status::InvalidArgument("parallel must be 1..1024");
  if (o.modified_before_unix_ns > 0 && o.modified_before_unix_ns <= o.modified_after_unix_ns) {
    return Status::InvalidArgument("modified-before must be after modified-after");
  }
  BackupResult result;
  result.ns = o.ns;
  result.codec = o.codec;
  result.codec.key.clear();
  result.slice = o.slice.Describe();
  result.from_unix_ns = o.modified_after_unix_ns;
  result.created_unix_ms = UnixNowMillis();
  ABS_ASSIGN_OR_RETURN(result.partitions, ResolveSlice(client, o.ns, o.slice));
  auto gens = client.InfoAll("partition-generation");
  if (gens.ok()) {
    for (const auto& [node, gen] : *gens)
      result.nodes_at_start.emplace_back(node, std::atoll(gen.c_str()));
  }
  if (progress) {
    uint64_t objects = 0;
    auto stats = client.InfoAll("namespace/" + o.ns);
    if (stats.ok()) {
      for (const auto& [node, text] : *stats) {
        for (auto& [k, v] : wire::ParseKeyValues(text)) {
          if (k == "master_objects") objects += std::strtoull(v.c_str(), nullptr, 10);
        }
      }
    }
    progress->estimated_records = objects * result.partitions.Count() / kPartitions;
  }

  FileSet files(storage, o);
  auto fail = [&](const Status& st) -> Status {
    // An incomplete backup leaves nothing behind that could be mistaken for one.
    std::lock_guard lock(files.mu);
    for (const auto& path : files.opened)
      (void)storage.Remove(path);
    return st;
  };
  // Before any file: marks the directory as an abs backup, so one that never finishes is
  // refused by restore and named by verify rather than taken for a foreign backup.
  {
    nlohmann::ordered_json start;
    start["format"] = "abs-start/1";
    start["namespace"] = o.ns;
    start["slice"] = result.slice;
    start["created"] = FormatRfc3339Millis(result.created_unix_ms);
    files.opened.push_back(files.Path(kStartFile));
    Status st =
        storage.PutAtomic(files.Path(kStartFile),
                          start.dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (!st.ok()) return fail(st.WithContext("starting the backup"));
  }

  // Secondary-index and UDF definitions go first, into their own file.
  std::vector<asb::SindexDefinition> sindexes;
  std::vector<asb::UdfDefinition> udfs;
  if (!o.no_indexes) {
    auto s = FetchSindexes(client, o.ns);
    if (!s.ok()) return s.status();
    sindexes = std::move(s).value();
  }
  if (!o.no_udfs) {
    auto u = FetchUdfs(client);
    if (!u.ok()) return u.status();
    udfs = std::move(u).value();
  }
  if (!sindexes.empty() || !udfs.empty()) {
    std::string text;
    for (const auto& u : udfs)
      asb::Encoder::AppendUdf(text, u);
    for (const auto& s : sindexes)
      asb::Encoder::AppendSindex(text, s);
    std::string name =
        "metadata_" + o.ns + "_" + std::to_string(files.next_id.fetch_add(1)) + ".asb";
    auto f = AsbFile::Open(files, name);
    Status st = f.ok() ? (*f)->Write(text, 0) : f.status();
    if (st.ok()) st = (*f)->Close();
    if (!st.ok()) return fail(st);
    result.sindex_count = sindexes.size();
    result.udf_count = udfs.size();
  }

  if (!o.no_records && !result.partitions.empty()) {
    auto groups = result.partitions.Split(static_cast<size_t>(o.parallel));
    uint32_t rps =
        o.records_per_second == 0
            ? 0
            : std::max<uint32_t>(1, o.records_per_second / static_cast<uint32_t>(groups.size()));
    std::vector<std::unique_ptr<ScanWorker>> workers;
    for (size_t i = 0; i < groups.size(); ++i) {
      workers.push_back(std::make_unique<ScanWorker>(client, files, groups[i], static_cast<int>(i),
                                                     rps, progress));
    }
    std::vector<Status> statuses(workers.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < workers.size(); ++i) {
      threads.emplace_back([&, i] { statuses[i] = workers[i]->Run(); });
    }
    for (auto& t : threads)
      t.join();
    for (const auto& st : statuses) {
      if (st.code() == StatusCode::kCancelled) return fail(st);
    }
    for (const auto& st : statuses) {
      if (!st.ok()) return fail(st.WithContext("backup of " + o.ns));
    }
    for (const auto& w : workers) {
      for (const auto& c : w->cursors()) {
        result.records_per_partition.emplace_back(c.pid, c.records);
        result.record_count += c.records;
      }
    }
    std::sort(result.records_per_partition.begin(), result.records_per_partition.end());
  }

  if (o.cancel && o.cancel->load())
    return fail(Status::Cancelled("backup of " + o.ns + " cancelled"));
  std::sort(files.files.begin(), files.files.end(),
            [](const BackupFile& a, const BackupFile& b) { return a.name < b.name; });
  result.files = files.files;
  for (const auto& f : result.files)
    result.byte_count += f.size;
  result.finished_unix_ms = UnixNowMillis();
  Status st = storage.PutAtomic(files.Path(kManifestFile), FormatManifestJson(result));
  if (st.ok()) st = storage.PutAtomic(files.Path(kMetadataFile), FormatMetadataYaml(result));
  if (!st.ok()) {
    (void)storage.Remove(files.Path(kManifestFile));
    return fail(st.WithContext("writing the backup's metadata"));
  }
  return result;
}

}  // namespace absvc::backup
