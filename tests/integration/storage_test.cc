// The cloud backends against their emulators, started and stopped here: the storage
// contract (tests/storage_contract.h) on S3 (s3rver), then what only a cloud backend has:
// multipart uploads, resumed downloads, failures named with the object and the cause.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>
#include "emulator.h"

#include "scoped_env.h"
#include "storage/cloud/crypto.h"
#include "storage/cloud/http_client.h"
#include "storage/registry.h"
#include "storage/s3/credentials.h"
#include "storage_contract.h"

namespace absvc::storage {
namespace {

namespace fs = std::filesystem;
using testing::Emulator;

// One emulator for the whole binary, in a directory of its own, serving the buckets (or
// containers) abs-test and abs-top; each test writes under its own prefix or empties the
// bucket it uses whole. `args` gives the emulator's arguments for its directory.
class EmulatorEnvironment : public ::testing::Environment {
 public:
  EmulatorEnvironment(std::string script,
                      std::function<std::vector<std::string>(const fs::path&)> args)
      : script_(std::move(script)), args_(std::move(args)) {}
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("abs-" + script_ + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto e = Emulator::Start(script_, args_(dir_));
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    emulator_ = std::move(e).value();
  }
  void TearDown() override {
    emulator_.reset();
    std::error_code ec;  // azurite may still be closing its files
    fs::remove_all(dir_, ec);
  }
  std::string endpoint() const { return emulator_ ? emulator_->endpoint() : ""; }
  std::string info() const { return emulator_ ? emulator_->info() : "{}"; }
  const fs::path& dir() const { return dir_; }

