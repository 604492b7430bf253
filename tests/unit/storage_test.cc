#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "common/bytes.h"
#include "storage/codec.h"
#include "storage/local/local_storage.h"
#include "storage/storage.h"

namespace absvc::storage {
namespace {

namespace fs = std::filesystem;

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("abs-storage-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    auto s = OpenLocalStorage(root_.string());
    ASSERT_TRUE(s.ok());
    storage_ = std::move(s).value();
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
  std::unique_ptr<Storage> storage_;
};

TEST_F(StorageTest, WritesBecomeVisibleOnlyWhenClosed) {
  auto w = storage_->OpenWriter("a/b/file.asb");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("hello").ok());
  EXPECT_TRUE(storage_->List("a")->empty()) << "an unfinished write is not listed";
  EXPECT_FALSE(*storage_->Exists("a/b/file.asb"));
  ASSERT_TRUE((*w)->Close().ok());
  auto list = storage_->List("a");
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].path, "a/b/file.asb");
  EXPECT_EQ((*list)[0].size, 5u);
  EXPECT_EQ(*storage_->ReadAll("a/b/file.asb"), "hello");
  EXPECT_EQ(fs::status(root_ / "a/b/file.asb").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  {
    auto abandoned = storage_->OpenWriter("a/gone.asb");
    ASSERT_TRUE((*abandoned)->Write("partial").ok());
  }  // destroyed without Close: nothing remains
  EXPECT_EQ(storage_->List("")->size(), 1u);
  ASSERT_TRUE(storage_->Remove("a/").ok());
  EXPECT_TRUE(storage_->List("")->empty());
}

// What a writer killed mid-write leaves (its temporary file, never listed) is removed on
// request, and only under the prefix given; complete files stay.
TEST_F(StorageTest, UnfinishedWritesOfADeadWriterAreRemoved) {
  ASSERT_TRUE(storage_->PutAtomic("run/done.asb", "complete").ok());
  ASSERT_TRUE(storage_->PutAtomic("other/done.asb", "complete").ok());
  std::ofstream(root_ / "run" / "cut.asb.abs-partial-123") << "half";
  std::ofstream(root_ / "other" / "cut.asb.abs-partial-456") << "half";
  EXPECT_EQ(storage_->List("run")->size(), 1u) << "never listed";
  ASSERT_TRUE(storage_->RemoveUnfinishedWrites("run").ok());
  EXPECT_FALSE(fs::exists(root_ / "run" / "cut.asb.abs-partial-123"));
  EXPECT_TRUE(fs::exists(root_ / "run" / "done.asb"));
  EXPECT_TRUE(fs::exists(root_ / "other" / "cut.asb.abs-partial-456")) << "outside the prefix";
  EXPECT_TRUE(storage_->RemoveUnfinishedWrites("nothing-here").ok());
  EXPECT_FALSE(storage_->RemoveUnfinishedWrites("../escape").ok());
}

TEST_F(StorageTest, RejectsPathsThatLeaveTheRoot) {
  for (const char* bad : {"/etc/passwd", "../x", "a/../../x", "a//b", ""}) {
    EXPECT_FALSE(storage_->OpenWriter(bad).ok()) << bad;
    EXPECT_FALSE(storage_->OpenReader(bad).ok()) << bad;
  }
  EXPECT_EQ(storage_->OpenReader("missing").status().code(), StatusCode::kNotFound);
}

std::string RandomText(size_t n) {
  std::mt19937 rng(7);
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>('a' + rng() % 8);  // compressible
  return s;
}

std::string ReadThrough(std::unique_ptr<Reader> r, size_t chunk, Status* st) {
  std::string out(chunk, '\0'), all;
  while (true) {
    auto n = r->Read(out.data(), out.size());
    if (!n.ok()) {
      *st = n.status();
      return all;
    }
    if (*n == 0) return all;
    all.append(out.data(), *n);
  }
}

class CodecTest : public StorageTest, public ::testing::WithParamInterface<int> {};

TEST_P(CodecTest, RoundTripsThroughEveryCombination) {
  CodecOptions c;
  int mode = GetParam();
  c.compression = mode & 1 ? Compression::kZstd : Compression::kNone;
  c.encryption =
      mode & 2 ? Encryption::kAes128 : (mode & 4 ? Encryption::kAes256 : Encryption::kNone);
  c.key = std::string(c.encryption == Encryption::kAes128 ? 16 : 32, '\x5a');
  std::string text = RandomText(300000);
  HashingWriter* hash = nullptr;
  auto w = EncodeWriter(*storage_->OpenWriter("f.asb"), c, &hash);
  for (size_t off = 0; off < text.size(); off += 7777)
    ASSERT_TRUE(w->Write(text.substr(off, 7777)).ok());
  ASSERT_TRUE(w->Close().ok());
  auto size = (*storage_->List("f.asb"))[0].size;
  EXPECT_EQ(hash->bytes_written(), size);
  EXPECT_EQ(hash->sha256_hex().size(), 64u);
  if (c.compression == Compression::kZstd) {
    EXPECT_LT(size, text.size() / 2);
  }
  if (c.encryption != Encryption::kNone && c.compression == Compression::kNone) {
    EXPECT_EQ(size, text.size() + 16) << "a 16-byte IV block, then the CTR stream";
  }
  for (size_t chunk : {1u, 100u, 65536u}) {
    Status st;
    std::string back =
        ReadThrough(DecodeReader(*storage_->OpenReader("f.asb"), c, "f.asb"), chunk, &st);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(back, text);
  }
}
INSTANTIATE_TEST_SUITE_P(AllCodecs, CodecTest, ::testing::Values(0, 1, 2, 3, 4, 5));

