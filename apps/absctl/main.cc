// absctl: backup, restore, verify, load, info, truncate. Flags follow asbackup/asrestore.
#include <signal.h>

#include <algorithm>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/absctl.h"
#include "common/log.h"
#include "common/memory_budget.h"

namespace {

// Every usage error exits 2 (docs/absctl.md), whatever CLI11 would return; help and
// --version exit 0. A first word that is no subcommand is named, with the nearest one.
int ParseArguments(CLI::App& app, int argc, char** argv) {
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const auto* sub : app.get_subcommands({}))
      names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      std::string suggestion = absvc::cli::NearestWord(argv[1], names);
      std::fprintf(stderr, "absctl: '%s' is not a command%s; the commands are:", argv[1],
                   suggestion.empty() ? "" : (", did you mean '" + suggestion + "'?").c_str());
      for (const auto& n : names)
        std::fprintf(stderr, " %s", n.c_str());
      std::fprintf(stderr, "\n");
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help, the version, or the error
    return code == 0 ? 0 : 2;
  }
  return -1;
}

void AddConnection(CLI::App* cmd, absvc::cli::ConnectionFlags& c) {
  cmd->add_option("-h,--host", c.hosts, "seed hosts: host[:tls-name]:port, comma-separated")
      ->capture_default_str();
  cmd->add_option("-U,--user", c.user, "user name");
  cmd->add_option("-P,--password", c.password,
                  "password, or env:VAR, env-b64:VAR, b64:TEXT, file:PATH (else ABS_PASSWORD)");
  cmd->add_flag("--tls-enable", c.tls, "connect with TLS");
  cmd->add_option("--tls-cafile", c.tls_ca_file, "CA certificate file");
  cmd->add_option("--tls-capath", c.tls_ca_path, "CA certificate directory");
  cmd->add_option("--tls-certfile", c.tls_cert_file, "client certificate");
  cmd->add_option("--tls-keyfile", c.tls_key_file, "client key");
  cmd->add_option("--cluster-name", c.cluster_name, "expected cluster name");
}

void AddCodec(CLI::App* cmd, absvc::cli::CodecFlags& c) {
  cmd->add_option("-z,--compress", c.compress, "none or zstd");
  cmd->add_option("--compression-level", c.compression_level, "zstd level (-1..22)");
  cmd->add_option("-y,--encrypt", c.encrypt, "none, aes128 or aes256");
  cmd->add_option("--encryption-key-file", c.encryption_key_file, "RSA private key (PEM)");
  cmd->add_option("--encryption-key-env", c.encryption_key_env,
                  "environment variable holding the key (PEM or base64)");
}

