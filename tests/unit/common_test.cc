#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <fstream>
#include <random>

#include <zlib.h>

#include "common/base64.h"
#include "common/bytes.h"
#include "common/cltime.h"
#include "common/json_fields.h"
#include "common/log.h"
#include "common/log_file.h"
#include "common/secret_value.h"
#include "common/status.h"
#include "common/tls.h"
#include "scoped_env.h"

namespace absvc {
namespace {

TEST(Base64, EncodesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

// Bit by bit, as RFC 4648 describes it: the reference for the fast encoders.
std::string ReferenceBase64(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t bits = in.size() * 8;
  for (size_t b = 0; b < bits; b += 6) {
    int v = 0;
    for (size_t k = b; k < b + 6; ++k) {
      int bit = k < bits ? (static_cast<uint8_t>(in[k / 8]) >> (7 - k % 8)) & 1 : 0;
      v = v * 2 + bit;
    }
    out += kAlphabet[v];
  }
  while (out.size() % 4 != 0)
    out += '=';
  return out;
}

TEST(Base64, FastEncoderMatchesTheReferenceAtEveryLengthAndByte) {
  std::mt19937 rng(7);
  for (size_t len = 0; len < 300; ++len) {
    std::string data(len, '\0');
    for (auto& c : data)
      c = static_cast<char>(rng());
    ASSERT_EQ(Base64Encode(data), ReferenceBase64(data)) << "length " << len;
    std::string prefixed = "x";  // appends after existing text
    Base64EncodeAppend(data, prefixed);
    ASSERT_EQ(prefixed, "x" + ReferenceBase64(data));
  }
  std::string every(256 * 3, '\0');  // every byte value in every position of a triple
  for (size_t i = 0; i < every.size(); ++i)
    every[i] = static_cast<char>(i / 3 + (i % 3) * 85);
  EXPECT_EQ(Base64Encode(every), ReferenceBase64(every));
}

TEST(Base64, DecodeRoundTripsEveryLength) {
  std::string data;
  for (int i = 0; i < 300; ++i) {
    data.push_back(static_cast<char>(i * 37));
    auto decoded = Base64Decode(Base64Encode(data));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, data);
  }
}

TEST(Base64, RejectsMalformedText) {
  EXPECT_FALSE(Base64Decode("Zg=").has_value());       // not a multiple of 4
  EXPECT_FALSE(Base64Decode("Z!==").has_value());      // bad character
  EXPECT_FALSE(Base64Decode("Zh==").has_value());      // non-zero padding bits
  EXPECT_FALSE(Base64Decode("Zg==Zg==").has_value());  // padding in the middle
}

TEST(ByteReader, ReportsReadsPastTheEnd) {
  ByteReader r(std::string_view("\x01\x02\x03", 3));
  EXPECT_EQ(r.U16BE(), 0x0102);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.U32BE(), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.U8(), 0);  // stays failed
}

TEST(Bytes, LittleAndBigEndianStores) {
  char b[8];
  StoreU64BE(b, 0x0102030405060708ull);
  EXPECT_EQ(HexEncode(std::string_view(b, 8)), "0102030405060708");
  StoreU64LE(b, 0x0102030405060708ull);
  EXPECT_EQ(HexEncode(std::string_view(b, 8)), "0807060504030201");
  EXPECT_EQ(LoadU64LE(b), 0x0102030405060708ull);
  EXPECT_EQ(HexU64Upper(0xBB9020011AC4202ull), "BB9020011AC4202");
}

TEST(Status, CarriesCodeAndContext) {
  Status s = Status::Server(22, "forbidden").WithContext("put test/demo");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.server_code(), 22);
  EXPECT_EQ(s.ToString(), "server error 22: put test/demo: forbidden");
  Result<int> r = Status::NotFound("x");
  EXPECT_FALSE(r.ok());
  Result<int> v = 5;
  EXPECT_EQ(*v, 5);
}

