// absd's REST API over HTTPS, checked with real TLS clients: curl, Node.js's https module
// and an OpenSSL client in the test. Server and client certificates are made per test
// (test_certs.h): a right one, one from another CA, an expired one.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/tls.h"
#include "http/http_api.h"
#include "http/https_context.h"
#include "service/service.h"
#include "test_certs.h"
#include "test_cluster.h"

namespace absvc::service {
namespace {

namespace fs = std::filesystem;
using testing::CertFiles;
using testing::TestCa;

struct Ran {
  int exit_code = -1;
  std::string output;
};

// Runs `command` through the shell, stdout and stderr together.
Ran RunShell(const std::string& command) {
  Ran out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    out.output.append(buf, n);
  int status = ::pclose(p);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string Quote(const std::string& s) {
  return "'" + s + "'";
}

// One GET with Node's https module; prints "<status> <body>" or "ERROR <code> <message>".
constexpr char kNodeGet[] = R"(
const https = require('https');
const fs = require('fs');
const opt = {host: '127.0.0.1', port: +process.env.PORT, path: process.env.URL_PATH,
             ca: fs.readFileSync(process.env.CA), timeout: 10000};
if (process.env.CERT) {
  opt.cert = fs.readFileSync(process.env.CERT);
  opt.key = fs.readFileSync(process.env.KEY);
}
const req = https.get(opt, (res) => {
  let body = '';
  res.on('data', (d) => body += d);
  res.on('end', () => console.log(res.statusCode + ' ' + body));
});
req.on('error', (e) => console.log('ERROR ' + (e.code || '') + ' ' + e.message));
)";

class HttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("abs-https-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ca_ = std::make_unique<TestCa>(dir_.string(), "ca");
    other_ca_ = std::make_unique<TestCa>(dir_.string(), "other-ca");
    server_ = ca_->Issue("server", "abs-server");
    client_ = ca_->Issue("client", "operator");
    stranger_ = other_ca_->Issue("stranger", "operator");
    expired_ = ca_->Issue("expired", "operator", -7200, -3600);
  }
  void TearDown() override {
    if (api_) api_->Stop();
    if (service_) service_->Stop();
    fs::remove_all(dir_);
  }

  HttpsConfig Tls(const std::string& client_auth = "none") {
    HttpsConfig c;
    c.cert_file = server_.cert;
    c.key_file = server_.key;
    c.client_auth = client_auth;
    if (client_auth != "none") c.client_ca_file = ca_->cert_file();
    return c;
  }

  // absd's service and API with HTTPS on a free port; the files are looked at again on
  // every connection so a renewal shows at once.
  void Start(const HttpsConfig& tls) {
    Json doc;
    doc["service"] = {{"http", {{"address", "127.0.0.1"}}}, {"logger", {{"level", "WARN"}}}};
    fs::path config_path = dir_ / "aerospike-backup-service.yml";
    std::ofstream(config_path) << JsonToYaml(doc);
    auto cfg = LoadConfigFile(config_path.string());
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
    ServiceOptions options{config_path.string(), (dir_ / "state").string(), "test"};
    auto svc = Service::Create(options, std::move(cfg).value());
    ASSERT_TRUE(svc.ok()) << svc.status().ToString();
    service_ = std::move(svc).value();
    ASSERT_TRUE(service_->Start().ok());
    auto ctx = HttpsContext::Create(tls, std::chrono::milliseconds(0));
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    context_ = *ctx;
    api_ = std::make_unique<HttpApi>(*service_);
    Status st = api_->StartHttps("127.0.0.1", 0, context_);
    ASSERT_TRUE(st.ok()) << st.ToString();
    port_ = api_->https_port();
  }

  // curl GET of `path` with the CA, and a client certificate when given: the HTTP code,
  // or curl's own exit code when no answer came.
  Ran Curl(const std::string& path, const CertFiles* client = nullptr,
           const std::string& extra = "") {
    std::string cmd = "curl -sS --max-time 10 -o /dev/null -w '%{http_code}' --cacert " +
                      Quote(ca_->cert_file()) + " " + extra;
    if (client) cmd += " --cert " + Quote(client->cert) + " --key " + Quote(client->key);
    return RunShell(cmd + " " + Quote("https://127.0.0.1:" + std::to_string(port_) + path));
  }

