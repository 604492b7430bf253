// The Secret Agent protocol's pieces without a network: references, request framing and
// answers; and how the configuration routes each reference to its agent.
#include <gtest/gtest.h>

#include "client/secret_agent.h"
#include "config/config.h"

namespace absvc {
namespace {

using client::DecodeSecretAnswer;
using client::DecodeSecretAnswerHeader;
using client::ParseSecretRef;

std::string Header(uint32_t magic, uint32_t length) {
  std::string h;
  for (uint32_t v : {magic, length})
    for (int shift = 24; shift >= 0; shift -= 8)
      h.push_back(static_cast<char>((v >> shift) & 0xff));
  return h;
}

TEST(SecretAgentProtocol, ReferencesRequestsAndAnswers) {
  auto ref = ParseSecretRef("secrets:db:password");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->resource, "db");
  EXPECT_EQ(ref->key, "password");
  for (const char* bad :
       {"secrets:", "secrets:db", "secrets::key", "secrets:db:", "secrets:a:b:c", "plain"}) {
    EXPECT_FALSE(ParseSecretRef(bad).ok()) << bad;
  }
  EXPECT_TRUE(client::IsSecretRef("secrets:x:y"));
  EXPECT_FALSE(client::IsSecretRef("file:/etc/x"));

  std::string request = client::EncodeSecretRequest({"db", "password"});
  std::string body = R"({"Resource":"db","SecretKey":"password"})";
  EXPECT_EQ(request, Header(0x51dec1cc, static_cast<uint32_t>(body.size())) + body);

  auto length = DecodeSecretAnswerHeader(Header(0x51dec1cc, 42));
  ASSERT_TRUE(length.ok());
  EXPECT_EQ(*length, 42u);
  EXPECT_FALSE(DecodeSecretAnswerHeader(Header(0x48545450, 42)).ok());  // "HTTP"
  EXPECT_FALSE(DecodeSecretAnswerHeader(Header(0x51dec1cc, 0)).ok());
  EXPECT_FALSE(DecodeSecretAnswerHeader(Header(0x51dec1cc, (100 << 10) + 1)).ok());
  EXPECT_FALSE(DecodeSecretAnswerHeader("short").ok());

  EXPECT_EQ(DecodeSecretAnswer(R"({"SecretValue":"s3cret"})", false).value(), "s3cret");
  EXPECT_EQ(DecodeSecretAnswer(R"({"SecretValue":"czNjcmV0"})", true).value(), "s3cret");
  auto refused = DecodeSecretAnswer(R"({"Error":"no such key"})", false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "the agent answered: no such key");
  // A body that does not parse is described, never quoted: it may hold the secret.
  auto broken = DecodeSecretAnswer(R"({"SecretValue":"s3cret)", false);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().message().find("s3cret"), std::string::npos);
  EXPECT_FALSE(DecodeSecretAnswer(R"({"SecretValue":"not base64!"})", true).ok());
  EXPECT_FALSE(DecodeSecretAnswer(R"({"SecretValue":""})", false).ok());
  EXPECT_FALSE(DecodeSecretAnswer(R"({"SecretValue":7})", false).ok());
  EXPECT_FALSE(DecodeSecretAnswer(R"(["SecretValue"])", false).ok());
}

service::Json Doc() {
  service::Json d;
  d["aerospike-clusters"] = {
      {"c1",
       {{"seed-nodes", {{{"host-name", "127.0.0.1"}, {"port", 3000}}}},
        {"credentials", {{"user", "u"}, {"password", "secrets:db:password"}}}}}};
  return d;
}

TEST(SecretAgentConfig, EachReferenceGoesToItsAgent) {
  std::vector<std::string> asked;
  service::SecretFetcher fetch = [&](const service::SecretAgentConfig& agent,
                                     const client::SecretRef& ref) -> Result<std::string> {
    asked.push_back(agent.address + " " + ref.resource + "/" + ref.key);
    if (ref.key == "missing") return Status::NotFound("the agent answered: no such key");
    return "secret@" + agent.address;
  };
  // One agent: every reference without a name goes to it.
  service::Json d = Doc();
  d["secret-agents"] = {
      {"a", {{"connection-type", "TCP"}, {"address", "agent-a"}, {"port", 3005}}}};
  auto cfg = service::ParseConfig(d, fetch);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->clusters.at("c1").password, "secret@agent-a");
  EXPECT_EQ(cfg->secret_agents.at("a").connection_type, "tcp");
  EXPECT_EQ(asked, std::vector<std::string>{"agent-a db/password"});