 private:
  std::string script_;
  std::function<std::vector<std::string>(const fs::path&)> args_;
  fs::path dir_;
  std::unique_ptr<Emulator> emulator_;
};

EmulatorEnvironment* const g_s3 = new EmulatorEnvironment("s3.js", [](const fs::path& dir) {
  return std::vector<std::string>{dir.string(), "abs-test,abs-top"};
});
EmulatorEnvironment* const g_azure = new EmulatorEnvironment("azure.js", [](const fs::path& dir) {
  return std::vector<std::string>{dir.string(), "abs-test,abs-top"};
});
EmulatorEnvironment* const g_gcs = new EmulatorEnvironment("gcs.js", [](const fs::path& dir) {
  return std::vector<std::string>{(dir / "key.json").string(), "abs-test,abs-top"};
});

struct S3Environment {
  static std::string endpoint() { return g_s3->endpoint(); }
};
struct AzureEnvironment {
  static std::string endpoint() { return g_azure->endpoint() + "/devstoreaccount1"; }
  // The account SAS the SDK made in the emulator.
  static std::string sas() { return nlohmann::json::parse(g_azure->info()).value("sas", ""); }
};
struct GcsEnvironment {
  static std::string endpoint() { return g_gcs->endpoint(); }
  // The service-account key the test server wrote.
  static std::string key_file() { return (g_gcs->dir() / "key.json").string(); }
};

StorageSpec GcsSpec(const std::string& prefix) {
  StorageSpec spec;
  spec.kind = StorageKind::kGcs;
  spec.bucket = "abs-test";
  spec.path = prefix;
  spec.gcs_endpoint = GcsEnvironment::endpoint();
  spec.gcs_key_file_path = GcsEnvironment::key_file();
  spec.min_part_size = 256 << 10;
  spec.retry.initial_backoff_ms = 10;
  return spec;
}

constexpr const char* kAzuriteKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

StorageSpec AzureSpec(const std::string& prefix) {
  StorageSpec spec;
  spec.kind = StorageKind::kAzure;
  spec.bucket = "abs-test";
  spec.path = prefix;
  spec.azure_endpoint = AzureEnvironment::endpoint();
  spec.azure_account_name = "devstoreaccount1";
  spec.azure_account_key = kAzuriteKey;
  spec.retry.initial_backoff_ms = 10;
  return spec;
}

StorageSpec S3Spec(const std::string& prefix) {
  StorageSpec spec;
  spec.kind = StorageKind::kS3;
  spec.bucket = "abs-test";
  spec.path = prefix;
  spec.s3_region = "us-east-1";
  spec.s3_endpoint_override = S3Environment::endpoint();
  spec.s3_access_key_id = "S3RVER";
  spec.s3_secret_access_key = "S3RVER";
  spec.retry.initial_backoff_ms = 10;
  return spec;
}

std::unique_ptr<Storage> OpenCloud(const StorageSpec& spec) {
  auto s = OpenStorage(spec);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

std::unique_ptr<Storage> Emptied(const StorageSpec& spec) {
  auto s = OpenCloud(spec);
  auto all = s ? s->List("") : Result<std::vector<ObjectInfo>>(Status::Internal("not open"));
  if (all.ok()) {
    for (const auto& o : *all)
      (void)s->Remove(o.path);
  }
  return s;
}

// The whole bucket or container: one test at a time uses it, and it is emptied first.
INSTANTIATE_TEST_SUITE_P(
    Cloud, StorageContract,
    ::testing::Values(
        Backend{"s3",
                [](const std::string& test) { return OpenCloud(S3Spec("contract/" + test)); }},
        Backend{"s3_bucket_top",
                [](const std::string&) {
                  StorageSpec spec = S3Spec("");
                  spec.bucket = "abs-top";
                  return Emptied(spec);
                }},
        Backend{"gcs",
                [](const std::string& test) { return OpenCloud(GcsSpec("contract/" + test)); }},
        Backend{"gcs_bucket_top",
                [](const std::string&) {
                  StorageSpec spec = GcsSpec("");
                  spec.bucket = "abs-top";
                  return Emptied(spec);
                }},
        Backend{"azure",
                [](const std::string& test) { return OpenCloud(AzureSpec("contract/" + test)); }},
        Backend{"azure_sas_container_top",
                [](const std::string&) {
                  StorageSpec spec = AzureSpec("");
                  spec.bucket = "abs-top";
                  spec.azure_account_key = "";
                  spec.azure_sas_token = AzureEnvironment::sas();
                  return Emptied(spec);
                }}),
    [](const auto& info) { return info.param.name; });

TEST(S3Storage, LargeObjectsGoUpInPartsAndReadBackWhole) {
  StorageSpec spec = S3Spec("multipart");
  spec.min_part_size = 5 << 20;
  spec.max_async_connections = 3;
  auto s = OpenCloud(spec);
  ASSERT_TRUE(s);
  std::string data(17 << 20, '\0');  // four parts, the last one short
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>((i * 2654435761u) >> 13);
  ASSERT_TRUE(Put(*s, "big.asb", data).ok());
  auto listed = s->List("big.asb");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].size, data.size());
  EXPECT_EQ(*s->ReadAll("big.asb"), data);
  EXPECT_EQ(Read(*s, "big.asb", (9 << 20) + 5), data.substr((9 << 20) + 5));
}

TEST(S3Storage, FailuresNameTheStorageTheObjectAndTheCause) {
  StorageSpec spec = S3Spec("errors");
  spec.s3_secret_access_key = "wrong";
  auto s = OpenCloud(spec);
  ASSERT_TRUE(s);
  Status st = s->PutAtomic("x.asb", "data");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("s3://abs-test/errors/x.asb"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("403"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("SignatureDoesNotMatch"), std::string::npos) << st.ToString();
  EXPECT_FALSE(s->Probe().ok());

  StorageSpec missing = S3Spec("");
  missing.bucket = "no-such-bucket";
  auto m = OpenCloud(missing);
  Status probe = m->Probe();
  EXPECT_FALSE(probe.ok());
  EXPECT_NE(probe.message().find("no-such-bucket"), std::string::npos) << probe.ToString();

  StorageSpec down = S3Spec("");
  down.s3_endpoint_override = "http://127.0.0.1:1";  // nothing listens
  down.retry.max_attempts = 2;
  auto d = OpenCloud(down);
  Status unreachable = d->Probe();
  EXPECT_EQ(unreachable.code(), StatusCode::kNetwork) << unreachable.ToString();
  EXPECT_NE(unreachable.message().find("gave up after 2 attempts"), std::string::npos)
      << unreachable.ToString();
}

// Fault rules for the emulator (see tests/emulators/s3.js); the request log since.
void SetFaults(const std::string& rules) {
  cloud::HttpRequest req;
  req.method = "POST";
  req.url = S3Environment::endpoint() + "/__faults";
  req.body = rules;
  auto r = cloud::SendHttp(req);
  ASSERT_TRUE(r.ok() && r->status == 204) << (r.ok() ? r->body : r.status().ToString());
}

std::string RequestLog() {
  cloud::HttpRequest req;
  req.url = S3Environment::endpoint() + "/__log";
  auto r = cloud::SendHttp(req);
  return r.ok() ? r->body : "";
}

std::string Pattern(size_t n) {
  std::string data(n, '\0');
  for (size_t i = 0; i < n; ++i)
    data[i] = static_cast<char>((i * 2654435761u) >> 11);
  return data;
}

TEST(S3Faults, BusyAnswersAndResetsMidUploadAreRiddenOut) {
  // Two 503 SlowDown answers, a 500, and a connection reset, all on part uploads (the
  // rules fire in order: the first until spent, then the next).
  SetFaults(R"([{"method":"PUT","query":"partNumber","status":503,"code":"SlowDown","count":2},
                {"method":"PUT","query":"partNumber","status":500,"count":1},
                {"method":"PUT","query":"partNumber","reset":true,"count":1}])");
  StorageSpec spec = S3Spec("faults-upload");
  spec.max_async_connections = 2;
  auto s = OpenCloud(spec);
  std::string data = Pattern(12 << 20);  // three parts
  Status st = Put(*s, "busy.asb", data);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(*s->ReadAll("busy.asb"), data);
  std::string log = RequestLog();
  size_t parts = 0;
  for (size_t at = log.find("partNumber"); at != std::string::npos;
       at = log.find("partNumber", at + 1))
    ++parts;
  EXPECT_GE(parts, 3u + 4u) << "every fault was retried: " << log;
}

TEST(S3Faults, AnUploadThatKeepsFailingIsAbortedAndNamedWithItsCause) {
  SetFaults(R"([{"method":"PUT","query":"partNumber","status":500,"code":"InternalError",
                 "count":1000,"skip":1}])");
  StorageSpec spec = S3Spec("faults-abort");
  spec.retry.max_attempts = 3;
  auto s = OpenCloud(spec);
  Status st = Put(*s, "doomed.asb", Pattern(11 << 20));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("s3://abs-test/faults-abort/doomed.asb"), std::string::npos)
      << st.ToString();
  EXPECT_NE(st.message().find("HTTP 500 InternalError"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("gave up after 3 attempts"), std::string::npos) << st.ToString();
  EXPECT_NE(RequestLog().find("DELETE /abs-test/faults-abort/doomed.asb?uploadId="),
            std::string::npos)
      << "the multipart upload was aborted: " << RequestLog();
  SetFaults("[]");
  EXPECT_TRUE(s->List("")->empty()) << "nothing half-written is visible";
}