  std::string Node(const std::string& path, const CertFiles* client = nullptr) {
    fs::path script = dir_ / "get.js";
    std::ofstream(script) << kNodeGet;
    std::string env = "PORT=" + std::to_string(port_) + " URL_PATH=" + Quote(path) +
                      " CA=" + Quote(ca_->cert_file());
    if (client) env += " CERT=" + Quote(client->cert) + " KEY=" + Quote(client->key);
    Ran r = RunShell(env + " node " + Quote(script.string()));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.output;
  }

  // The subject CN of the certificate the server presents to an OpenSSL client, or
  // "failed: " and why. `max_version` 0 lets OpenSSL choose.
  std::string PeerCommonName(int max_version = 0) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                          SSL_CTX_free);
    if (max_version) SSL_CTX_set_max_proto_version(ctx.get(), max_version);
    SSL_CTX_load_verify_locations(ctx.get(), ca_->cert_file().c_str(), nullptr);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return "failed: connect";
    }
    SSL* ssl = SSL_new(ctx.get());
    SSL_set_fd(ssl, fd);
    std::string out;
    if (SSL_connect(ssl) != 1) {
      out = "failed: " + tls::OpenSslErrors();
    } else if (X509* cert = SSL_get1_peer_certificate(ssl)) {
      char cn[256] = {};
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
      out = cn;
      X509_free(cert);
    }
    SSL_free(ssl);
    ::close(fd);
    return out;
  }

  fs::path dir_;
  std::unique_ptr<TestCa> ca_, other_ca_;
  CertFiles server_, client_, stranger_, expired_;
  std::unique_ptr<Service> service_;
  std::shared_ptr<HttpsContext> context_;
  std::unique_ptr<HttpApi> api_;
  int port_ = 0;
};

TEST_F(HttpsTest, ServesTheApiToCurlAndNode) {
  Start(Tls());
  Ran r = Curl("/health");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "200");
  r = Curl("/v1/config");
  EXPECT_EQ(r.output, "200") << r.output;
  EXPECT_EQ(Node("/health"), "200 Ok\n");
  // A client that does not trust the server's CA refuses it (curl: 60, peer failed
  // verification), and a plain-HTTP request on the HTTPS port gets no answer.
  r = RunShell("curl -sS --max-time 10 -o /dev/null https://127.0.0.1:" + std::to_string(port_) +
               "/health");
  EXPECT_EQ(r.exit_code, 60) << r.output;
  r = RunShell("curl -sS --max-time 10 -o /dev/null -w '%{http_code}' http://127.0.0.1:" +
               std::to_string(port_) + "/health");
  EXPECT_NE(r.output.find("000"), std::string::npos) << r.output;
  // Keep-alive works over TLS: curl sends both requests on one connection.
  std::string url = "https://127.0.0.1:" + std::to_string(port_) + "/health";
  r = RunShell("curl -sS --max-time 10 --cacert " + Quote(ca_->cert_file()) + " " + Quote(url) +
               " " + Quote(url) + " -w '%{num_connects}\\n'");
  EXPECT_EQ(r.output, "Ok1\nOk0\n");
}

TEST_F(HttpsTest, RequireAndVerifyAcceptsOnlyAValidClientCertificateFromTheCa) {
  Start(Tls("require-and-verify"));
  Ran r = Curl("/health", &client_);
  EXPECT_EQ(r.output, "200") << r.output;
  EXPECT_EQ(Node("/health", &client_), "200 Ok\n");
  for (const CertFiles* refused : std::vector<const CertFiles*>{nullptr, &stranger_, &expired_}) {
    std::string which = refused == nullptr      ? "no certificate"
                        : refused == &stranger_ ? "another CA's certificate"
                                                : "an expired certificate";
    r = Curl("/health", refused);
    EXPECT_NE(r.exit_code, 0) << which << ": " << r.output;
    EXPECT_EQ(r.output.find("200"), std::string::npos) << which << ": " << r.output;
    std::string node = Node("/health", refused);
    EXPECT_EQ(node.rfind("ERROR", 0), 0u) << which << ": " << node;
  }
  // Every refusal is counted, and the API still serves the right certificate.
  EXPECT_GE(api_->connection_counters().tls_handshakes_failed, 6u);
  EXPECT_EQ(Curl("/metrics", &client_).output, "200");
}