  auto error = [&](const service::Json& doc) {
    auto c = service::ParseConfig(doc, fetch);
    return c.ok() ? std::string("parsed") : c.status().message();
  };
  // Two agents: a reference must say which.
  d["secret-agents"]["b"] = {{"connection-type", "unix"}, {"address", "/run/agent.sock"}};
  EXPECT_NE(error(d).find("aerospike-clusters.c1.credentials.password: is a Secret Agent "
                          "reference: say which of the 2 secret-agents"),
            std::string::npos)
      << error(d);
  d["aerospike-clusters"]["c1"]["credentials"]["secret-agent-name"] = "b";
  cfg = service::ParseConfig(d, fetch);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->clusters.at("c1").password, "secret@/run/agent.sock");
  d["aerospike-clusters"]["c1"]["credentials"]["secret-agent-name"] = "nosuch";
  EXPECT_NE(error(d).find("no secret agent named 'nosuch' in secret-agents"), std::string::npos);
  d["aerospike-clusters"]["c1"]["credentials"]["secret-agent"] = {
      {"connection-type", "tcp"}, {"address", "inline"}, {"port", 1}};
  EXPECT_NE(error(d).find("give secret-agent or secret-agent-name, not both"), std::string::npos);
  d["aerospike-clusters"]["c1"]["credentials"].erase("secret-agent-name");
  cfg = service::ParseConfig(d, fetch);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->clusters.at("c1").password, "secret@inline");

  // No agent at all; a failed fetch; agents' own fields.
  d = Doc();
  EXPECT_NE(error(d).find("no secret-agents are configured"), std::string::npos);
  d["secret-agents"] = {{"a", {{"connection-type", "tcp"}, {"address", "x"}, {"port", 1}}}};
  d["aerospike-clusters"]["c1"]["credentials"]["password"] = "secrets:db:missing";
  EXPECT_NE(error(d).find("credentials.password: the agent answered: no such key"),
            std::string::npos)
      << error(d);
  d["aerospike-clusters"]["c1"]["credentials"]["password"] = "secrets:db";
  EXPECT_NE(error(d).find("secrets:<resource>:<key>"), std::string::npos);
  d = Doc();
  // ABS leaves the port optional: the agent's default, 3005.
  d["secret-agents"] = {{"a", {{"connection-type", "TCP"}, {"address", "x"}}}};
  d["aerospike-clusters"]["c1"]["credentials"]["password"] = "plain";
  cfg = service::ParseConfig(d, fetch);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->secret_agents.at("a").port, 3005);
  // ABS 3.7's TLS fields, and the older tls-ca-file as a synonym of ca-file.
  d["secret-agents"]["a"].update({{"ca-file", "/ca.pem"},
                                  {"cert-file", "/c.pem"},
                                  {"key-file", "/k.pem"},
                                  {"name", "agent.internal"}});
  cfg = service::ParseConfig(d, fetch);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->secret_agents.at("a").tls_ca_file, "/ca.pem");
  EXPECT_EQ(cfg->secret_agents.at("a").tls_cert_file, "/c.pem");
  EXPECT_EQ(cfg->secret_agents.at("a").tls_name, "agent.internal");
  d["secret-agents"]["a"]["tls-ca-file"] = "/other.pem";
  EXPECT_NE(error(d).find("give ca-file or its older name tls-ca-file, not both"),
            std::string::npos);
  d["secret-agents"]["a"].erase("tls-ca-file");
  d["secret-agents"]["a"].erase("key-file");
  EXPECT_NE(error(d).find("secret-agents.a.cert-file: cert-file and key-file go together"),
            std::string::npos);
  d["secret-agents"]["a"] = {{"connection-type", "tcp"}, {"address", "x"}, {"name", "n"}};
  EXPECT_NE(error(d).find("secret-agents.a.ca-file: is required with cert-file"),
            std::string::npos);
  d = Doc();
  d["secret-agents"] = {{"a",
                         {{"connection-type", "unix"},
                          {"address", "/s"},
                          {"tls-ca-file", "/ca.pem"},
                          {"colour", "red"}}}};
  EXPECT_NE(error(d).find("secret-agents.a.tls-ca-file: TLS is for connection-type tcp"),
            std::string::npos);
  EXPECT_NE(error(d).find("secret-agents.a.colour: unknown field"), std::string::npos);
  d["secret-agents"] = {{"a", {{"connection-type", "pipe"}, {"address", "/s"}}}};
  EXPECT_NE(error(d).find("secret-agents.a.connection-type"), std::string::npos);
}

TEST(SecretAgentConfig, KeySecretGoesToTheAgentItsRoutinesName) {
  service::SecretFetcher fetch = [](const service::SecretAgentConfig& agent,
                                    const client::SecretRef&) -> Result<std::string> {
    return "key@" + agent.address;
  };
  service::Json d = Doc();
  d["aerospike-clusters"]["c1"].erase("credentials");
  d["secret-agents"] = {{"a", {{"connection-type", "tcp"}, {"address", "agent-a"}, {"port", 1}}},
                        {"b", {{"connection-type", "tcp"}, {"address", "agent-b"}, {"port", 1}}}};
  d["storage"] = {{"s", {{"local-storage", {{"path", "/tmp/x"}}}}}};
  d["backup-policies"] = {
      {"p", {{"encryption", {{"mode", "AES128"}, {"key-secret", "secrets:keys:backup"}}}}}};
  service::Json routine = {
      {"interval-cron", "@daily"}, {"source-cluster", "c1"}, {"storage", "s"},
      {"backup-policy", "p"},      {"namespaces", {"test"}}, {"secret-agent", "b"}};
  d["backup-routines"] = {{"r1", routine}};
  auto cfg = service::ParseConfig(d, fetch);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->policies.at("p").key_pem, "key@agent-b");
  routine["secret-agent"] = "a";
  d["backup-routines"]["r2"] = routine;
  cfg = service::ParseConfig(d, fetch);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("its routines name different secret agents"),
            std::string::npos);
  routine["secret-agent"] = "c";
  d["backup-routines"] = {{"r1", routine}};
  cfg = service::ParseConfig(d, fetch);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("backup-routines.r1.secret-agent: no secret agent named"),
            std::string::npos);
}

}  // namespace
}  // namespace absvc
