#include "common/tls.h"

#include <openssl/err.h>

#include <cstring>
#include <map>
#include <memory>

namespace absvc::tls {
namespace {

int PasswordCallback(char* buf, int size, int, void* userdata) {
  const auto* password = static_cast<const std::string*>(userdata);
  int n = static_cast<int>(std::min<size_t>(password->size(), static_cast<size_t>(size)));
  std::memcpy(buf, password->data(), static_cast<size_t>(n));
  return n;
}

struct Suite {
  std::string openssl_name;
  bool tls13 = false;
};

// Every suite this OpenSSL knows, by IANA name.
const std::map<std::string, Suite>& Suites() {
  static const std::map<std::string, Suite> suites = [] {
    std::map<std::string, Suite> out;
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_method()), SSL_CTX_free);
    if (!ctx || SSL_CTX_set_cipher_list(ctx.get(), "ALL:COMPLEMENTOFALL") != 1) {
      ERR_clear_error();
      return out;
    }
    STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(ctx.get());
    for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
      const char* standard = SSL_CIPHER_standard_name(c);
      if (!standard) continue;
      out[standard] = {SSL_CIPHER_get_name(c),
                       std::strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") == 0};
    }
    return out;
  }();
  return suites;
}

}  // namespace

std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

Status UsePrivateKey(SSL_CTX* ctx, const std::string& key_file, const std::string& password,
                     const std::string& what) {
  ERR_clear_error();
  SSL_CTX_set_default_passwd_cb(ctx, PasswordCallback);
  SSL_CTX_set_default_passwd_cb_userdata(ctx, const_cast<std::string*>(&password));
  bool loaded = SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) == 1;
  SSL_CTX_set_default_passwd_cb_userdata(ctx, nullptr);
  if (!loaded) {
    std::string why = OpenSslErrors();
    if (why.find("key values mismatch") != std::string::npos) {
      return Status::InvalidArgument(what + ": key " + key_file +
                                     " does not belong to the certificate");
    }
    if (why.find("bad decrypt") != std::string::npos ||
        why.find("maybe wrong password") != std::string::npos) {
      why = password.empty() ? "the key is encrypted and no password was given"
                             : "the password does not decrypt it";
    }
    return Status::InvalidArgument(what + ": cannot load key " + key_file + ": " + why);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument(what + ": key " + key_file +
                                   " does not belong to the certificate");
  }
  return Status::Ok();
}

bool KnownCipherSuite(const std::string& iana_name) {
  return Suites().count(iana_name) > 0;
}

Status SetCipherSuites(SSL_CTX* ctx, const std::vector<std::string>& iana_names,
                       const std::string& what) {
  std::string tls12, tls13;
  for (const auto& name : iana_names) {
    auto it = Suites().find(name);
    if (it == Suites().end()) {
      return Status::InvalidArgument(what + ": unknown cipher suite '" + name + "'");
    }
    std::string& list = it->second.tls13 ? tls13 : tls12;
    if (!list.empty()) list += ':';
    list += it->second.openssl_name;
  }
  if (!tls12.empty() && SSL_CTX_set_cipher_list(ctx, tls12.c_str()) != 1) {
    return Status::InvalidArgument(what + ": cannot use cipher suites " + tls12 + ": " +
                                   OpenSslErrors());
  }
  if (!tls13.empty() && SSL_CTX_set_ciphersuites(ctx, tls13.c_str()) != 1) {
    return Status::InvalidArgument(what + ": cannot use cipher suites " + tls13 + ": " +
                                   OpenSslErrors());
  }
  return Status::Ok();
}

}  // namespace absvc::tls
