// deploy/: the Kubernetes manifests, the container image, the systemd unit and the
// packaged default configuration agree with absd's own validation and with each other.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "backupset/partition_set.h"
#include "config/config.h"
#include "scoped_env.h"

namespace absvc::service {
namespace {

namespace fs = std::filesystem;

std::string ReadSource(const std::string& relative) {
  std::ifstream in(fs::path(ABS_SOURCE_DIR) / relative);
  EXPECT_TRUE(in) << relative;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Json Manifest(const std::string& file) {
  auto doc = YamlToJson(ReadSource("deploy/kubernetes/" + file), file);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? *doc : Json::object();
}

// The value after `flag` in an argument list.
std::string ArgAfter(const std::vector<std::string>& args, const std::string& flag) {
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == flag) return args[i + 1];
  return "";
}

std::vector<std::string> Words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

// The value of `Key=` in a systemd unit.
std::string UnitSetting(const std::string& unit, const std::string& key) {
  std::smatch m;
  std::regex re("(^|\n)" + key + "=([^\n]*)");
  return std::regex_search(unit, m, re) ? m[2].str() : "";
}

const Json* Find(const Json& array, const std::string& key, const std::string& value) {
  for (const auto& e : array)
    if (e.contains(key) && e[key] == value) return &e;
  return nullptr;
}

TEST(Deploy, KubernetesReplicasEachTakeTheirSliceAndTogetherCoverEveryPartitionOnce) {
  Json sts = Manifest("statefulset.yaml");
  Json cm = Manifest("configmap.yaml");
  Json svc = Manifest("service.yaml");
  ASSERT_EQ(sts["kind"], "StatefulSet");
  ASSERT_EQ(cm["kind"], "ConfigMap");
  ASSERT_EQ(svc["kind"], "Service");
  const int replicas = sts["spec"]["replicas"];
  ASSERT_GE(replicas, 2);
  const Json& pod = sts["spec"]["template"]["spec"];
  ASSERT_EQ(pod["containers"].size(), 1u);
  const Json& absd = pod["containers"][0];

  // The slice index comes from the pod's ordinal.
  const Json* index = Find(absd["env"], "name", "ABS_SLICE_INDEX");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ((*index)["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.labels['apps.kubernetes.io/pod-index']");

  // The configuration absd reads is the ConfigMap's, where the pod mounts it.
  std::vector<std::string> args = absd["args"];
  const std::string config_path = ArgAfter(args, "-c");
  const std::string state_dir = ArgAfter(args, "--state-dir");
  std::map<std::string, std::string> mounts;  // volume -> path
  for (const auto& m : absd["volumeMounts"])
    mounts[m["name"]] = m["mountPath"];
  const Json* config_volume = nullptr;
  const Json* secret_volume = nullptr;
  for (const auto& v : pod["volumes"]) {
    if (v.contains("configMap")) config_volume = &v;
    if (v.contains("secret")) secret_volume = &v;
  }
  ASSERT_TRUE(config_volume && secret_volume);
  EXPECT_EQ((*config_volume)["configMap"]["name"], cm["metadata"]["name"]);
  const std::string key = fs::path(config_path).filename();
  ASSERT_TRUE(cm["data"].contains(key)) << key;
  EXPECT_EQ(mounts[(*config_volume)["name"]] + "/" + key, config_path);
  // State (job history, checkpoints) on a volume claim per replica.
  bool state_claimed = false;
  for (const auto& t : sts["spec"]["volumeClaimTemplates"])
    state_claimed = state_claimed || mounts[t["metadata"]["name"]] == state_dir;
  EXPECT_TRUE(state_claimed) << state_dir;

  // Secrets are files: every path the configuration names under the secret mount is an
  // item of the Secret. Here they are written into a directory standing for the mount.
  const std::string secret_mount = mounts[(*secret_volume)["name"]];
  ASSERT_FALSE(secret_mount.empty());
  std::set<std::string> items;
  for (const auto& item : (*secret_volume)["secret"]["items"])
    items.insert(item["path"]);
  std::string text = cm["data"][key];
  fs::path secrets = fs::temp_directory_path() / ("abs-deploy-" + std::to_string(::getpid()));
  fs::create_directories(secrets);
  std::regex mounted(secret_mount + "/([A-Za-z0-9._-]+)");
  int named = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), mounted), end; it != end; ++it, ++named) {
    EXPECT_TRUE(items.count((*it)[1].str())) << (*it)[1].str() << " is not in the Secret";
    std::ofstream(secrets / (*it)[1].str()) << "s3cret\n";
  }
  EXPECT_GE(named, 2);
  text = std::regex_replace(text, std::regex(secret_mount + "/"), secrets.string() + "/");
  auto doc = YamlToJson(text, "configmap");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();

  // The API port is the one the probes and the Service use.
  const int port = (*doc)["service"]["http"]["port"];
  EXPECT_EQ((*doc)["service"]["http"]["address"], "0.0.0.0");
  const Json* http = Find(absd["ports"], "name", "http");
  ASSERT_NE(http, nullptr);
  EXPECT_EQ((*http)["containerPort"], port);
  EXPECT_EQ(absd["livenessProbe"]["httpGet"]["path"], "/health");
  EXPECT_EQ(absd["readinessProbe"]["httpGet"]["path"], "/ready");
  EXPECT_EQ(absd["livenessProbe"]["httpGet"]["port"], "http");
  EXPECT_EQ(absd["readinessProbe"]["httpGet"]["port"], "http");
  EXPECT_EQ(sts["spec"]["serviceName"], svc["metadata"]["name"]);
  EXPECT_EQ(svc["spec"]["selector"], sts["spec"]["template"]["metadata"]["labels"]);
  EXPECT_EQ(svc["spec"]["ports"][0]["port"], port);

