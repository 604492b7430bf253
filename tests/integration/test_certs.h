// Certificates for TLS tests, made with OpenSSL in the test itself: a CA, and leaf
// certificates it signs, valid for a chosen window (an expired one included), written as
// PEM files. EC P-256 keys, so making them is quick.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace absvc::testing {

struct CertFiles {
  std::string cert, key;
};

// A fresh 2048-bit RSA private key in PEM (what abs derives backup encryption keys from).
std::string RsaPrivateKeyPem();

class TestCa {
 public:
  // A self-signed CA named `name`, written to dir/<name>.pem (its key stays in memory).
  TestCa(const std::string& dir, const std::string& name);
  ~TestCa();
  const std::string& cert_file() const { return cert_file_; }

  // A certificate for `common_name` (also its DNS name, and IP 127.0.0.1), valid from
  // now + not_before_s to now + not_after_s, written to dir/<file>.pem and
  // dir/<file>-key.pem; the key encrypted with `key_password` when one is given.
  CertFiles Issue(const std::string& file, const std::string& common_name,
                  long not_before_s = -3600, long not_after_s = 86400,
                  const std::string& key_password = "") const;
  // A certificate revocation list of this CA revoking `revoked` (certificates it issued),
  // written to dir/<file>.pem in PEM; returns its path.
  std::string WriteCrl(const std::string& file, const std::vector<CertFiles>& revoked) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string dir_, cert_file_;
};

}  // namespace absvc::testing
