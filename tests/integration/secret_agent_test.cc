// The Secret Agent client against tests/emulators/secret_agent.js, a Node agent speaking
// the documented protocol: secrets over TCP, TLS and a Unix socket; every failure mode
// named (agent, resource, key) and bounded by the timeout, never showing a secret; and
// the configuration's secrets:<resource>:<key> references fetched when it loads.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "client/secret_agent.h"
#include "config/config.h"
#include "emulator.h"
#include "storage/codec.h"
#include "test_certs.h"

namespace absvc::service {
namespace {

namespace fs = std::filesystem;
using client::FetchSecret;
using client::SecretAgentOptions;
using client::SecretRef;
using testing::Emulator;

constexpr char kPassword[] = "pa55-from-the-agent";

class SecretAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("abs-agent-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    key_pem_ = testing::RsaPrivateKeyPem();
    Json secrets = {{"abs", {{"password", kPassword}, {"encryption", key_pem_}}}};
    std::ofstream(dir_ / "secrets.json") << secrets.dump();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Emulator> StartAgent(std::vector<std::string> args = {}) {
    args.insert(args.begin(), (dir_ / "secrets.json").string());
    auto agent = Emulator::Start("secret_agent.js", args);
    EXPECT_TRUE(agent.ok()) << agent.status().ToString();
    return agent.ok() ? std::move(agent).value() : nullptr;
  }
  SecretAgentOptions Tcp(int port) {
    SecretAgentOptions o;
    o.address = "127.0.0.1";
    o.port = port;
    return o;
  }

  fs::path dir_;
  std::string key_pem_;
};

TEST_F(SecretAgentTest, FetchesOverTcpTlsAndAUnixSocket) {
  std::string socket_path = (dir_ / "agent.sock").string();
  auto plain = StartAgent({"--unix", socket_path});
  ASSERT_TRUE(plain);
  auto got = FetchSecret(Tcp(plain->port()), {"abs", "password"});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, kPassword);
  SecretAgentOptions local;
  local.connection_type = "unix";
  local.address = socket_path;
  got = FetchSecret(local, {"abs", "password"});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, kPassword);

  testing::TestCa ca(dir_.string(), "agent-ca");
  auto cert = ca.Issue("agent", "secret-agent");
  auto secure = StartAgent({"--tls", cert.cert, cert.key, "--base64"});
  ASSERT_TRUE(secure);
  SecretAgentOptions o = Tcp(secure->port());
  o.tls_ca_file = ca.cert_file();
  o.is_base64 = true;
  got = FetchSecret(o, {"abs", "password"});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, kPassword);
  // Without is-base64 the agent's base64 text comes back as it is.
  o.is_base64 = false;
  got = FetchSecret(o, {"abs", "password"});
  ASSERT_TRUE(got.ok());
  EXPECT_NE(*got, kPassword);
  // A TLS agent whose certificate another CA signed is refused.
  testing::TestCa other(dir_.string(), "other-ca");
  o.tls_ca_file = other.cert_file();
  got = FetchSecret(o, {"abs", "password"});
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("TLS failed"), std::string::npos) << got.status().message();
}

// ABS 3.7's agent TLS: a client certificate (mutual TLS) and a name the agent's certificate
// must carry when it differs from the address.
TEST_F(SecretAgentTest, MutualTlsWithAClientCertificateAndAVerifiedName) {
  testing::TestCa ca(dir_.string(), "agent-ca");
  auto server = ca.Issue("agent", "agent.secrets.internal");
  auto client = ca.Issue("client", "abs");
  auto agent = StartAgent({"--tls", server.cert, server.key, "--client-ca", ca.cert_file()});
  ASSERT_TRUE(agent);
  SecretAgentOptions o = Tcp(agent->port());
  o.tls_ca_file = ca.cert_file();
  o.tls_name = "agent.secrets.internal";
  // Without a client certificate the agent hangs up during or after the handshake.
  EXPECT_FALSE(FetchSecret(o, {"abs", "password"}).ok());
  o.tls_cert_file = client.cert;
  o.tls_key_file = client.key;
  auto got = FetchSecret(o, {"abs", "password"});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, kPassword);
  // The name is verified: a name the certificate does not carry is refused.
  o.tls_name = "someone.else";
  got = FetchSecret(o, {"abs", "password"});
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("TLS failed"), std::string::npos) << got.status().message();
}

