#include "http/https_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/tls.h"

namespace absvc::service {
namespace {

// Refuses, with the reason, a certificate file whose first certificate is not valid now:
// serving an expired certificate would fail every client with a less helpful message.
Status CheckValidNow(SSL_CTX* ctx, const std::string& file) {
  X509* cert = SSL_CTX_get0_certificate(ctx);
  if (!cert)
    return Status::InvalidArgument("service.https.cert-file: " + file + " holds no certificate");
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
    return Status::InvalidArgument("service.https.cert-file: the certificate in " + file +
                                   " has expired");
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) {
    return Status::InvalidArgument("service.https.cert-file: the certificate in " + file +
                                   " is not valid yet");
  }
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<HttpsContext>> HttpsContext::Create(const HttpsConfig& config,
                                                           std::chrono::milliseconds recheck) {
  std::shared_ptr<HttpsContext> out(new HttpsContext(config, recheck));
  out->loaded_ = out->Look();
  auto ctx = Build(config);
  if (!ctx.ok()) return ctx.status();
  out->current_ = std::move(ctx).value();
  out->next_look_ = std::chrono::steady_clock::now() + recheck;
  return out;
}

namespace {

// Adds every CRL in the PEM file to the context's store and makes each client
// certificate (and its chain) be checked against them: a CA without a CRL here then fails
// verification, so the file must hold one for every CA that issues client certificates.
Status UseRevocationLists(SSL_CTX* ctx, const std::string& path) {
  std::unique_ptr<BIO, decltype(&BIO_free)> in(BIO_new_file(path.c_str(), "r"), BIO_free);
  if (!in) {
    return Status::InvalidArgument("service.https.crl-file: cannot open " + path + ": " +
                                   tls::OpenSslErrors());
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int loaded = 0;
  while (X509_CRL* crl = PEM_read_bio_X509_CRL(in.get(), nullptr, nullptr, nullptr)) {
    int added = X509_STORE_add_crl(store, crl);
    X509_CRL_free(crl);
    if (added != 1) {
      return Status::InvalidArgument("service.https.crl-file: " + path + ": " +
                                     tls::OpenSslErrors());
    }
    ++loaded;
  }
  // The end of the file reads as "no start line"; anything else is a damaged list.
  const unsigned long last = ERR_peek_last_error();
  if (last != 0 && ERR_GET_REASON(last) != PEM_R_NO_START_LINE) {
    return Status::InvalidArgument("service.https.crl-file: " + path + ": list " +
                                   std::to_string(loaded + 1) +
                                   " is damaged: " + tls::OpenSslErrors());
  }
  ERR_clear_error();
  if (loaded == 0) {
    return Status::InvalidArgument("service.https.crl-file: " + path +
                                   " holds no PEM certificate revocation list");
  }
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<SSL_CTX>> HttpsContext::Build(const HttpsConfig& c) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return Status::Internal("cannot create a TLS context: " + tls::OpenSslErrors());
  SSL_CTX_set_min_proto_version(ctx.get(),
                                c.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  // No renegotiation: the event loop never has a write wait on a read. An EOF without
  // close_notify is an ordinary close, as browsers and curl often do.
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                     SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), c.cert_file.c_str()) != 1) {
    return Status::InvalidArgument("service.https.cert-file: cannot load " + c.cert_file + ": " +
                                   tls::OpenSslErrors());
  }
  ABS_RETURN_IF_ERROR(CheckValidNow(ctx.get(), c.cert_file));
  ABS_RETURN_IF_ERROR(
      tls::UsePrivateKey(ctx.get(), c.key_file, c.key_file_password, "service.https.key-file"));
  ABS_RETURN_IF_ERROR(
      tls::SetCipherSuites(ctx.get(), c.cipher_suites, "service.https.cipher-suites"));
  if (c.client_auth != "none") {
    if (SSL_CTX_load_verify_locations(ctx.get(), c.client_ca_file.c_str(), nullptr) != 1) {
      return Status::InvalidArgument("service.https.client-ca-file: cannot load " +
                                     c.client_ca_file + ": " + tls::OpenSslErrors());
    }
    // The CA's names are sent to clients so they pick the right certificate.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(c.client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(ctx.get(), names);
    }
    if (!c.crl_file.empty()) ABS_RETURN_IF_ERROR(UseRevocationLists(ctx.get(), c.crl_file));
    int mode = SSL_VERIFY_PEER;
    if (c.client_auth == "require-and-verify") mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx.get(), mode, nullptr);
  }
  ERR_clear_error();
  return ctx;
}

HttpsContext::Stamps HttpsContext::Look() const {
  auto stamp = [](const std::string& path) {
    FileStamp s;
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0) return s;
    s.dev = st.st_dev;
    s.ino = st.st_ino;
    s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    s.size = st.st_size;
    return s;
  };
  return {stamp(config_.cert_file), stamp(config_.key_file),
          config_.client_auth == "none" ? FileStamp{} : stamp(config_.client_ca_file),
          stamp(config_.crl_file)};
}

std::shared_ptr<SSL_CTX> HttpsContext::Current() {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (now < next_look_) return current_;
  next_look_ = now + recheck_;
  Stamps stamps = Look();
  if (stamps == loaded_ || stamps == last_failed_) return current_;
  auto rebuilt = Build(config_);
  if (!rebuilt.ok()) {
    // A certificate and its key are seldom replaced in one step: the next change (the
    // other file arriving) is tried again.
    last_failed_ = stamps;
    ++failed_reloads_;
    ABS_LOG_WARN("https: keeping the current certificate: {}", rebuilt.status().message());
    return current_;
  }
  current_ = std::move(rebuilt).value();
  loaded_ = stamps;
  last_failed_ = {};
  ++reloads_;
  ABS_LOG_INFO("https: certificate files changed; now serving {}", config_.cert_file);
  return current_;
}

uint64_t HttpsContext::reloads() const {
  std::lock_guard lock(mu_);
  return reloads_;
}

uint64_t HttpsContext::failed_reloads() const {
  std::lock_guard lock(mu_);
  return failed_reloads_;
}

}  // namespace absvc::service