void AddStorage(CLI::App* cmd, absvc::cli::StorageFlags& s) {
  const char* group = "Cloud storage";
  auto opt = [&](const char* name, std::string& v, const char* help) {
    cmd->add_option(name, v, help)->group(group);
  };
  opt("--s3-bucket-name", s.s3_bucket_name, "S3 bucket (-d is then the folder in it)");
  opt("--s3-region", s.s3_region, "the bucket's region");
  opt("--s3-profile", s.s3_profile, "profile in the shared AWS credentials and config files");
  opt("--s3-endpoint-override", s.s3_endpoint_override, "S3-compatible endpoint (MinIO, Ceph)");
  opt("--s3-access-key-id", s.s3_access_key_id,
      "access key id, or env:VAR, file:PATH (else profile, env, IRSA, IMDS)");
  opt("--s3-secret-access-key", s.s3_secret_access_key,
      "secret access key, or env:VAR, env-b64:VAR, b64:TEXT, file:PATH");
  opt("--s3-storage-class", s.s3_storage_class, "storage class of backup files");
  cmd->add_option("--s3-min-part-size", s.s3_min_part_size,
                  "multipart part size in bytes (>= 5 MiB)")
      ->group(group);
  opt("--gcp-bucket-name", s.gcp_bucket_name, "Google Cloud Storage bucket");
  opt("--gcp-key-path", s.gcp_key_path, "service-account JSON key file");
  opt("--gcp-endpoint-override", s.gcp_endpoint_override, "GCS endpoint (emulators)");
  opt("--azure-account-name", s.azure_account_name, "storage account (Shared Key)");
  opt("--azure-account-key", s.azure_account_key,
      "account key (Shared Key), or env:VAR, file:PATH");
  opt("--azure-tenant-id", s.azure_tenant_id, "tenant (Azure AD service principal)");
  opt("--azure-client-id", s.azure_client_id, "client id (Azure AD service principal)");
  opt("--azure-client-secret", s.azure_client_secret,
      "client secret (Azure AD), or env:VAR, file:PATH");
  opt("--azure-endpoint", s.azure_endpoint, "blob endpoint (Azurite)");
  opt("--azure-container-name", s.azure_container_name, "container (-d is then the folder in it)");
  cmd->add_option("--max-async-connections", s.max_async_connections,
                  "parts of one object in flight")
      ->group(group);
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  absvc::UseMmapForLargeBuffers();
  CLI::App app{"absctl: back up and restore Aerospike clusters"};
  app.set_help_flag("--help", "print help");
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  app.set_version_flag("--version", std::string("absctl ") + ABS_VERSION, "print the version");

  // Bytes held for data in transit (parts in flight, write buffers, batches, read chunks).
  int64_t memory_budget_mib = static_cast<int64_t>(absvc::kDefaultMemoryBudgetBytes >> 20);
  auto add_memory_budget = [&](CLI::App* cmd) {
    cmd->add_option("--memory-budget", memory_budget_mib,
                    "MiB held at most for data in transit; settings that need more are cut to "
                    "fit, with a warning")
        ->check(CLI::Range(int64_t{16}, int64_t{1} << 20))
        ->capture_default_str();
  };

  absvc::cli::BackupFlags backup;
  auto* b = app.add_subcommand("backup", "back up a namespace, or a slice of it");
  AddConnection(b, backup.conn);
  AddCodec(b, backup.codec);
  b->add_option("-n,--namespace", backup.ns, "namespace")->required();
  AddStorage(b, backup.storage);
  b->add_option("-d,--directory", backup.directory, "new directory for the backup files");
  b->add_option("--continue", backup.continue_directory,
                "resume the interrupted backup in this directory (give the same flags)");
  b->add_option("-w,--parallel", backup.parallel, "scan workers")->capture_default_str();
  b->add_option("--parallel-write", backup.parallel_write,
                "files written at once, shared by the scan workers (default: one per worker)")
      ->check(CLI::NonNegativeNumber);
  b->add_option("-s,--set", backup.sets, "sets (comma-separated)")->delimiter(',');
  b->add_option("-B,--bin-list", backup.bins, "bins (comma-separated)")->delimiter(',');
  b->add_option("-X,--partition-list", backup.partition_list,
                "partitions: ID or start-count, comma-separated");
  b->add_option("-l,--node-list", backup.node_list, "nodes: host:port or node id, comma-separated")
      ->delimiter(',');
  b->add_option("--rack-list", backup.rack_list, "racks, comma-separated")->delimiter(',');
  b->add_option("-a,--modified-after", backup.modified_after,
                "only records updated at or after: YYYY-MM-DDTHH:MM:SS[Z] or "
                "YYYY-MM-DD_HH:MM:SS (UTC), or Unix milliseconds");
  b->add_option("-b,--modified-before", backup.modified_before,
                "only records updated before (the same formats)");
  b->add_flag("-R,--no-records", backup.no_records, "only indexes and UDFs");
  b->add_flag("-I,--no-indexes", backup.no_indexes, "without secondary indexes");
  b->add_flag("-u,--no-udfs", backup.no_udfs, "without UDFs");
  b->add_flag("-C,--compact", backup.compact, "raw instead of base64 blobs");
  b->add_option("-F,--file-limit", backup.file_limit_mib, "rotate files at this many MiB")
      ->capture_default_str();
  b->add_option("-L,--records-per-second", backup.records_per_second, "scan rate limit");
  b->add_option("-N,--bandwidth", backup.bandwidth_mib, "write limit in MiB/s");
  add_memory_budget(b);

  absvc::cli::RestoreFlags restore;
  auto* r = app.add_subcommand("restore", "restore one or more backup directories in parallel");
  AddConnection(r, restore.conn);
  AddCodec(r, restore.codec);
  r->add_option("-d,--directory", restore.directories, "backup directories (comma-separated)")
      ->delimiter(',')
      ->required();
  r->add_option("-n,--namespace", restore.ns,
                "source,destination to restore into another namespace");
  r->add_option("-w,--parallel", restore.parallel, "file readers")->capture_default_str();
  r->add_option("--batch-size", restore.batch_size, "records per batch write")
      ->capture_default_str();
  r->add_option("--max-async-batches", restore.max_async_batches, "batches in flight per writer")
      ->capture_default_str();
  r->add_flag("--disable-batch-writes", restore.disable_batch_writes, "single-record writes");
  r->add_flag("-r,--replace", restore.replace, "replace records instead of merging bins");
  r->add_flag("-u,--unique", restore.unique, "only create records that do not exist");
  r->add_flag("-g,--no-generation", restore.no_generation, "overwrite even newer records");
  r->add_option("-l,--extra-ttl", restore.extra_ttl, "seconds added to every expiring record");
  r->add_option("-s,--set", restore.sets, "sets to restore")->delimiter(',');
  r->add_option("-B,--bin-list", restore.bins, "bins to restore")->delimiter(',');
  r->add_option("-T,--tps", restore.tps, "records per second limit");
  r->add_option("-N,--bandwidth", restore.bandwidth_mib, "read limit in MiB/s");
  r->add_flag("-R,--no-records", restore.no_records, "only indexes and UDFs");
  r->add_flag("-I,--no-indexes", restore.no_indexes, "without secondary indexes");
  r->add_flag("--no-udfs", restore.no_udfs, "without UDFs");
  AddStorage(r, restore.storage);
  r->add_flag("--salvage", restore.salvage,
              "restore what is intact from a damaged or unfinished backup, and list what "
              "was left out");
  add_memory_budget(r);

  std::vector<std::string> verify_dirs;
  auto* v =
      app.add_subcommand("verify", "check backups against their manifests and prove coverage");
  v->add_option("directories", verify_dirs, "backup directories")->required();
  absvc::cli::StorageFlags verify_storage;
  AddStorage(v, verify_storage);

  absvc::cli::LoadFlags load;
  auto* l = app.add_subcommand("load", "write test records (like asbench -w I)");
  AddConnection(l, load.conn);
  l->add_option("-n,--namespace", load.ns)->capture_default_str();
  l->add_option("-s,--set", load.set)->capture_default_str();
  l->add_option("-k,--records", load.records)->capture_default_str();
  l->add_option("-o,--object-size", load.object_size, "bytes per record")->capture_default_str();
  l->add_option("-w,--parallel", load.parallel)->capture_default_str();
  l->add_option("--start-key", load.start_key)->capture_default_str();

  absvc::cli::ConnectionFlags info_conn;
  auto* i = app.add_subcommand("info", "nodes, objects per node, migrations");
  AddConnection(i, info_conn);

  absvc::cli::ConnectionFlags trunc_conn;
  std::string trunc_ns, trunc_set;
  auto* t = app.add_subcommand("truncate", "delete every record of a namespace or set");
  AddConnection(t, trunc_conn);
  t->add_option("-n,--namespace", trunc_ns)->required();
  t->add_option("-s,--set", trunc_set);

  if (int code = ParseArguments(app, argc, argv); code >= 0) return code;
  if (!absvc::SetLogLevel(log_level)) {
    fprintf(stderr, "absctl: unknown --log-level '%s'\n", log_level.c_str());
    return 2;
  }
  absvc::ProcessMemoryBudget()->set_limit(static_cast<uint64_t>(memory_budget_mib) << 20);
  if (*b) return absvc::cli::Backup(backup);
  if (*r) return absvc::cli::Restore(restore);
  if (*v) return absvc::cli::Verify(verify_dirs, verify_storage);
  if (*l) return absvc::cli::Load(load);
  if (*i) return absvc::cli::Info(info_conn);
  if (*t) return absvc::cli::Truncate(trunc_conn, trunc_ns, trunc_set);
  return 2;
}
