#include "cli/absctl.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "backup/backup_job.h"
#include "backup/verify.h"
#include "backupset/checkpoint.h"
#include "client/client.h"
#include "common/base64.h"
#include "common/secret_value.h"
#include "restore/restore_job.h"
#include "storage/codec.h"
#include "storage/registry.h"
#include "wire/info.h"
#include "wire/result_code.h"

namespace absvc::cli {
namespace {

// The storage a -d argument names: a local directory, a URL, or with a bucket or
// container flag, the folder inside it; the cloud flags fill in the rest.
Result<storage::StorageSpec> SpecFor(const std::string& where, const StorageFlags& f) {
  using storage::StorageKind;
  int buckets =
      !f.s3_bucket_name.empty() + !f.gcp_bucket_name.empty() + !f.azure_container_name.empty();
  if (buckets > 1) {
    return Status::InvalidArgument(
        "give one of --s3-bucket-name, --gcp-bucket-name and --azure-container-name");
  }
  storage::StorageSpec spec;
  if (buckets == 1) {
    spec.kind = !f.s3_bucket_name.empty()    ? StorageKind::kS3
                : !f.gcp_bucket_name.empty() ? StorageKind::kGcs
                                             : StorageKind::kAzure;
    spec.bucket = f.s3_bucket_name + f.gcp_bucket_name + f.azure_container_name;
    spec.path = storage::NormalizePrefix(where);
  } else {
    ABS_ASSIGN_OR_RETURN(spec, storage::ParseStorageUrl(where));
  }
  spec.s3_region = f.s3_region;
  spec.s3_profile = f.s3_profile;
  spec.s3_endpoint_override = f.s3_endpoint_override;
  ABS_ASSIGN_OR_RETURN(spec.s3_access_key_id,
                       ResolveSecretValue(f.s3_access_key_id, "--s3-access-key-id"));
  ABS_ASSIGN_OR_RETURN(spec.s3_secret_access_key,
                       ResolveSecretValue(f.s3_secret_access_key, "--s3-secret-access-key"));
  spec.gcs_key_file_path = f.gcp_key_path;
  spec.gcs_endpoint = f.gcp_endpoint_override;
  spec.azure_account_name = f.azure_account_name;
  ABS_ASSIGN_OR_RETURN(spec.azure_account_key,
                       ResolveSecretValue(f.azure_account_key, "--azure-account-key"));
  spec.azure_tenant_id = f.azure_tenant_id;
  spec.azure_client_id = f.azure_client_id;
  ABS_ASSIGN_OR_RETURN(spec.azure_client_secret,
                       ResolveSecretValue(f.azure_client_secret, "--azure-client-secret"));
  spec.azure_endpoint = f.azure_endpoint;
  if (spec.kind == StorageKind::kS3) spec.storage_class = f.s3_storage_class;
  if (f.s3_min_part_size > 0) {
    if (f.s3_min_part_size < (5u << 20)) {
      return Status::InvalidArgument("--s3-min-part-size must be at least 5 MiB (5242880)");
    }
    spec.min_part_size = static_cast<int64_t>(f.s3_min_part_size);
  }
  if (f.max_async_connections < 0) {
    return Status::InvalidArgument("--max-async-connections must be at least 1");
  }
  if (f.max_async_connections > 0) spec.max_async_connections = f.max_async_connections;
  return spec;
}

// A -d argument opened through the registry.
Result<std::unique_ptr<storage::Storage>> OpenLocation(const std::string& where,
                                                       const StorageFlags& flags) {
  ABS_ASSIGN_OR_RETURN(storage::StorageSpec spec, SpecFor(where, flags));
  return storage::OpenStorage(spec);
}

int Fail(const Status& st) {
  std::cerr << "absctl: " << st.ToString() << "\n";
  return st.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

Result<std::unique_ptr<client::Client>> Connect(const ConnectionFlags& f) {
  client::ClientOptions o;
  ABS_ASSIGN_OR_RETURN(o.seeds, client::ParseHosts(f.hosts));
  o.user = f.user;
  ABS_ASSIGN_OR_RETURN(o.password, ResolveSecretValue(f.password, "--password"));
  if (o.password.empty() && !o.user.empty()) {
    if (const char* pw = std::getenv("ABS_PASSWORD")) o.password = pw;
  }
  o.tls.enabled = f.tls;
  o.tls.ca_file = f.tls_ca_file;
  o.tls.ca_path = f.tls_ca_path;
  o.tls.cert_file = f.tls_cert_file;
  o.tls.key_file = f.tls_key_file;
  o.cluster_name = f.cluster_name;
  return client::Client::Connect(std::move(o));
}

Result<storage::CodecOptions> MakeCodec(const CodecFlags& f) {
  storage::CodecOptions c;
  ABS_ASSIGN_OR_RETURN(c.compression, storage::ParseCompression(f.compress));
  c.compression_level = f.compression_level;
  if (c.compression_level < -1 || c.compression_level > 22) {
    return Status::InvalidArgument("--compression-level must be -1..22");
  }
  ABS_ASSIGN_OR_RETURN(c.encryption, storage::ParseEncryption(f.encrypt));
  if (c.encryption == storage::Encryption::kNone) {
    if (!f.encryption_key_file.empty() || !f.encryption_key_env.empty()) {
      return Status::InvalidArgument("an encryption key was given without --encrypt");
    }
    return c;
  }
  if (f.encryption_key_file.empty() && f.encryption_key_env.empty()) {
    return Status::InvalidArgument("--encrypt needs --encryption-key-file or --encryption-key-env");
  }
  ABS_ASSIGN_OR_RETURN(
      c.key, storage::LoadEncryptionKey(f.encryption_key_file, f.encryption_key_env, c.encryption));
  return c;
}

// A live progress line on a terminal: done, rate, ETA.
class ProgressLine {
 public:
  ProgressLine(const char* what, std::atomic<uint64_t>& done, std::atomic<uint64_t>* total)
      : what_(what), done_(done), total_(total), tty_(::isatty(2)) {
    if (tty_) thread_ = std::thread([this] { Loop(); });
  }
  ~ProgressLine() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (tty_) std::fprintf(stderr, "\n");
  }

 private:
  void Loop() {
    auto start = std::chrono::steady_clock::now();
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      uint64_t done = done_.load();
      double rate = secs > 0 ? done / secs : 0;
      uint64_t total = total_ ? total_->load() : 0;
      std::string eta;
      if (total > done && rate > 0)
        eta = ", ETA " + std::to_string(static_cast<int>((total - done) / rate)) + " s";
      std::fprintf(stderr, "\r%s: %llu%s records, %.0f records/s%s   ", what_,
                   static_cast<unsigned long long>(done),
                   total ? (" of ~" + std::to_string(total)).c_str() : "", rate, eta.c_str());
      std::fflush(stderr);
    }
  }
  const char* what_;
  std::atomic<uint64_t>& done_;
  std::atomic<uint64_t>* total_;
  bool tty_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

bool ParseTimeToUnixNanos(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  bool digits = text.find_first_not_of("0123456789") == std::string::npos;
  if (digits) {
    *out = std::strtoll(text.c_str(), nullptr, 10) * 1000000;  // Unix milliseconds
    return true;
  }
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) rest = strptime(text.c_str(), "%Y-%m-%d_%H:%M:%S", &tm);
  if (!rest || (*rest != '\0' && std::string(rest) != "Z")) return false;
  *out = static_cast<int64_t>(timegm(&tm)) * 1000000000;
  return true;
}

std::string NearestWord(const std::string& typed, const std::vector<std::string>& words) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j)
      row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        size_t next = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
        diagonal = row[j];
        row[j] = next;
      }
    }
    return row[b.size()];
  };
  std::string best;
  size_t best_distance = typed.size() / 3 + 1;
  for (const auto& w : words) {
    size_t d = distance(typed, w);
    if (d < best_distance) {
      best = w;
      best_distance = d;
    }
  }
  return best;
}

