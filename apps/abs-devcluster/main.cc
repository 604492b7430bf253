// abs-devcluster: runs an in-memory Aerospike-compatible cluster until SIGINT/SIGTERM.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <iostream>

#include "common/log.h"
#include "devcluster/cluster.h"

namespace {

absvc::Result<std::vector<uint32_t>> ParseRacks(const std::string& text) {
  std::vector<uint32_t> racks;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string_view item(text.data() + start, comma - start);
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size() || v > 1000000) {
      return absvc::Status::InvalidArgument("--racks needs comma-separated rack ids, got '" + text +
                                            "'");
    }
    racks.push_back(v);
    start = comma + 1;
  }
  return racks;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"abs-devcluster: an in-memory Aerospike-compatible cluster for tests and demos"};
  absvc::devcluster::ClusterOptions options;
  std::string racks, log_level = "warn";
  std::vector<std::string> namespaces;
  app.add_option("--nodes", options.nodes, "number of nodes")->capture_default_str();
  app.add_option("--base-port", options.base_port, "node i listens on base-port + i")
      ->capture_default_str();
  app.add_option("--host", options.host, "IPv4 address to listen on")->capture_default_str();
  app.add_option("--racks", racks, "rack id per node, comma-separated (cycled), e.g. 1,2,3");
  app.add_option("--namespace", namespaces,
                 "namespace[:rf=N][:default-ttl=S][:nsup-period=S]; repeatable (default: test)");
  app.add_option("--user", options.user, "require login as this user");
  app.add_option("--password", options.password, "password of --user");
  app.add_option("--tls-cert", options.tls_cert_file, "PEM certificate: service ports speak TLS");
  app.add_option("--tls-key", options.tls_key_file, "PEM private key of --tls-cert");
  app.add_option("--tls-name", options.tls_name, "tls-name to advertise (default: the cert's CN)");
  app.add_option("--tls-ca", options.tls_ca_file,
                 "PEM CA: client certificates are asked for and verified against it");
  app.add_option("--auth-mode", options.auth_mode,
                 "how --user logs in: internal, external (clear-text password checked, as an "
                 "LDAP user) or pki (a client certificate whose CN is --user)")
      ->capture_default_str();
  app.add_option("--build", options.build, "server build to report")->capture_default_str();
  app.add_option("--cluster-name", options.cluster_name)->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (!absvc::SetLogLevel(log_level)) {
    std::cerr << "abs-devcluster: unknown --log-level '" << log_level << "'\n";
    return 2;
  }
  auto parsed_racks = ParseRacks(racks);
  if (!parsed_racks.ok()) {
    std::cerr << "abs-devcluster: " << parsed_racks.status().message() << "\n";
    return 2;
  }
  options.racks = *parsed_racks;
  for (const auto& spec : namespaces) {
    auto ns = absvc::devcluster::ParseNamespaceSpec(spec);
    if (!ns.ok()) {
      std::cerr << "abs-devcluster: --namespace: " << ns.status().message() << "\n";
      return 2;
    }
    options.namespaces.push_back(*ns);
  }

  // Block the signals before any thread starts so that only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto cluster = absvc::devcluster::DevCluster::Create(options);
  if (!cluster.ok()) {
    std::cerr << "abs-devcluster: " << cluster.status().message() << "\n";
    return 2;
  }
  absvc::Status st = (*cluster)->Start();
  if (!st.ok()) {
    std::cerr << "abs-devcluster: " << st.message() << "\n";
    return 1;
  }
  auto& c = **cluster;
  for (int i = 0; i < c.node_count(); ++i) {
    std::printf("node %d id=%s port=%u rack=%u\n", i, c.node_id(i).c_str(), c.port(i), c.rack(i));
  }
  std::printf("ready nodes=%d namespaces=", c.node_count());
  for (size_t i = 0; i < c.namespaces().size(); ++i) {
    std::printf("%s%s", i ? "," : "", c.namespaces()[i]->config().name.c_str());
  }
  std::printf("%s\n", c.tls_enabled() ? (" tls-name=" + c.tls_name()).c_str() : "");
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  c.Stop();
  return 0;
}