TEST(JsonFields, FieldsOfAnotherTypeReadAsTheFallback) {
  auto j = nlohmann::json::parse(R"({"s": "text", "n": 9.0, "i": -3, "u": 18446744073709551615,
                                     "big": 9223372036854775807, "list": [1]})");
  EXPECT_EQ(StringField(j, "s"), "text");
  EXPECT_EQ(StringField(j, "n", "none"), "none");
  EXPECT_EQ(StringField(j, "missing"), "");
  EXPECT_EQ(StringField(nlohmann::json::array(), "s", "x"), "x");
  EXPECT_EQ(IntField(j, "i"), -3);
  EXPECT_EQ(IntField(j, "n", 7), 7);  // a float is no integer
  EXPECT_EQ(IntField(j, "u", 7), 7);  // beyond int64
  EXPECT_EQ(IntField(j, "big"), INT64_MAX);
  EXPECT_EQ(IntField(j, "s", 7), 7);
  EXPECT_EQ(CountField(j, "u"), UINT64_MAX);
  EXPECT_EQ(CountField(j, "i", 5), 5u);  // negative
  EXPECT_EQ(CountField(j, "list", 5), 5u);
  EXPECT_EQ(CountField(nlohmann::json(3), "u", 5), 5u);
}

TEST(CitrusleafTime, ConvertsBetweenEpochs) {
  EXPECT_EQ(VoidTimeToUnixNanos(0), 1262304000ll * 1000000000);
  EXPECT_EQ(CitrusleafMillisToUnixNanos(1000), (1262304000ll * 1000 + 1000) * 1000000);
}

TEST(SecretValue, ResolvesEveryFormAndNamesWhatIsMissing) {
  testing::ScopedEnv env;
  namespace fs = std::filesystem;
  fs::path file = fs::temp_directory_path() / ("abs-secret-" + std::to_string(::getpid()));
  std::ofstream(file) << "from-file\r\n";
  env.Set("ABS_TEST_SECRET", "from-env");
  env.Set("ABS_TEST_SECRET_B64", Base64Encode("from-env-b64"));
  env.Set("ABS_TEST_EMPTY", "");
  env.Unset("ABS_TEST_UNSET");

  auto ok = [](const std::string& v) {
    auto r = ResolveSecretValue(v, "--key");
    return r.ok() ? *r : "error: " + r.status().message();
  };
  EXPECT_EQ(ok("plain"), "plain");
  EXPECT_EQ(ok("with:colon"), "with:colon");
  EXPECT_EQ(ok("file:" + file.string()), "from-file");
  EXPECT_EQ(ok("env:ABS_TEST_SECRET"), "from-env");
  EXPECT_EQ(ok("env-b64:ABS_TEST_SECRET_B64"), "from-env-b64");
  EXPECT_EQ(ok("b64:" + Base64Encode("inline")), "inline");

  EXPECT_EQ(ok("env:ABS_TEST_UNSET"),
            "error: --key: environment variable ABS_TEST_UNSET is not set");
  EXPECT_EQ(ok("env:ABS_TEST_EMPTY"), "error: --key: environment variable ABS_TEST_EMPTY is empty");
  EXPECT_EQ(ok("env:"), "error: --key: env: names no variable");
  EXPECT_EQ(ok("env-b64:ABS_TEST_SECRET"),
            "error: --key: environment variable ABS_TEST_SECRET is not valid base64");
  EXPECT_EQ(ok("b64:%%%"), "error: --key: the b64: value is not valid base64");
  EXPECT_EQ(ok("file:"), "error: --key: file: names no file");
  EXPECT_NE(ok("file:" + file.string() + ".missing").find("cannot read --key file"),
            std::string::npos);
  std::ofstream(file, std::ios::trunc) << "\n";
  EXPECT_EQ(ok("file:" + file.string()), "error: --key: file " + file.string() + " is empty");
  // The secret itself never appears in an error.
  std::ofstream(file, std::ios::trunc) << std::string(70 << 10, 'k');
  std::string big = ok("file:" + file.string());
  EXPECT_EQ(big.find("kkkk"), std::string::npos);
  EXPECT_EQ(big.rfind("error: ", 0), 0u) << "a 70 KiB secret file is refused";
  fs::remove(file);
}

}  // namespace
}  // namespace absvc