TEST_F(StorageTest, AesFileStartsWithTheEncryptedCounterBeforeTheFirstBlock) {
  // ABS/asbackup layout: block 0 = AES-ECB(K, IV0 - 1); data follows in CTR from IV0.
  std::string key(16, '\x11');
  CodecOptions c;
  c.encryption = Encryption::kAes128;
  c.key = key;
  HashingWriter* hash;
  auto w = EncodeWriter(*storage_->OpenWriter("e"), c, &hash);
  std::string plain(48, 'p');
  ASSERT_TRUE(w->Write(plain).ok());
  ASSERT_TRUE(w->Close().ok());
  std::string file = *storage_->ReadAll("e");
  ASSERT_EQ(file.size(), 64u);
  unsigned char iv[16];
  int n = 0;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_DecryptInit_ex(ctx, EVP_aes_128_ecb(), nullptr,
                     reinterpret_cast<const unsigned char*>(key.data()), nullptr);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  EVP_DecryptUpdate(ctx, iv, &n, reinterpret_cast<const unsigned char*>(file.data()), 16);
  EVP_CIPHER_CTX_free(ctx);
  for (int i = 15; i >= 0 && ++iv[i] == 0; --i) {
  }
  std::string out(48, '\0');
  ctx = EVP_CIPHER_CTX_new();
  EVP_DecryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr,
                     reinterpret_cast<const unsigned char*>(key.data()), iv);
  EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &n,
                    reinterpret_cast<const unsigned char*>(file.data() + 16), 48);
  EVP_CIPHER_CTX_free(ctx);
  EXPECT_EQ(out, plain);
}

TEST_F(StorageTest, WrongCodecsAndTruncationGiveClearErrors) {
  CodecOptions zstd;
  zstd.compression = Compression::kZstd;
  HashingWriter* hash;
  auto w = EncodeWriter(*storage_->OpenWriter("z"), zstd, &hash);
  ASSERT_TRUE(w->Write(RandomText(100000)).ok());
  ASSERT_TRUE(w->Close().ok());
  std::string full = *storage_->ReadAll("z");
  ASSERT_TRUE(storage_->PutAtomic("cut", full.substr(0, full.size() / 2)).ok());
  Status st;
  ReadThrough(DecodeReader(*storage_->OpenReader("cut"), zstd, "cut"), 4096, &st);
  EXPECT_EQ(st.code(), StatusCode::kCorrupt);
  EXPECT_NE(st.message().find("cut"), std::string::npos) << st.ToString();
  ASSERT_TRUE(storage_->PutAtomic("plain", "Version 3.1\n").ok());
  st = Status::Ok();
  ReadThrough(DecodeReader(*storage_->OpenReader("plain"), zstd, "plain"), 4096, &st);
  EXPECT_EQ(st.code(), StatusCode::kCorrupt);
  CodecOptions enc = zstd;
  enc.encryption = Encryption::kAes256;
  enc.key = std::string(32, 'k');
  w = EncodeWriter(*storage_->OpenWriter("ez"), enc, &hash);
  ASSERT_TRUE(w->Write(RandomText(1000)).ok());
  ASSERT_TRUE(w->Close().ok());
  CodecOptions wrong_key = enc;
  wrong_key.key = std::string(32, 'x');
  st = Status::Ok();
  ReadThrough(DecodeReader(*storage_->OpenReader("ez"), wrong_key, "ez"), 4096, &st);
  EXPECT_EQ(st.code(), StatusCode::kCorrupt);
  EXPECT_NE(st.message().find("encryption key"), std::string::npos) << st.ToString();
}

TEST(KeyDerivation, Pkcs1AndPkcs8OfOneKeyGiveTheSameAesKey) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  ASSERT_NE(key, nullptr);
  auto pem = [&](bool pkcs8) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (pkcs8) {
      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    } else {
      PEM_write_bio_PrivateKey_traditional(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    }
    char* data;
    long len = BIO_get_mem_data(bio, &data);
    std::string s(data, static_cast<size_t>(len));
    BIO_free(bio);
    return s;
  };
  std::string p1 = pem(false), p8 = pem(true);
  EXPECT_NE(p1.find("BEGIN RSA PRIVATE KEY"), std::string::npos);
  EXPECT_NE(p8.find("BEGIN PRIVATE KEY"), std::string::npos);
  auto k1 = DeriveKeyFromPem(p1, Encryption::kAes256);
  auto k8 = DeriveKeyFromPem(p8, Encryption::kAes256);
  ASSERT_TRUE(k1.ok() && k8.ok());
  EXPECT_EQ(*k1, *k8);
  EXPECT_EQ(k1->size(), 32u);
  auto k128 = DeriveKeyFromPem(p1, Encryption::kAes128);
  EXPECT_EQ(*k128, k1->substr(0, 16));
  // The digest is SHA-256 of the PKCS#1 DER.
  unsigned char* der = nullptr;
  int len = i2d_PrivateKey(key, &der);
  unsigned char md[32];
  unsigned int mdlen;
  EVP_Digest(der, static_cast<size_t>(len), md, &mdlen, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  EXPECT_EQ(*k1, std::string(reinterpret_cast<char*>(md), 32));
  EVP_PKEY_free(key);
  EXPECT_FALSE(DeriveKeyFromPem("not a key", Encryption::kAes128).ok());
}

}  // namespace
}  // namespace absvc::storage