int Backup(const BackupFlags& f) {
  if (f.ns.empty()) return Fail(Status::InvalidArgument("--namespace is required"));
  if (!f.continue_directory.empty() && !f.directory.empty() &&
      f.continue_directory != f.directory) {
    return Fail(Status::InvalidArgument("--continue " + f.continue_directory + " and --directory " +
                                        f.directory + " name different places; give one"));
  }
  const bool continuing = !f.continue_directory.empty();
  const std::string directory = continuing ? f.continue_directory : f.directory;
  if (directory.empty()) {
    return Fail(Status::InvalidArgument("--directory (or --continue) is required"));
  }
  backup::BackupOptions o;
  o.ns = f.ns;
  o.parallel = f.parallel;
  o.parallel_write = f.parallel_write;
  o.sets = f.sets;
  o.bins = f.bins;
  o.slice.partition_list = f.partition_list;
  o.slice.nodes = f.node_list;
  o.slice.racks = f.rack_list;
  if (Status st = o.slice.Validate(); !st.ok()) return Fail(st);
  if (!f.modified_after.empty() &&
      !ParseTimeToUnixNanos(f.modified_after, &o.modified_after_unix_ns)) {
    return Fail(
        Status::InvalidArgument("--modified-after '" + f.modified_after + "' is not a time"));
  }
  if (!f.modified_before.empty() &&
      !ParseTimeToUnixNanos(f.modified_before, &o.modified_before_unix_ns)) {
    return Fail(
        Status::InvalidArgument("--modified-before '" + f.modified_before + "' is not a time"));
  }
  o.no_records = f.no_records;
  o.no_indexes = f.no_indexes;
  o.no_udfs = f.no_udfs;
  o.compact = f.compact;
  if (f.file_limit_mib == 0)
    return Fail(Status::InvalidArgument("--file-limit must be at least 1 MiB"));
  o.file_limit_bytes = f.file_limit_mib << 20;
  o.records_per_second = f.records_per_second;
  o.bandwidth_bytes_per_second = f.bandwidth_mib * 1024 * 1024;
  auto codec = MakeCodec(f.codec);
  if (!codec.ok()) return Fail(codec.status());
  o.codec = *codec;
  auto store = OpenLocation(directory, f.storage);
  if (!store.ok()) return Fail(store.status());
  auto listing = (*store)->List("");
  if (!continuing && listing.ok() && !listing->empty()) {
    return Fail(Status::InvalidArgument(
        "--directory " + directory +
        " is not empty; give a new directory for each backup, or --continue " + directory +
        " to resume an interrupted one"));
  }
  if (continuing && listing.ok() && listing->empty()) {
    // A run killed before its first write left nothing: continuing it is starting it.
    std::fprintf(stderr, "absctl: nothing to continue in %s; starting the backup\n",
                 directory.c_str());
  }
  auto client = Connect(f.conn);
  if (!client.ok()) return Fail(client.status());
  // Every backup keeps a checkpoint, so that one cut short (a failure, a kill, a crash)
  // can be continued rather than started again.
  o.resumable = true;
  o.on_start_over = [&](const std::string& why) {
    std::fprintf(stderr, "absctl: cannot continue the backup in %s (%s); starting it over\n",
                 directory.c_str(), why.c_str());
  };
  backup::BackupProgress progress;
  auto start = std::chrono::steady_clock::now();
  ProgressLine line("backup", progress.records, &progress.estimated_records);
  auto result = backup::RunBackup(**client, **store, o, &progress);
  line.Stop();
  if (!result.ok()) {
    int code = Fail(result.status());
    // Only a run that wrote something has anything to continue (not one refused by the
    // storage or the cluster before its first file).
    auto left = (*store)->Exists(backupset::kCheckpointFile);
    if (result.status().code() != StatusCode::kCancelled &&
        result.status().code() != StatusCode::kConflict && left.ok() && *left) {
      std::fprintf(stderr,
                   "absctl: the files complete so far are kept; continue with: absctl backup "
                   "--continue %s (and the same flags)\n",
                   directory.c_str());
    }
    return code;
  }
  if (result->resumed) {
    std::printf("continued the backup in %s: %zu files and %llu records were already complete\n",
                directory.c_str(), result->resumed_files,
                static_cast<unsigned long long>(result->resumed_records));
  }
  double secs = SecondsSince(start);
  std::printf(
      "backup of %s (%s) to %s: %llu records, %zu partitions, %zu files, %llu bytes in %.2f s "
      "(%.0f records/s, %.1f MB/s); %llu indexes, %llu UDFs\n",
      o.ns.c_str(), result->slice.c_str(), directory.c_str(),
      static_cast<unsigned long long>(result->record_count), result->partitions.Count(),
      result->files.size(), static_cast<unsigned long long>(result->byte_count), secs,
      result->record_count / secs, result->byte_count / 1e6 / secs,
      static_cast<unsigned long long>(result->sindex_count),
      static_cast<unsigned long long>(result->udf_count));
  return 0;
}