TEST(S3Faults, ADownloadResetMidwayResumesAndAnExpiredTokenIsRenewed) {
  SetFaults("[]");
  auto s = OpenCloud(S3Spec("faults-read"));
  std::string data = Pattern(20 << 20);  // three ranged GETs
  ASSERT_TRUE(Put(*s, "r.asb", data).ok());
  SetFaults(R"([{"method":"GET","header":"range","reset":true,"count":1,"skip":1},
                {"method":"GET","header":"range","status":400,"code":"ExpiredToken","count":1,
                 "skip":2}])");
  auto all = s->ReadAll("r.asb");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_TRUE(*all == data);
  // Three ranged GETs, plus one again after the reset and one after the expired token.
  std::string log = RequestLog();
  size_t gets = 0;
  for (size_t at = log.find("GET /abs-test/faults-read/r.asb"); at != std::string::npos;
       at = log.find("GET /abs-test/faults-read/r.asb", at + 1))
    ++gets;
  EXPECT_EQ(gets, 5u) << log;
  SetFaults("[]");
}

using testing::ScopedEnv;

// Temporary credentials refreshed early: while the metadata service is away, the ones in
// hand serve until they expire; after that the failure is one to retry, not a missing
// configuration.
TEST(S3Credentials, AFailedEarlyRefreshKeepsValidCredentials) {
  auto meta = Emulator::Start("aws_metadata.js", {"unused"});
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  ScopedEnv env;
  for (const char* v : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE",
                        "AWS_EC2_METADATA_DISABLED", "AWS_WEB_IDENTITY_TOKEN_FILE"})
    env.Unset(v);
  env.Set("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials");
  env.Set("AWS_CONFIG_FILE", "/nonexistent/config");
  env.Set("AWS_EC2_METADATA_SERVICE_ENDPOINT", (*meta)->endpoint());
  StorageSpec spec;
  spec.kind = StorageKind::kS3;
  s3::CredentialsProvider provider(spec);
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto first = provider.Get(now);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->session_token, "imds-session-token");
  meta->reset();                                // the metadata service goes away
  auto early = provider.Get(now + 3600 - 120);  // inside the refresh window, not expired
  ASSERT_TRUE(early.ok()) << early.status().ToString();
  EXPECT_EQ(early->access_key_id, first->access_key_id);
  auto late = provider.Get(now + 7200);
  ASSERT_FALSE(late.ok());
  EXPECT_TRUE(IsTransient(late.status())) << late.status().ToString();
}

// With no keys anywhere else, credentials come from a web identity (STS) or, failing
// that, the instance metadata service; S3 accepts what they hand out.
TEST(S3Credentials, WebIdentityAndInstanceMetadataProvideWorkingKeys) {
  auto dir = fs::temp_directory_path() / ("abs-aws-meta-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "token") << "jwt-from-kubernetes\n";
  auto meta = Emulator::Start("aws_metadata.js", {"jwt-from-kubernetes"});
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  ScopedEnv env;
  for (const char* v : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                        "AWS_PROFILE", "AWS_EC2_METADATA_DISABLED"})
    env.Unset(v);
  env.Set("AWS_SHARED_CREDENTIALS_FILE", (dir / "none").string());
  env.Set("AWS_CONFIG_FILE", (dir / "none").string());
  env.Set("AWS_EC2_METADATA_SERVICE_ENDPOINT", (*meta)->endpoint());
  StorageSpec spec = S3Spec("credentials");
  spec.s3_access_key_id = spec.s3_secret_access_key = "";

  // The instance metadata service (no web identity configured).
  env.Unset("AWS_WEB_IDENTITY_TOKEN_FILE");
  auto from_imds = OpenCloud(spec);
  Status st = from_imds->PutAtomic("imds.txt", "via IMDSv2");
  EXPECT_TRUE(st.ok()) << st.ToString();

  // A web identity comes first when configured.
  env.Set("AWS_WEB_IDENTITY_TOKEN_FILE", (dir / "token").string());
  env.Set("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/abs");
  env.Set("AWS_ENDPOINT_URL_STS", (*meta)->endpoint());
  auto from_sts = OpenCloud(spec);
  st = from_sts->PutAtomic("sts.txt", "via web identity");
  EXPECT_TRUE(st.ok()) << st.ToString();

  // A rejected token is an error that says so, naming STS's reason.
  std::ofstream(dir / "token") << "forged";
  auto rejected = OpenCloud(spec);
  st = rejected->PutAtomic("no.txt", "x");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("InvalidIdentityToken"), std::string::npos) << st.ToString();
  fs::remove_all(dir);
}

