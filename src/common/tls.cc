#include "common/tls.h"

#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
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

// A socket BIO that never raises SIGPIPE. The fd lives in the BIO's data; the BIO does not
// own it (the connection closes it after SSL_free).
int SocketFd(BIO* bio) {
  return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio)));
}

bool ShouldRetry(int err) {
  return err == EINTR || err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS ||
         err == EALREADY;
}

int SocketWrite(BIO* bio, const char* data, int len) {
  BIO_clear_retry_flags(bio);
  ssize_t n = ::send(SocketFd(bio), data, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (n < 0 && ShouldRetry(errno)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int SocketRead(BIO* bio, char* buf, int len) {
  BIO_clear_retry_flags(bio);
  if (len <= 0) return 0;
  ssize_t n = ::recv(SocketFd(bio), buf, static_cast<size_t>(len), 0);
  if (n < 0 && ShouldRetry(errno)) BIO_set_retry_read(bio);
  // OpenSSL tells a peer that vanished without close_notify from one that is slow by this.
  if (n == 0) BIO_set_flags(bio, BIO_FLAGS_IN_EOF);
  return static_cast<int>(n);
}

long SocketCtrl(BIO* bio, int cmd, long, void* ptr) {
  switch (cmd) {
    case BIO_C_GET_FD:
      if (ptr) *static_cast<int*>(ptr) = SocketFd(bio);
      return SocketFd(bio);
    case BIO_CTRL_EOF:
      return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0;
    case BIO_CTRL_FLUSH:
    case BIO_CTRL_DUP:
      return 1;
    case BIO_CTRL_GET_CLOSE:
      return BIO_NOCLOSE;
    default:
      return 0;
  }
}

const BIO_METHOD* NoSigpipeSocket() {
  // Created once and kept for the process's life.
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "abs socket");
    if (m) {
      BIO_meth_set_write(m, SocketWrite);
      BIO_meth_set_read(m, SocketRead);
      BIO_meth_set_ctrl(m, SocketCtrl);
      BIO_meth_set_create(m, [](BIO* b) {
        BIO_set_init(b, 1);
        return 1;
      });
    }
    return m;
  }();
  return method;
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

bool AttachSocket(SSL* ssl, int fd) {
  const BIO_METHOD* method = NoSigpipeSocket();
  BIO* bio = method ? BIO_new(method) : nullptr;
  if (!bio) return false;
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  SSL_set_bio(ssl, bio, bio);  // one BIO both ways; SSL_free frees it
  return true;
}

}  // namespace absvc::tls
