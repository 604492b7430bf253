#include "test_certs.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace absvc::testing {
namespace {

EVP_PKEY* NewKey() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) throw std::runtime_error("cannot make a test key");
  return key;
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) throw std::runtime_error("cannot make a test certificate extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* NewCert(EVP_PKEY* key, const std::string& cn, long not_before_s, long not_after_s) {
  static std::atomic<long> serial{1000};
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), not_before_s);
  X509_gmtime_adj(X509_getm_notAfter(cert), not_after_s);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

void WritePem(const std::string& path, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f || PEM_write_X509(f, cert) != 1) throw std::runtime_error("cannot write " + path);
  std::fclose(f);
}

void WriteKey(const std::string& path, EVP_PKEY* key, const std::string& password) {
  FILE* f = std::fopen(path.c_str(), "w");
  bool ok =
      f && (password.empty()
                ? PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr)
                : PEM_write_PKCS8PrivateKey(f, key, EVP_aes_256_cbc(), password.data(),
                                            static_cast<int>(password.size()), nullptr, nullptr));
  if (f) std::fclose(f);
  if (!ok) throw std::runtime_error("cannot write " + path);
}

}  // namespace

std::string RsaPrivateKeyPem() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

struct TestCa::Impl {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  ~Impl() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

TestCa::TestCa(const std::string& dir, const std::string& name)
    : impl_(std::make_unique<Impl>()), dir_(dir), cert_file_(dir + "/" + name + ".pem") {
  impl_->key = NewKey();
  impl_->cert = NewCert(impl_->key, name, -86400, 10 * 86400);
  X509_set_issuer_name(impl_->cert, X509_get_subject_name(impl_->cert));
  AddExtension(impl_->cert, impl_->cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(impl_->cert, impl_->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(impl_->cert, impl_->cert, NID_subject_key_identifier, "hash");
  X509_sign(impl_->cert, impl_->key, EVP_sha256());
  WritePem(cert_file_, impl_->cert);
}

TestCa::~TestCa() = default;

CertFiles TestCa::Issue(const std::string& file, const std::string& common_name, long not_before_s,
                        long not_after_s, const std::string& key_password) const {
  EVP_PKEY* key = NewKey();
  X509* cert = NewCert(key, common_name, not_before_s, not_after_s);
  X509_set_issuer_name(cert, X509_get_subject_name(impl_->cert));
  AddExtension(cert, impl_->cert, NID_basic_constraints, "CA:FALSE");
  AddExtension(cert, impl_->cert, NID_subject_alt_name,
               ("DNS:" + common_name + ",IP:127.0.0.1").c_str());
  AddExtension(cert, impl_->cert, NID_ext_key_usage, "serverAuth,clientAuth");
  X509_sign(cert, impl_->key, EVP_sha256());
  CertFiles out{dir_ + "/" + file + ".pem", dir_ + "/" + file + "-key.pem"};
  WritePem(out.cert, cert);
  WriteKey(out.key, key, key_password);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

std::string TestCa::WriteCrl(const std::string& file, const std::vector<CertFiles>& revoked) const {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);  // v2
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(impl_->cert));
  ASN1_TIME* now = ASN1_TIME_adj(nullptr, std::time(nullptr), 0, -60);
  ASN1_TIME* next = ASN1_TIME_adj(nullptr, std::time(nullptr), 1, 0);
  X509_CRL_set1_lastUpdate(crl, now);
  X509_CRL_set1_nextUpdate(crl, next);
  for (const auto& c : revoked) {
    FILE* f = std::fopen(c.cert.c_str(), "r");
    X509* cert = f ? PEM_read_X509(f, nullptr, nullptr, nullptr) : nullptr;
    if (f) std::fclose(f);
    if (!cert) continue;
    X509_REVOKED* r = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(cert));
    X509_REVOKED_set_revocationDate(r, now);
    X509_CRL_add0_revoked(crl, r);
    X509_free(cert);
  }
  X509_CRL_sort(crl);
  X509_CRL_sign(crl, impl_->key, EVP_sha256());
  std::string path = dir_ + "/" + file + ".pem";
  FILE* out = std::fopen(path.c_str(), "w");
  if (out) {
    PEM_write_X509_CRL(out, crl);
    std::fclose(out);
  }
  ASN1_TIME_free(now);
  ASN1_TIME_free(next);
  X509_CRL_free(crl);
  return path;
}

}  // namespace absvc::testing