// What the official Azure SDK says of a blob, or writes: {"size", "sha256"}.
nlohmann::json AzureSdk(const std::string& args) {
  std::string cmd = "node " + std::string(ABS_SOURCE_DIR) + "/tests/emulators/azure_sdk.js " +
                    AzureEnvironment::endpoint() + " abs-test " + args;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p && std::fgets(buf, sizeof buf, p))
    out += buf;
  if (p) ::pclose(p);
  return nlohmann::json::parse(out, nullptr, false);
}

TEST(AzureStorage, BlocksCommitWholeAndTheOfficialSdkAgreesBothWays) {
  StorageSpec spec = AzureSpec("blocks");
  spec.min_part_size = 1 << 20;
  spec.max_async_connections = 3;
  auto s = OpenCloud(spec);
  ASSERT_TRUE(s);
  std::string data = Pattern((5 << 20) + 12345);  // six blocks, the last one short
  ASSERT_TRUE(Put(*s, "abs-wrote.asb", data).ok());
  EXPECT_EQ(*s->ReadAll("abs-wrote.asb"), data);
  auto sdk = AzureSdk("get blocks/abs-wrote.asb");
  ASSERT_TRUE(sdk.is_object()) << "the SDK could not read it";
  EXPECT_EQ(sdk["size"], data.size());
  EXPECT_EQ(sdk["sha256"], cloud::Sha256Hex(data));

  auto wrote = AzureSdk("put blocks/sdk-wrote.asb 9000000");
  ASSERT_TRUE(wrote.is_object());
  auto back = s->ReadAll("sdk-wrote.asb");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->size(), 9000000u);
  EXPECT_EQ(cloud::Sha256Hex(*back), wrote["sha256"]);
  auto listed = s->List("");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2u);
}

TEST(AzureStorage, FailuresNameTheStorageTheBlobAndTheCause) {
  StorageSpec spec = AzureSpec("errors");
  spec.azure_account_key = "d3Jvbmcga2V5";  // "wrong key"
  auto s = OpenCloud(spec);
  Status st = s->PutAtomic("x.asb", "data");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("azure://devstoreaccount1/abs-test/errors/x.asb"), std::string::npos)
      << st.ToString();
  EXPECT_NE(st.message().find("403"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("AuthorizationFailure"), std::string::npos) << st.ToString();
  EXPECT_FALSE(s->Probe().ok());
  // With a SAS and no account name, the account comes from the emulator's path, not from
  // the first label of its address ("azure://127/..." once).
  StorageSpec sas = AzureSpec("errors");
  sas.azure_account_name = "";
  sas.azure_account_key = "";
  sas.azure_sas_token = "sv=2021-08-06&sp=rw&sig=d3Jvbmc%3D";
  auto with_sas = OpenCloud(sas);
  ASSERT_TRUE(with_sas);
  st = with_sas->PutAtomic("x.asb", "data");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("azure://devstoreaccount1/abs-test/errors/x.asb"), std::string::npos)
      << st.ToString();

  StorageSpec missing = AzureSpec("");
  missing.bucket = "no-such-container";
  Status probe = OpenCloud(missing)->Probe();
  EXPECT_FALSE(probe.ok());
  EXPECT_NE(probe.message().find("no-such-container"), std::string::npos) << probe.ToString();
  EXPECT_NE(probe.message().find("does not exist"), std::string::npos) << probe.ToString();

  StorageSpec none = AzureSpec("");
  none.azure_account_key = "";
  auto refused = OpenStorage(none);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
}

