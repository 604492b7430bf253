// The TLS side of absd's HTTPS listener: an OpenSSL server context built from
// service.https, rebuilt when the certificate, key or client CA files change so a renewed
// certificate is served without a restart. A change that does not load (a half-written
// file, a key that does not match) keeps the last good context and is logged once.
#pragma once

#include <openssl/ssl.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "config/config.h"

namespace absvc::service {

class HttpsContext {
 public:
  // Loads the files once; an error names the field and file, never the key password.
  // Changes are looked for at most once per `recheck` (zero: on every Current()).
  static Result<std::shared_ptr<HttpsContext>> Create(
      const HttpsConfig& config, std::chrono::milliseconds recheck = std::chrono::seconds(1));

  // The context a new connection uses. Thread-safe.
  std::shared_ptr<SSL_CTX> Current();

  uint64_t reloads() const;         // contexts rebuilt after a file changed
  uint64_t failed_reloads() const;  // changes that did not load

 private:
  struct FileStamp {
    dev_t dev = 0;
    ino_t ino = 0;
    int64_t mtime_ns = 0;
    off_t size = -1;
    bool operator==(const FileStamp&) const = default;
  };
  struct Stamps {
    FileStamp cert, key, ca, crl;
    bool operator==(const Stamps&) const = default;
  };
  explicit HttpsContext(HttpsConfig config, std::chrono::milliseconds recheck)
      : config_(std::move(config)), recheck_(recheck) {}
  Stamps Look() const;
  static Result<std::shared_ptr<SSL_CTX>> Build(const HttpsConfig& config);

  const HttpsConfig config_;
  const std::chrono::milliseconds recheck_;
  mutable std::mutex mu_;
  std::shared_ptr<SSL_CTX> current_;
  Stamps loaded_, last_failed_;
  std::chrono::steady_clock::time_point next_look_;
  uint64_t reloads_ = 0, failed_reloads_ = 0;
};

}  // namespace absvc::service