  // Each ordinal's configuration passes absd's validation; together the slices cover
  // every partition of every auto-sliced routine exactly once.
  std::map<std::string, std::vector<int>> hits;
  for (int ordinal = 0; ordinal < replicas; ++ordinal) {
    testing::ScopedEnv env;
    env.Set("ABS_SLICE_INDEX", std::to_string(ordinal));
    auto cfg = ParseConfig(*doc);
    ASSERT_TRUE(cfg.ok()) << "ordinal " << ordinal << ": " << cfg.status().ToString();
    for (const auto& [name, r] : cfg->routines) {
      ASSERT_TRUE(r.auto_slice) << name << " is not auto-sliced";
      EXPECT_EQ(r.auto_slice->second, static_cast<uint32_t>(replicas))
          << name << ": auto-slice count differs from the StatefulSet's replicas";
      auto parts = backupset::PartitionSet::ParseList(r.partition_list);
      ASSERT_TRUE(parts.ok());
      auto& h = hits[name];
      h.resize(backupset::kPartitions);
      for (uint32_t p = 0; p < backupset::kPartitions; ++p)
        h[p] += parts->Contains(p);
    }
  }
  ASSERT_FALSE(hits.empty());
  for (const auto& [name, h] : hits)
    EXPECT_EQ(std::count(h.begin(), h.end(), 1), backupset::kPartitions) << name;
  // One replica more than the count is refused, naming the variable.
  testing::ScopedEnv env;
  env.Set("ABS_SLICE_INDEX", std::to_string(replicas));
  auto extra = ParseConfig(*doc);
  ASSERT_FALSE(extra.ok());
  EXPECT_NE(extra.status().message().find("index-env"), std::string::npos);
  fs::remove_all(secrets);

  // Runs unprivileged, as the image's user.
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(absd["securityContext"]["allowPrivilegeEscalation"], false);
  EXPECT_NE(ReadSource("Dockerfile")
                .find("--uid " + std::to_string(int(pod["securityContext"]["runAsUser"]))),
            std::string::npos);
}

TEST(Deploy, PackageUnitAndImageShareTheConfigPathStateDirectoryUserAndPort) {
  const std::string unit = ReadSource("deploy/systemd/aerospike-backup-service.service");
  const std::string dockerfile = ReadSource("Dockerfile");
  const std::string package = ReadSource("scripts/package-deb.sh");
  std::vector<std::string> exec = Words(UnitSetting(unit, "ExecStart"));
  ASSERT_FALSE(exec.empty());
  EXPECT_EQ(exec[0], "/usr/bin/absd");
  const std::string config_path = ArgAfter(exec, "-c");
  const std::string state_dir = ArgAfter(exec, "--state-dir");
  EXPECT_EQ(config_path, "/etc/aerospike-backup-service/aerospike-backup-service.yml");
  EXPECT_EQ(state_dir, "/var/lib/aerospike-backup-service");
  EXPECT_EQ("/var/lib/" + UnitSetting(unit, "StateDirectory"), state_dir);
  const std::string user = UnitSetting(unit, "User");
  EXPECT_EQ(user, "aerospike-backup");

  // The package installs the configuration there and creates the user; the image installs
  // the package and runs as that user with the same command line.
  EXPECT_NE(package.find(config_path.substr(1)), std::string::npos);
  EXPECT_NE(package.find("useradd --system"), std::string::npos);
  EXPECT_NE(package.find("USER=" + user), std::string::npos);
  EXPECT_NE(dockerfile.find("USER " + user + ":" + user), std::string::npos);
  EXPECT_NE(dockerfile.find("apt-get install -y --no-install-recommends /tmp/abs.deb"),
            std::string::npos);
  EXPECT_NE(dockerfile.find("ENTRYPOINT [\"/usr/bin/absd\"]"), std::string::npos);
  EXPECT_NE(dockerfile.find("CMD [\"-c\", \"" + config_path + "\", \"--state-dir\", \"" +
                            state_dir + "\"]"),
            std::string::npos);
  std::smatch from;
  std::string rest = dockerfile;
  int stages = 0;
  while (std::regex_search(rest, from, std::regex("(^|\n)FROM ([^ \n]+)"))) {
    EXPECT_EQ(from[2], "debian:bookworm-slim");
    ++stages;
    rest = from.suffix();
  }
  EXPECT_EQ(stages, 2);

  // The default configuration is valid, on port 8080 (the image's EXPOSE), on loopback in
  // the package (the image opens it), with local backups inside the state directory.
  auto doc = YamlToJson(ReadSource("deploy/aerospike-backup-service.yml"), "default config");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  auto cfg = ParseConfig(*doc);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ((*doc)["service"]["http"]["port"], 8080);
  EXPECT_NE(dockerfile.find("EXPOSE 8080"), std::string::npos);
  EXPECT_EQ((*doc)["service"]["http"]["address"], "127.0.0.1");
  EXPECT_NE(dockerfile.find("s/^    address: 127.0.0.1$/    address: 0.0.0.0/"), std::string::npos);
  std::string local = (*doc)["storage"]["local"]["local-storage"]["path"];
  EXPECT_EQ(local.rfind(state_dir + "/", 0), 0u) << local;

  // Sandboxing: read-write only where absd writes.
  for (const char* setting : {"NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                              "ProtectHome=yes", "CapabilityBoundingSet="}) {
    EXPECT_NE(unit.find(std::string("\n") + setting + "\n"), std::string::npos) << setting;
  }
  EXPECT_EQ(UnitSetting(unit, "ReadWritePaths"), fs::path(config_path).parent_path().string());
}

}  // namespace
}  // namespace absvc::service