// An Azure AD service principal: abs asks the authority for a token (client credentials)
// and azurite, serving HTTPS as Bearer tokens require, accepts it; a wrong secret is
// named without the secret, and the TLS certificate is really checked.
TEST(AzureStorage, AnAzureAdServicePrincipalsTokenIsAccepted) {
  auto dir = fs::temp_directory_path() / ("abs-azure-aad-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "data");
  std::string make_cert =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(make_cert.c_str()), 0);
  auto az = Emulator::Start(
      "azure.js", {(dir / "data").string(), "abs-aad", (dir / "cert.pem").string(),
                   (dir / "key.pem").string(), "abs-tenant", "abs-client", "abs-client-secret"});
  ASSERT_TRUE(az.ok()) << az.status().ToString();
  ScopedEnv env;
  env.Unset("CURL_CA_BUNDLE");
  env.Set("SSL_CERT_FILE", (dir / "cert.pem").string());
  StorageSpec spec;
  spec.kind = StorageKind::kAzure;
  spec.bucket = "abs-aad";
  spec.path = "aad";
  spec.azure_endpoint = "https://127.0.0.1:" + std::to_string((*az)->port()) + "/devstoreaccount1";
  spec.azure_tenant_id = "abs-tenant";
  spec.azure_client_id = "abs-client";
  spec.azure_client_secret = "abs-client-secret";
  spec.azure_authority = nlohmann::json::parse((*az)->info()).value("authority", "");
  spec.min_part_size = 1 << 20;
  spec.retry.initial_backoff_ms = 10;
  auto s = OpenCloud(spec);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->Probe().ok()) << s->Probe().ToString();
  std::string data = Pattern((5 << 20) / 2);
  Status st = Put(*s, "x.asb", data);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto back = s->ReadAll("x.asb");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == data);
  auto listed = s->List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->size(), 1u);

  StorageSpec wrong = spec;
  wrong.azure_client_secret = "not-the-secret";
  wrong.retry.max_attempts = 1;
  Status refused = OpenCloud(wrong)->Probe();
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("invalid_client"), std::string::npos) << refused.ToString();
  EXPECT_NE(refused.message().find("abs-client"), std::string::npos) << refused.ToString();
  EXPECT_EQ(refused.message().find("not-the-secret"), std::string::npos) << refused.ToString();

  env.Unset("SSL_CERT_FILE");  // the test's CA is no longer trusted
  StorageSpec untrusted = spec;
  untrusted.retry.max_attempts = 1;
  Status tls = OpenCloud(untrusted)->Probe();
  EXPECT_FALSE(tls.ok());
  EXPECT_NE(tls.message().find("certificate"), std::string::npos) << tls.ToString();
  az->reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

void SetGcsFaults(const std::string& rules) {
  cloud::HttpRequest req;
  req.method = "POST";
  req.url = GcsEnvironment::endpoint() + "/__faults";
  req.body = rules;
  auto r = cloud::SendHttp(req);
  ASSERT_TRUE(r.ok() && r->status == 204) << (r.ok() ? r->body : r.status().ToString());
}

// A resumable upload whose chunks meet a reset and a server that keeps only part of one:
// each time the session is asked what it kept, and the rest is sent.
TEST(GcsStorage, ResumableUploadsResumeFromWhatTheServerKept) {
  // A reset, a server that keeps only part of a chunk, and a chunk kept whole whose
  // answer is lost (the session must not be finished early at that length).
  SetGcsFaults(R"([{"method":"PUT","path":"upload_id","reset":true,"count":1,"skip":1},
                   {"method":"PUT","path":"upload_id","partial":true,"count":1,"skip":1},
                   {"method":"PUT","path":"upload_id","lose_answer":true,"count":1,"skip":3}])");
  auto s = OpenCloud(GcsSpec("resumable"));
  std::string data = Pattern((2 << 20) + 1000);  // nine chunks of 256 KiB, the last short
  Status st = Put(*s, "r.asb", data);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto back = s->ReadAll("r.asb");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == data);
  cloud::HttpRequest rules;
  rules.url = GcsEnvironment::endpoint() + "/__faults";
  auto left = cloud::SendHttp(rules);
  ASSERT_TRUE(left.ok());
  auto j = nlohmann::json::parse(left->body);
  for (const auto& rule : j)
    EXPECT_EQ(rule["count"], 0) << "every fault fired: " << left->body;
  SetGcsFaults("[]");
}

// What the official SDK says or does: {"size", "sha256"}, or a listing.
nlohmann::json GcsSdk(const std::string& args) {
  std::string cmd = "node " + std::string(ABS_SOURCE_DIR) + "/tests/emulators/gcs_sdk.js " +
                    GcsEnvironment::endpoint() + " " + GcsEnvironment::key_file() + " abs-test " +
                    args;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p && std::fgets(buf, sizeof buf, p))
    out += buf;
  if (p) ::pclose(p);
  return nlohmann::json::parse(out, nullptr, false);
}

// The official SDK is the referee: its simple and resumable uploads read back through
// abs, abs's objects download through it (its hash checks included), and it lists and
// deletes what abs wrote.
TEST(GcsStorage, AbsAndTheOfficialSdkReadEachOthersObjects) {
  StorageSpec spec = GcsSpec("sdk");
  auto s = OpenCloud(spec);
  std::string data = Pattern((1 << 20) + 777);  // a resumable upload of five chunks
  ASSERT_TRUE(Put(*s, "abs-wrote.asb", data).ok());
  ASSERT_TRUE(s->PutAtomic("small.json", "{}").ok());
  auto got = GcsSdk("get sdk/abs-wrote.asb");
  ASSERT_TRUE(got.is_object()) << "the SDK could not download it";
  EXPECT_EQ(got["size"], data.size());
  EXPECT_EQ(got["sha256"], cloud::Sha256Hex(data));

  for (const char* kind : {"put-simple", "put-resumable"}) {
    auto wrote = GcsSdk(std::string(kind) + " sdk/" + kind + ".bin 600000");
    ASSERT_TRUE(wrote.is_object()) << kind;
    auto back = s->ReadAll(std::string(kind) + ".bin");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(cloud::Sha256Hex(*back), wrote["sha256"]) << kind;
  }
  auto listed = GcsSdk("list sdk/");
  ASSERT_TRUE(listed.is_array());
  EXPECT_EQ(listed.size(), 4u) << listed.dump();
  ASSERT_TRUE(GcsSdk("delete sdk/abs-wrote.asb").is_object());
  auto ours = s->List("");
  ASSERT_TRUE(ours.ok());
  EXPECT_EQ(ours->size(), 3u);
}