int Restore(const RestoreFlags& f) {
  if (f.directories.empty()) return Fail(Status::InvalidArgument("--directory is required"));
  restore::RestoreOptions o;
  o.parallel = f.parallel;
  o.batch_size = f.batch_size;
  o.max_async_batches = f.max_async_batches;
  o.disable_batch_writes = f.disable_batch_writes;
  o.policy = {f.replace, f.unique, f.no_generation};
  o.extra_ttl = f.extra_ttl;
  if (size_t comma = f.ns.find(','); comma != std::string::npos) {
    o.namespace_source = f.ns.substr(0, comma);
    o.namespace_destination = f.ns.substr(comma + 1);
  }
  o.sets = f.sets;
  o.bins = f.bins;
  o.records_per_second = f.tps;
  o.bandwidth_bytes_per_second = f.bandwidth_mib * 1024 * 1024;
  o.no_records = f.no_records;
  o.no_indexes = f.no_indexes;
  o.no_udfs = f.no_udfs;
  o.salvage = f.salvage;
  auto codec = MakeCodec(f.codec);
  if (!codec.ok()) return Fail(codec.status());
  o.codec = *codec;
  restore::RestoreCounters counters;
  restore::RestoreNotes notes;
  // Each directory is its own storage root, so restores of several parallel backups run
  // as one job.
  Status st;
  std::vector<std::unique_ptr<storage::Storage>> stores;
  for (const auto& dir : f.directories) {
    auto store = OpenLocation(dir, f.storage);
    if (!store.ok()) {
      st = store.status();
      break;
    }
    stores.push_back(std::move(store).value());
  }
  // Every directory is planned before any is restored, so a refusal writes nothing.
  std::vector<restore::RestorePlan> plans;
  restore::RestoreOptions one = o;
  one.directories = {""};
  for (size_t i = 0; st.ok() && i < stores.size(); ++i) {
    auto plan = restore::PrepareRestore(*stores[i], one);
    if (!plan.ok()) {
      st = plan.status().WithContext(f.directories[i]);
      break;
    }
    notes.Add(*plan);
    plans.push_back(std::move(plan).value());
  }
  for (const auto& w : notes.warnings)
    std::fprintf(stderr, "absctl: warning: %s\n", w.c_str());
  if (!st.ok()) return Fail(st);
  auto client = Connect(f.conn);
  if (!client.ok()) return Fail(client.status());
  auto start = std::chrono::steady_clock::now();
  ProgressLine line("restore", counters.read, nullptr);
  std::vector<std::thread> threads;
  std::vector<Status> results(plans.size());
  for (size_t i = 0; st.ok() && i < plans.size(); ++i) {
    threads.emplace_back([&, i] {
      results[i] = restore::RunPlannedRestore(**client, *stores[i], one, plans[i], counters);
    });
  }
  for (auto& t : threads)
    t.join();
  for (size_t i = 0; i < results.size() && st.ok(); ++i) {
    if (!results[i].ok()) st = results[i].WithContext(f.directories[i]);
  }
  line.Stop();
  if (f.salvage) {
    std::printf("salvage: %zu left out%s\n", notes.skipped.size(),
                notes.skipped.empty() ? "; the backup was intact" : ":");
    for (const auto& s : notes.skipped)
      std::printf("  skipped: %s\n", s.c_str());
  }
  double secs = SecondsSince(start);
  // A restore that failed before reading a record has nothing to sum up.
  if (!st.ok() && counters.read.load() == 0) return Fail(st);
  std::printf(
      "restore: read %llu = inserted %llu + existed %llu + fresher %llu + skipped %llu + "
      "expired %llu + ignored %llu + failed %llu; %llu files, %llu bytes, %llu indexes, %llu "
      "UDFs in %.2f s (%.0f records/s)\n",
      static_cast<unsigned long long>(counters.read.load()),
      static_cast<unsigned long long>(counters.inserted.load()),
      static_cast<unsigned long long>(counters.existed.load()),
      static_cast<unsigned long long>(counters.fresher.load()),
      static_cast<unsigned long long>(counters.skipped.load()),
      static_cast<unsigned long long>(counters.expired.load()),
      static_cast<unsigned long long>(counters.ignored.load()),
      static_cast<unsigned long long>(counters.failed.load()),
      static_cast<unsigned long long>(counters.files.load()),
      static_cast<unsigned long long>(counters.bytes.load()),
      static_cast<unsigned long long>(counters.index_count.load()),
      static_cast<unsigned long long>(counters.udf_count.load()), secs,
      counters.read.load() / secs);
  if (!st.ok()) return Fail(st);
  return 0;
}