// crl-file: a revoked client certificate is refused, one the list does not name is
// served, and a new list takes effect without a restart.
TEST_F(HttpsTest, ACertificateTheCrlRevokesIsRefused) {
  CertFiles revoked = ca_->Issue("revoked-client", "revoked");
  HttpsConfig tls = Tls("require-and-verify");
  tls.crl_file = ca_->WriteCrl("crl", {revoked});
  Start(tls);
  EXPECT_EQ(Curl("/health", &client_).output, "200");
  Ran r = Curl("/health", &revoked);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("200"), std::string::npos) << r.output;
  EXPECT_EQ(Node("/health", &revoked).rfind("ERROR", 0), 0u);
  // The CA revokes the other client too: the next connection sees the new list.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a new mtime
  ca_->WriteCrl("crl", {revoked, client_});
  r = Curl("/health", &client_);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_EQ(context_->reloads(), 1u);
  // A file that holds no list is refused by name.
  std::ofstream(dir_ / "empty-crl.pem") << "nothing\n";
  tls.crl_file = (dir_ / "empty-crl.pem").string();
  auto bad = HttpsContext::Create(tls);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("holds no PEM certificate revocation list"),
            std::string::npos);
}

TEST_F(HttpsTest, RequestAsksForACertificateButServesClientsWithout) {
  Start(Tls("request"));
  EXPECT_EQ(Curl("/health").output, "200");
  EXPECT_EQ(Curl("/health", &client_).output, "200");
  Ran r = Curl("/health", &stranger_);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_EQ(Node("/health"), "200 Ok\n");
  EXPECT_EQ(Node("/health", &expired_).rfind("ERROR", 0), 0u);
}

TEST_F(HttpsTest, MinVersionRefusesOlderClients) {
  HttpsConfig tls = Tls();
  tls.min_version = "1.3";
  Start(tls);
  EXPECT_EQ(PeerCommonName(), "abs-server");
  std::string old = PeerCommonName(TLS1_2_VERSION);
  EXPECT_EQ(old.rfind("failed: ", 0), 0u) << old;
  Ran r = Curl("/health", nullptr, "--tls-max 1.2");
  EXPECT_EQ(r.exit_code, 35) << r.output;  // SSL connect error
  EXPECT_EQ(Curl("/health").output, "200");
}