// Without a key anywhere, the token comes from the metadata server (GCE, GKE workload
// identity), found through GCE_METADATA_HOST; the server accepts it.
TEST(GcsStorage, WithoutAKeyTheMetadataServerProvidesTheToken) {
  ScopedEnv env;
  env.Unset("GOOGLE_APPLICATION_CREDENTIALS");
  env.Set("GCE_METADATA_HOST", g_gcs->endpoint().substr(std::string("http://").size()));
  StorageSpec spec = GcsSpec("metadata");
  spec.gcs_key_file_path.clear();
  auto s = OpenCloud(spec);
  ASSERT_TRUE(s);
  Status st = s->PutAtomic("x.asb", "via the metadata server");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(*s->ReadAll("x.asb"), "via the metadata server");

  env.Set("GCE_METADATA_HOST", "127.0.0.1:1");  // no metadata server: named as the cause
  spec.retry.max_attempts = 1;
  Status none = OpenCloud(spec)->Probe();
  EXPECT_FALSE(none.ok());
  EXPECT_NE(none.message().find("OAuth token"), std::string::npos) << none.ToString();
  EXPECT_NE(none.message().find("127.0.0.1:1"), std::string::npos) << none.ToString();
}

TEST(GcsStorage, AForeignKeyOrMissingBucketIsNamed) {
  // A key the server does not know: its token request is refused.
  auto dir = fs::temp_directory_path() / ("abs-gcs-key-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto real = nlohmann::json::parse(std::ifstream(GcsEnvironment::key_file()));
  std::string pem;
  {
    FILE* p =
        ::popen("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null", "r");
    char buf[512];
    while (p && std::fgets(buf, sizeof buf, p))
      pem += buf;
    if (p) ::pclose(p);
  }
  ASSERT_FALSE(pem.empty());
  real["private_key"] = pem;
  std::ofstream(dir / "foreign.json") << real.dump();
  StorageSpec spec = GcsSpec("");
  spec.gcs_key_file_path = (dir / "foreign.json").string();
  spec.retry.max_attempts = 1;
  Status st = OpenCloud(spec)->Probe();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("invalid_grant"), std::string::npos) << st.ToString();

  StorageSpec missing = GcsSpec("");
  missing.bucket = "no-such-bucket";
  Status probe = OpenCloud(missing)->Probe();
  EXPECT_NE(probe.message().find("gs://no-such-bucket"), std::string::npos) << probe.ToString();
  EXPECT_NE(probe.message().find("does not exist"), std::string::npos) << probe.ToString();

  spec.gcs_key_file_path = (dir / "nothing.json").string();
  auto unreadable = OpenStorage(spec);
  EXPECT_FALSE(unreadable.ok());
  EXPECT_NE(unreadable.status().message().find("nothing.json"), std::string::npos);
  fs::remove_all(dir);
}

// Each cloud backend behind tests/emulators/fault_proxy.js, for what the emulators cannot
// do themselves: never answer, redirect to themselves, answer 429, cut an answer short,
// or answer with garbage.
struct ProxiedBackend {
  std::string name;
  std::unique_ptr<Emulator> proxy;
  StorageSpec spec;
  std::string object_name;  // how failures name the object "x.asb"
  std::string list_path;    // a substring of list requests only

  void SetFaults(const std::string& rules) const {
    cloud::HttpRequest req;
    req.method = "POST";
    req.url = proxy->endpoint() + "/__faults";
    req.body = rules;
    auto r = cloud::SendHttp(req);
    ASSERT_TRUE(r.ok() && r->status == 204) << (r.ok() ? r->body : r.status().ToString());
  }
  size_t Requests() const {
    cloud::HttpRequest req;
    req.url = proxy->endpoint() + "/__log";
    auto r = cloud::SendHttp(req);
    return r.ok() ? nlohmann::json::parse(r->body).size() : 0;
  }
  // How many more times the rules would fire: 0 once every fault happened.
  int FaultsLeft() const {
    cloud::HttpRequest req;
    req.url = proxy->endpoint() + "/__faults";
    auto r = cloud::SendHttp(req);
    int left = 0;
    if (r.ok()) {
      for (const auto& rule : nlohmann::json::parse(r->body))
        left += rule.value("count", 0);
    }
    return left;
  }
};