namespace absvc {
namespace {

std::vector<std::string> FilesIn(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string Gunzip(const std::filesystem::path& path) {
  gzFile in = gzopen(path.c_str(), "rb");
  std::string out;
  char buf[4096];
  int n;
  while (in && (n = gzread(in, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<size_t>(n));
  if (in) gzclose(in);
  return out;
}

// The log file rotates past its size, gzips what it rotated, and keeps only the newest
// max-backups and none older than max-age.
TEST(RotatingLogFile, RotatesCompressesAndPrunes) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("abs-log-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "absd-notes.log") << "not a rotated file";
  LogFileOptions o;
  o.path = (dir / "absd.log").string();
  o.max_bytes = 1000;
  o.max_backups = 2;
  o.compress = true;
  auto sink = std::make_shared<RotatingLogFile>(o);
  spdlog::logger logger("t", sink);
  logger.set_pattern("%v");
  for (int i = 0; i < 100; ++i) {
    logger.info("line {:03d} {}", i, std::string(40, 'x'));  // ~50 bytes each
    if (i % 20 == 19) sink->WaitIdle();  // rotations often within one millisecond
  }
  logger.flush();
  sink->WaitIdle();
  auto names = FilesIn(dir);
  size_t gz = 0;
  for (const auto& n : names)
    gz += n.size() > 3 && n.compare(n.size() - 3, 3, ".gz") == 0;
  EXPECT_EQ(gz, 2u) << ::testing::PrintToString(names);
  EXPECT_LE(fs::file_size(dir / "absd.log"), 1000u);
  EXPECT_TRUE(fs::exists(dir / "absd-notes.log")) << "a file rotation did not name is kept";
  // The newest rotated file holds the lines just before the current file's.
  std::string newest;
  for (const auto& n : names) {
    if (n.size() > 3 && n.compare(n.size() - 3, 3, ".gz") == 0) newest = n;
  }
  std::string text = Gunzip(dir / newest);
  EXPECT_NE(text.find("line "), std::string::npos) << text;
  std::ifstream current(dir / "absd.log");
  std::string first;
  std::getline(current, first);
  int newest_last = std::stoi(text.substr(text.rfind("line ") + 5, 3));
  char expected[32];
  std::snprintf(expected, sizeof expected, "line %03d", newest_last + 1);
  EXPECT_EQ(first.substr(0, 8), expected) << "nothing lost between the files";

  // max-age: rotated files last written long ago go at the next rotation.
  o.max_backups = 0;
  o.max_age_days = 7;
  o.compress = false;
  sink.reset();
  auto aged = std::make_shared<RotatingLogFile>(o);
  for (const auto& n : FilesIn(dir)) {
    if (n.size() > 3 && n.compare(n.size() - 3, 3, ".gz") == 0) {
      fs::last_write_time(dir / n, fs::file_time_type::clock::now() - std::chrono::hours(24 * 8));
    }
  }
  aged->RotateNow();
  aged->WaitIdle();
  names = FilesIn(dir);
  gz = 0;
  size_t plain_backups = 0;
  for (const auto& n : names) {
    gz += n.size() > 3 && n.compare(n.size() - 3, 3, ".gz") == 0;
    plain_backups +=
        n.rfind("absd-2", 0) == 0 && n.size() > 4 && n.compare(n.size() - 4, 4, ".log") == 0;
  }
  EXPECT_EQ(gz, 0u) << "older than max-age: " << ::testing::PrintToString(names);
  EXPECT_EQ(plain_backups, 1u) << "the fresh rotation stays, uncompressed";
  aged.reset();

  // The file's directory is created, as ABS creates it.
  o.path = (dir / "new" / "deeper" / "absd.log").string();
  auto fresh = std::make_shared<RotatingLogFile>(o);
  spdlog::logger in_new_dir("t", fresh);
  in_new_dir.info("first");
  in_new_dir.flush();
  EXPECT_TRUE(fs::exists(o.path));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace absvc

namespace absvc {
namespace {

// A TLS peer that is gone must cost one connection, not the process: OpenSSL's own socket
// BIO writes with write(2), which raises SIGPIPE. The child restores SIGPIPE's default (as in
// any program that never touched it) and must still exit normally.
TEST(TlsSocket, WritingToAClosedPeerIsAnErrorNotASigpipe) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        std::signal(SIGPIPE, SIG_DFL);
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) std::_Exit(2);
        ::close(fds[1]);
        SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
        SSL* ssl = ctx ? SSL_new(ctx) : nullptr;
        if (!ssl || !tls::AttachSocket(ssl, fds[0])) std::_Exit(3);
        // The ClientHello is the first write; the handshake must fail, reporting EPIPE.
        int connected = SSL_connect(ssl);
        int err = errno;
        bool fd_kept = SSL_get_fd(ssl) == fds[0];
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        ::close(fds[0]);
        std::_Exit(connected != 1 && err == EPIPE && fd_kept ? 0 : 4);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace absvc