TEST_F(SecretAgentTest, EveryFailureIsNamedBoundedAndKeepsTheSecret) {
  auto agent = StartAgent();
  ASSERT_TRUE(agent);
  SecretAgentOptions o = Tcp(agent->port());
  o.timeout = std::chrono::milliseconds(800);
  struct Case {
    std::string resource, says;
  };
  for (const Case& c :
       std::vector<Case>{{"garbage", "does not start with the Secret Agent magic number"},
                         {"huge", "announces 2147483648 bytes, more than the 100 KiB"},
                         {"silent", "did not answer within 800 ms (reading the answer"},
                         {"trickle", "did not answer within 800 ms"},
                         {"not-json", "the answer is not a JSON object"},
                         {"no-value", "neither a SecretValue string nor an Error"},
                         {"hang-up", "closed the connection without answering"},
                         {"abs", "the agent answered: no secret nosuch in resource abs"}}) {
    SecretRef ref{c.resource, c.resource == "abs" ? "nosuch" : "password"};
    auto start = std::chrono::steady_clock::now();
    auto got = FetchSecret(o, ref);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(got.ok()) << c.resource;
    const std::string& m = got.status().message();
    EXPECT_NE(m.find(c.says), std::string::npos) << c.resource << ": " << m;
    EXPECT_NE(m.find("Secret Agent tcp 127.0.0.1:" + std::to_string(agent->port())),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("resource '" + ref.resource + "' key '" + ref.key + "'"), std::string::npos)
        << m;
    EXPECT_EQ(m.find(kPassword), std::string::npos) << m;
    // The whole exchange is bounded by the timeout, a trickling agent included.
    EXPECT_LT(took, std::chrono::seconds(3)) << c.resource;
  }
  // Nothing listening.
  agent.reset();
  auto got = FetchSecret(o, {"abs", "password"});
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("cannot connect"), std::string::npos)
      << got.status().message();
}

TEST_F(SecretAgentTest, ConfigurationReferencesAreFetchedWhenItLoads) {
  std::string socket_path = (dir_ / "agent.sock").string();
  auto agent = StartAgent({"--unix", socket_path});
  ASSERT_TRUE(agent);
  Json doc;
  doc["secret-agents"] = {
      {"vault", {{"connection-type", "tcp"}, {"address", "127.0.0.1"}, {"port", agent->port()}}},
      {"local", {{"connection-type", "unix"}, {"address", socket_path}}}};
  doc["aerospike-clusters"] = {
      {"c1",
       {{"seed-nodes", {{{"host-name", "127.0.0.1"}, {"port", 3000}}}},
        {"credentials",
         {{"user", "admin"},
          {"password", "secrets:abs:password"},
          {"secret-agent-name", "vault"}}}}},
      {"c2",
       {{"seed-nodes", {{{"host-name", "127.0.0.1"}, {"port", 3000}}}},
        {"credentials",
         {{"user", "admin"},
          {"password", "secrets:abs:password"},
          {"secret-agent",
           {{"connection-type", "unix"}, {"address", socket_path}, {"timeout", 2000}}}}}}}};
  doc["storage"] = {{"s1",
                     {{"s3-storage",
                       {{"bucket", "b"},
                        {"s3-region", "eu-west-1"},
                        {"access-key-id", "AKIA-LITERAL"},
                        {"secret-access-key", "secrets:abs:password"},
                        {"secret-agent-name", "local"}}}}}};
  doc["backup-policies"] = {
      {"encrypted",
       {{"encryption", {{"mode", "AES256"}, {"key-secret", "secrets:abs:encryption"}}}}}};
  doc["backup-routines"] = {{"r1",
                             {{"interval-cron", "@daily"},
                              {"source-cluster", "c1"},
                              {"storage", "s1"},
                              {"backup-policy", "encrypted"},
                              {"secret-agent", "vault"},
                              {"namespaces", {"test"}}}}};
  fs::path file = dir_ / "aerospike-backup-service.yml";
  std::ofstream(file) << JsonToYaml(doc);
  auto cfg = LoadConfigFile(file.string());
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->clusters.at("c1").password, kPassword);
  EXPECT_EQ(cfg->clusters.at("c2").password, kPassword);
  EXPECT_EQ(cfg->storage.at("s1").s3_secret_access_key, kPassword);
  EXPECT_EQ(cfg->storage.at("s1").s3_access_key_id, "AKIA-LITERAL");
  EXPECT_EQ(cfg->policies.at("encrypted").key_pem, key_pem_);
  auto key = storage::EncryptionKeyFromText(cfg->policies.at("encrypted").key_pem, "the key-secret",
                                            storage::Encryption::kAes256);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->size(), 32u);
  // The document keeps the references: saving it, or showing it, never writes a secret.
  EXPECT_EQ(cfg->document.dump().find(kPassword), std::string::npos);

  // A reference the agent cannot answer names the field and the agent's reason.
  doc["aerospike-clusters"]["c1"]["credentials"]["password"] = "secrets:abs:nosuch";
  std::ofstream(file) << JsonToYaml(doc);
  cfg = LoadConfigFile(file.string());
  ASSERT_FALSE(cfg.ok());
  const std::string m = cfg.status().message();
  EXPECT_NE(m.find("aerospike-clusters.c1.credentials.password: Secret Agent tcp 127.0.0.1:"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("no secret nosuch in resource abs"), std::string::npos) << m;
  EXPECT_EQ(m.find(kPassword), std::string::npos) << m;
}

}  // namespace
}  // namespace absvc::service