std::vector<ProxiedBackend> ProxiedBackends(const std::string& prefix) {
  std::vector<ProxiedBackend> out;
  auto start = [](const std::string& upstream) {
    auto p = Emulator::Start("fault_proxy.js", {upstream});
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(p).value() : nullptr;
  };
  ProxiedBackend s3{"s3", start(S3Environment::endpoint()), S3Spec(prefix), "", "list-type"};
  s3.spec.s3_endpoint_override = s3.proxy->endpoint();
  s3.spec.min_part_size = 5 << 20;
  s3.object_name = "s3://abs-test/" + prefix + "/x.asb";
  ProxiedBackend gcs{"gcs", start(GcsEnvironment::endpoint()), GcsSpec(prefix), "", "/o?"};
  gcs.spec.gcs_endpoint = gcs.proxy->endpoint();
  gcs.object_name = "gs://abs-test/" + prefix + "/x.asb";
  ProxiedBackend az{"azure", start(g_azure->endpoint()), AzureSpec(prefix), "", "comp=list"};
  az.spec.azure_endpoint = az.proxy->endpoint() + "/devstoreaccount1";
  az.spec.min_part_size = 1 << 20;
  az.object_name = "azure://devstoreaccount1/abs-test/" + prefix + "/x.asb";
  out.push_back(std::move(s3));
  out.push_back(std::move(gcs));
  out.push_back(std::move(az));
  return out;
}

// 429 (with Retry-After) on uploads and downloads, and answers cut short mid-download:
// the upload completes and the download resumes, on every backend.
TEST(CloudFaults, TooManyRequestsAndCutAnswersAreRiddenOut) {
  for (auto& b : ProxiedBackends("busy")) {
    SCOPED_TRACE(b.name);
    auto s = OpenCloud(b.spec);
    ASSERT_TRUE(s);
    std::string data = Pattern(static_cast<size_t>(b.spec.min_part_size) * 5 / 2);  // 3 parts
    b.SetFaults(R"([{"method":"PUT","status":429,"retry_after":0,"count":2,"skip":1},
                    {"method":"GET","status":429,"retry_after":0,"count":1}])");
    Status st = Put(*s, "x.asb", data);
    ASSERT_TRUE(st.ok()) << st.ToString();
    auto back = s->ReadAll("x.asb");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == data);
    EXPECT_EQ(b.FaultsLeft(), 0) << "every 429 was answered";
    const size_t busy = b.Requests();
    b.SetFaults(R"([{"method":"GET","path":"x.asb","truncate":true,"count":2}])");
    back = s->ReadAll("x.asb");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == data) << "resumed where the cut answers stopped";
    EXPECT_EQ(b.FaultsLeft(), 0) << "both answers were cut";
    EXPECT_GE(b.Requests(), 3u) << "two cut answers, then the rest";
    EXPECT_GE(busy, 3u + 3u) << "every 429 was retried";
    b.SetFaults("[]");
  }
}

// Runs `uploads` on threads of their own and waits for them at most `deadline`: the number
// that finished in time and succeeded, or -1 when one is still running then (a wedge; its
// thread is left behind, holding only shared state).
int UploadAllWithin(Storage& s, const std::vector<std::string>& names, const std::string& data,
                    std::chrono::seconds deadline) {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    size_t finished = 0;
    int ok = 0;
  };
  auto shared = std::make_shared<Shared>();
  for (const auto& name : names) {
    std::thread([&s, name, data, shared] {
      Status st = Put(s, name, data);
      std::lock_guard lock(shared->mu);
      ++shared->finished;
      if (st.ok()) ++shared->ok;
      shared->cv.notify_all();
    }).detach();
  }
  std::unique_lock lock(shared->mu);
  if (!shared->cv.wait_for(lock, deadline, [&] { return shared->finished == names.size(); })) {
    return -1;
  }
  return shared->ok;
}

// The case that wedged absd: several writers' uploads meet repeated 500s at once (some
// give up after their retries), and once the faults are gone every later upload, on the
// same storage, completes. Then an upload whose parts the server never answers ends at
// once when its job cancels (it once waited forever, and a cancel changed nothing).
TEST(CloudFaults, UploadsAfterRepeated500sCompleteAndACancelEndsAStuckOne) {
  for (auto& b : ProxiedBackends("wedge")) {
    SCOPED_TRACE(b.name);
    b.spec.retry.initial_backoff_ms = 1;
    b.spec.retry.max_backoff_ms = 5;
    b.spec.retry.max_attempts = 3;
    b.spec.max_async_connections = 3;
    auto s = OpenCloud(b.spec);
    ASSERT_TRUE(s);
    const std::string data = Pattern(static_cast<size_t>(b.spec.min_part_size) * 5 / 2);
    std::vector<std::string> first, second;
    for (int i = 0; i < 6; ++i) {
      first.push_back("during-" + std::to_string(i) + ".asb");
      second.push_back("after-" + std::to_string(i) + ".asb");
    }
    b.SetFaults(R"([{"method":"PUT","status":500,"count":40}])");
    EXPECT_GE(UploadAllWithin(*s, first, data, std::chrono::seconds(120)), 0)
        << "an upload meeting 500s never ended";
    b.SetFaults("[]");
    EXPECT_EQ(UploadAllWithin(*s, second, data, std::chrono::seconds(120)), 6)
        << "uploads after the faults did not all complete";
    for (const auto& name : second) {
      auto back = s->ReadAll(name);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_TRUE(*back == data) << name;
    }

    std::atomic<bool> cancel{false};
    OpenOptions options;
    options.cancel = &cancel;
    StorageSpec patient = b.spec;
    patient.retry.request_timeout_ms = 600000;  // only the cancel can end it
    auto stuck_storage = OpenStorage(patient, options);
    ASSERT_TRUE(stuck_storage.ok()) << stuck_storage.status().ToString();
    b.SetFaults(R"([{"method":"PUT","silent":true,"count":1000}])");
    std::thread canceller([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      cancel = true;
    });
    auto start = std::chrono::steady_clock::now();
    Status st = Put(**stuck_storage, "stuck.asb", data);
    canceller.join();
    EXPECT_EQ(st.code(), StatusCode::kCancelled) << st.ToString();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    b.SetFaults("[]");
  }
}