int Verify(const std::vector<std::string>& directories, const StorageFlags& storage_flags) {
  if (directories.empty())
    return Fail(Status::InvalidArgument("verify needs at least one directory"));
  std::vector<std::unique_ptr<storage::Storage>> stores;
  std::vector<backup::VerifyLocation> locations;
  for (const auto& dir : directories) {
    auto store = OpenLocation(dir, storage_flags);
    if (!store.ok()) return Fail(store.status());
    locations.push_back({store->get(), ""});
    stores.push_back(std::move(store).value());
  }
  auto report = backup::Verify(locations);
  if (!report.ok()) return Fail(report.status());
  std::fputs(report->Format().c_str(), stdout);
  switch (report->Verdict()) {
    case backup::VerifyVerdict::kComplete:
      return 0;
    case backup::VerifyVerdict::kNothing:
      return 4;
    default:
      return 3;
  }
}

int Load(const LoadFlags& f) {
  auto client = Connect(f.conn);
  if (!client.ok()) return Fail(client.status());
  if (f.parallel < 1) return Fail(Status::InvalidArgument("--parallel must be at least 1"));
  std::atomic<uint64_t> next{f.start_key}, done{0};
  std::atomic<bool> failed{false};
  Status first;
  std::mutex mu;
  auto start = std::chrono::steady_clock::now();
  ProgressLine line("load", done, nullptr);
  const uint64_t end = f.start_key + f.records;
  std::vector<std::thread> threads;
  for (int t = 0; t < f.parallel; ++t) {
    threads.emplace_back([&] {
      const std::string payload(f.object_size, 'x');
      std::vector<client::BatchWriteRecord> batch;
      while (!failed) {
        uint64_t from = next.fetch_add(256);
        if (from >= end) break;
        batch.clear();
        for (uint64_t k = from; k < std::min(end, from + 256); ++k) {
          client::BatchWriteRecord r;
          r.key =
              client::Key::FromUserKey(f.ns, f.set, client::Value::Int(static_cast<int64_t>(k)));
          r.AddBin({"bin", client::Value::Blob(payload)});
          batch.push_back(std::move(r));
        }
        Status st = (*client)->BatchWrite(batch);
        for (const auto& r : batch) {
          if (st.ok() && r.result != wire::result::kOk)
            st = Status::Server(r.result, wire::result::Name(r.result));
        }
        if (!st.ok()) {
          std::lock_guard lock(mu);
          if (first.ok()) first = st;
          failed = true;
          return;
        }
        done += batch.size();
      }
    });
  }
  for (auto& t : threads)
    t.join();
  line.Stop();
  if (failed) return Fail(first.WithContext("load"));
  double secs = SecondsSince(start);
  std::printf("loaded %llu records of %llu bytes into %s/%s in %.2f s (%.0f records/s)\n",
              static_cast<unsigned long long>(done.load()),
              static_cast<unsigned long long>(f.object_size), f.ns.c_str(), f.set.c_str(), secs,
              done.load() / secs);
  return 0;
}