TEST_F(HttpsTest, CipherSuitesLimitWhatAClientMayUse) {
  HttpsConfig tls = Tls();
  tls.cipher_suites = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"};  // the test keys are EC
  Start(tls);
  // Over TLS 1.2 only the named suite is offered (OpenSSL's names on curl's side).
  Ran r = Curl("/health", nullptr, "--tls-max 1.2 --ciphers ECDHE-ECDSA-AES256-GCM-SHA384");
  EXPECT_EQ(r.exit_code, 35) << r.output;
  r = Curl("/health", nullptr, "--tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_EQ(r.output, "200") << r.output;
}

TEST_F(HttpsTest, ARenewedCertificateIsServedWithoutARestart) {
  Start(Tls());
  ASSERT_EQ(PeerCommonName(), "abs-server");
  CertFiles renewed = ca_->Issue("renewed", "abs-renewed");
  // The certificate arrives first: it does not match the old key, so the old pair keeps
  // being served, and the mismatch is counted once, not at every connection.
  fs::rename(renewed.cert, server_.cert);
  EXPECT_EQ(PeerCommonName(), "abs-server");
  EXPECT_EQ(PeerCommonName(), "abs-server");
  EXPECT_EQ(context_->failed_reloads(), 1u);
  EXPECT_EQ(context_->reloads(), 0u);
  // Then the key: the renewed certificate is served from the next connection on.
  fs::rename(renewed.key, server_.key);
  EXPECT_EQ(PeerCommonName(), "abs-renewed");
  EXPECT_EQ(context_->reloads(), 1u);
  EXPECT_EQ(Curl("/health").output, "200");
  EXPECT_EQ(Node("/health"), "200 Ok\n");
}

// absd itself, as an operator runs it: plain HTTP off, the API over HTTPS only; and a
// certificate that has expired stops it at start, naming the file.
TEST_F(HttpsTest, AbsdServesOnlyHttpsWhenHttpIsDisabled) {
  const int port = testing::FreeLocalPort();
  ASSERT_GT(port, 0);
  Json doc;
  doc["service"] = {{"http", {{"address", "127.0.0.1"}, {"disabled", true}}},
                    {"https",
                     {{"address", "127.0.0.1"},
                      {"port", port},
                      {"cert-file", server_.cert},
                      {"key-file", server_.key}}},
                    {"logger", {{"level", "WARN"}}}};
  fs::path config = dir_ / "absd.yml";
  std::ofstream(config) << JsonToYaml(doc);
  const std::string absd = testing::SiblingBinary("absd");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(absd.c_str(), absd.c_str(), "-c", config.c_str(), "--state-dir",
            (dir_ / "state").c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(pid, 0);
  port_ = port;
  Ran r;
  for (int i = 0; i < 100; ++i) {
    r = Curl("/health");
    if (r.output == "200") break;
    ::usleep(100 * 1000);
  }
  EXPECT_EQ(r.output, "200") << r.output;
  EXPECT_EQ(Node("/version").rfind("200 ", 0), 0u);
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

  doc["service"]["https"]["cert-file"] = expired_.cert;
  doc["service"]["https"]["key-file"] = expired_.key;
  std::ofstream(config) << JsonToYaml(doc);
  Ran refused = RunShell(absd + " -c " + Quote(config.string()) + " --state-dir " +
                         Quote((dir_ / "state").string()));
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("service.https.cert-file: the certificate in " + expired_.cert +
                                " has expired"),
            std::string::npos)
      << refused.output;
}

TEST_F(HttpsTest, BadCertificatesAndKeysAreNamedWithoutThePassword) {
  auto error_of = [](const HttpsConfig& c) {
    auto ctx = HttpsContext::Create(c);
    return ctx.ok() ? std::string("loaded") : ctx.status().message();
  };
  const std::string password = "s3cret-Pa55word";
  CertFiles locked = ca_->Issue("locked", "abs-server", -3600, 86400, password);
  HttpsConfig c = Tls();
  c.cert_file = locked.cert;
  c.key_file = locked.key;
  c.key_file_password = password;
  EXPECT_EQ(error_of(c), "loaded");
  c.key_file_password = "wrong";
  std::string e = error_of(c);
  EXPECT_NE(e.find("service.https.key-file"), std::string::npos) << e;
  EXPECT_NE(e.find("the password does not decrypt it"), std::string::npos) << e;
  EXPECT_EQ(e.find("wrong"), std::string::npos) << e;
  c.key_file_password.clear();
  e = error_of(c);
  EXPECT_NE(e.find("encrypted and no password was given"), std::string::npos) << e;

  c = Tls();
  c.key_file = client_.key;  // another certificate's key
  e = error_of(c);
  EXPECT_NE(e.find("does not belong to the certificate"), std::string::npos) << e;
  c = Tls();
  c.cert_file = expired_.cert;
  c.key_file = expired_.key;
  e = error_of(c);
  EXPECT_NE(e.find("service.https.cert-file: the certificate in"), std::string::npos) << e;
  EXPECT_NE(e.find("has expired"), std::string::npos) << e;
  std::ofstream(dir_ / "garbage.pem") << "-----BEGIN CERTIFICATE-----\nnot base64 at all\n";
  c = Tls();
  c.cert_file = (dir_ / "garbage.pem").string();
  e = error_of(c);
  EXPECT_NE(e.find("service.https.cert-file: cannot load " + c.cert_file), std::string::npos) << e;
  c = Tls("require-and-verify");
  c.client_ca_file = (dir_ / "missing.pem").string();
  e = error_of(c);
  EXPECT_NE(e.find("service.https.client-ca-file: cannot load " + c.client_ca_file),
            std::string::npos)
      << e;
}

}  // namespace
}  // namespace absvc::service
