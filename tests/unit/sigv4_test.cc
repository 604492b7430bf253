// SigV4 against AWS's published signing test suite (tests/data/sigv4): for each
// case the canonical request, the string to sign and the signature must match exactly.
#include "storage/s3/sigv4.h"

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "storage/cloud/crypto.h"
#include "storage/cloud/uri.h"

namespace absvc::storage::s3 {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t ParseTimestamp(const std::string& iso) {
  std::tm tm{};
  strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return static_cast<int64_t>(timegm(&tm));
}

// request.txt: "METHOD target HTTP/1.1", headers (a line starting with white space
// continues the previous value), a blank line, the body.
SignedRequestParts ParseRequest(const std::string& text, std::string* body) {
  SignedRequestParts r;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  r.method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) {
    std::string query = target.substr(q + 1);
    size_t i = 0;
    while (i <= query.size()) {
      size_t amp = query.find('&', i);
      if (amp == std::string::npos) amp = query.size();
      std::string pair = query.substr(i, amp - i);
      size_t eq = pair.find('=');
      auto k = cloud::UriDecode(pair.substr(0, eq));
      auto v = cloud::UriDecode(eq == std::string::npos ? "" : pair.substr(eq + 1));
      if (!pair.empty()) r.query.push_back({*k, *v});
      i = amp + 1;
    }
  }
  while (std::getline(in, line) && !line.empty()) {
    if (line[0] == ' ' || line[0] == '\t') {
      r.headers.back().second += "\n" + line;
      continue;
    }
    size_t colon = line.find(':');
    r.headers.push_back({line.substr(0, colon), line.substr(colon + 1)});
  }
  std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  *body = rest;
  return r;
}

TEST(SigV4, MatchesEveryCaseOfTheAwsSigningTestSuite) {
  const fs::path dir = fs::path(ABS_TESTDATA_DIR) / "sigv4";
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " is missing (tests/data/sigv4 in the repository)";
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_directory()) continue;
    const fs::path c = entry.path();
    SCOPED_TRACE(c.filename().string());
    auto context = nlohmann::json::parse(Slurp(c / "context.json"));
    std::string body;
    SignedRequestParts request = ParseRequest(Slurp(c / "request.txt"), &body);
    request.payload_sha256_hex = cloud::Sha256Hex(body);
    AwsCredentials creds{context["credentials"]["access_key_id"],
                         context["credentials"]["secret_access_key"],
                         context["credentials"].value("token", "")};
    SigningOptions options;
    options.region = context["region"];
    options.service = context["service"];
    options.unix_seconds = ParseTimestamp(context["timestamp"]);
    options.normalize_path = context.value("normalize", true);
    options.add_content_sha256_header = context.value("sign_body", false);
    options.omit_session_token = context.value("omit_session_token", false);
    Signature sig = SignV4(request, creds, options);
    EXPECT_EQ(sig.canonical_request, Slurp(c / "header-canonical-request.txt"));
    EXPECT_EQ(sig.string_to_sign, Slurp(c / "header-string-to-sign.txt"));
    EXPECT_EQ(sig.signature_hex, Slurp(c / "header-signature.txt"));
    // The signed request carries the same Authorization line.
    std::string signed_request = Slurp(c / "header-signed-request.txt");
    EXPECT_NE(signed_request.find("Authorization:" + sig.authorization + "\n"), std::string::npos)
        << sig.authorization;
    ++cases;
  }
  EXPECT_GE(cases, 30);
}

TEST(SigV4, S3KeysAreSignedAsGivenAndEncodedOnce) {
  SignedRequestParts r;
  r.method = "PUT";
  r.path = "/bucket/backups//run 1/a+b.asb";
  r.headers = {{"Host", "127.0.0.1:9000"}};
  r.payload_sha256_hex = "UNSIGNED-PAYLOAD";
  SigningOptions o;
  o.region = "us-east-1";
  o.service = "s3";
  o.unix_seconds = 1440938160;
  o.normalize_path = false;
  o.add_content_sha256_header = true;
  Signature sig = SignV4(r, {"AKID", "SECRET", ""}, o);
  EXPECT_EQ(sig.encoded_path, "/bucket/backups//run%201/a%2Bb.asb");
  EXPECT_NE(sig.canonical_request.find("x-amz-content-sha256:UNSIGNED-PAYLOAD\n"),
            std::string::npos);
  EXPECT_EQ(AmzDate(1440938160), "20150830T123600Z");
}

}  // namespace
}  // namespace absvc::storage::s3