int Info(const ConnectionFlags& conn) {
  auto client = Connect(conn);
  if (!client.ok()) return Fail(client.status());
  auto& c = **client;
  auto namespaces = c.InfoAny("namespaces");
  if (!namespaces.ok()) return Fail(namespaces.status());
  std::printf("%-20s %-22s %-8s %-14s %-14s %-14s %s\n", "node", "address", "build", "namespace",
              "master-objects", "prole-objects", "migrations-remaining");
  for (const auto& node : c.Nodes()) {
    auto build = c.Info(node->name(), "build");
    std::stringstream nss(*namespaces);
    std::string ns;
    while (std::getline(nss, ns, ';')) {
      auto text = c.Info(node->name(), "namespace/" + ns);
      if (!text.ok()) return Fail(text.status());
      std::map<std::string, std::string> kv;
      for (auto& [k, v] : wire::ParseKeyValues(*text))
        kv[k] = v;
      uint64_t migrations =
          std::strtoull(kv["migrate_tx_partitions_remaining"].c_str(), nullptr, 10) +
          std::strtoull(kv["migrate_rx_partitions_remaining"].c_str(), nullptr, 10);
      std::printf("%-20s %-22s %-8s %-14s %-14s %-14s %llu\n", node->name().c_str(),
                  node->host().ToString().c_str(), build.ok() ? build->c_str() : "?", ns.c_str(),
                  kv["master_objects"].c_str(), kv["prole_objects"].c_str(),
                  static_cast<unsigned long long>(migrations));
    }
  }
  return 0;
}

int Truncate(const ConnectionFlags& conn, const std::string& ns, const std::string& set) {
  if (ns.empty()) return Fail(Status::InvalidArgument("--namespace is required"));
  auto client = Connect(conn);
  if (!client.ok()) return Fail(client.status());
  Status st = (*client)->Truncate(ns, set);
  if (!st.ok()) return Fail(st);
  std::printf("truncated %s%s\n", ns.c_str(), set.empty() ? "" : ("/" + set).c_str());
  return 0;
}

}  // namespace absvc::cli