// A server that takes requests and never answers: each request gives up at the request
// timeout, each call after its attempts, naming the storage, the object and the cause.
TEST(CloudFaults, AServerThatNeverAnswersIsGivenUpOnNamingTheObject) {
  for (auto& b : ProxiedBackends("silent")) {
    SCOPED_TRACE(b.name);
    b.spec.retry.request_timeout_ms = 300;
    b.spec.retry.max_attempts = 2;
    auto s = OpenCloud(b.spec);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->PutAtomic("x.asb", "before").ok());
    b.SetFaults(R"([{"silent":true,"count":1000}])");
    Status put = s->PutAtomic("x.asb", "during");
    EXPECT_EQ(put.code(), StatusCode::kTimeout) << put.ToString();
    EXPECT_NE(put.message().find(b.object_name), std::string::npos) << put.ToString();
    EXPECT_NE(put.message().find("gave up after 2 attempts"), std::string::npos) << put.ToString();
    auto read = s->ReadAll("x.asb");
    ASSERT_FALSE(read.ok());
    EXPECT_NE(read.status().message().find(b.object_name), std::string::npos)
        << read.status().ToString();
    EXPECT_NE(read.status().message().find("imeout"), std::string::npos)
        << read.status().ToString();
    auto list = s->List("");
    EXPECT_FALSE(list.ok());
    EXPECT_FALSE(s->Probe().ok());
    b.SetFaults("[]");
    auto after = s->ReadAll("x.asb");
    ASSERT_TRUE(after.ok()) << after.status().ToString();
    EXPECT_EQ(*after, "before") << "nothing unanswered took effect";
  }
}

// A redirect to itself is not followed: one request per attempt, and an error that says
// it was a redirect.
TEST(CloudFaults, ARedirectLoopIsNotFollowed) {
  for (auto& b : ProxiedBackends("redirect")) {
    SCOPED_TRACE(b.name);
    b.spec.retry.max_attempts = 2;
    auto s = OpenCloud(b.spec);
    ASSERT_TRUE(s);
    b.SetFaults(R"([{"redirect":true,"count":1000}])");
    Status put = s->PutAtomic("x.asb", "data");
    ASSERT_FALSE(put.ok());
    EXPECT_NE(put.message().find(b.object_name), std::string::npos) << put.ToString();
    EXPECT_NE(put.message().find("HTTP 307"), std::string::npos) << put.ToString();
    EXPECT_NE(put.message().find("a redirect to " + b.proxy->endpoint() + ", not followed"),
              std::string::npos)
        << put.ToString();
    auto read = s->ReadAll("x.asb");
    EXPECT_FALSE(read.ok());
    EXPECT_LE(b.Requests(), 2u * 2u) << "never followed";
    b.SetFaults("[]");
  }
}

// Listings that are not what they claim: a clear error naming the storage, never a crash
// and never a short listing taken as the whole.
TEST(CloudFaults, MalformedListingsAreRefusedNamingTheStorage) {
  for (auto& b : ProxiedBackends("garbage")) {
    SCOPED_TRACE(b.name);
    b.spec.retry.max_attempts = 1;
    auto s = OpenCloud(b.spec);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->PutAtomic("x.asb", "data").ok());
    const std::string where = b.object_name.substr(0, b.object_name.size() - 6);
    for (const char* garbage :
         {"<ListBucketResult><Contents><Key>x.asb</Key>", "{\"items\": [{\"name\": \"x.asb\", ",
          "<?xml version=\"1.0\"?><EnumerationResults><Blobs><Blob><Name>x</Name></Blob>",
          "<ListBucketResult><Contents><Key>x.asb</Key><Size>-5</Size></Contents>"
          "</ListBucketResult>",
          "{\"items\": [{\"name\": \"x.asb\", \"size\": \"many\"}]}", "not a listing at all"}) {
      b.SetFaults(nlohmann::json::array(
                      {{{"path", b.list_path}, {"garbage", std::string(garbage)}, {"count", 1}}})
                      .dump());
      auto list = s->List("");
      EXPECT_EQ(b.FaultsLeft(), 0) << "the listing was replaced";
      ASSERT_FALSE(list.ok()) << garbage;
      EXPECT_EQ(list.status().code(), StatusCode::kCorrupt) << list.status().ToString();
      EXPECT_NE(list.status().message().find(where), std::string::npos) << list.status().ToString();
    }
    b.SetFaults("[]");
  }
}

}  // namespace
}  // namespace absvc::storage

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(absvc::storage::g_s3);
  ::testing::AddGlobalTestEnvironment(absvc::storage::g_azure);
  ::testing::AddGlobalTestEnvironment(absvc::storage::g_gcs);
  return RUN_ALL_TESTS();
}
