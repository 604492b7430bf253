#include "client/secret_agent.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/tls.h"

namespace absvc::client {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kPrefix = "secrets:";

void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

uint32_t GetU32(std::string_view in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<uint8_t>(in[static_cast<size_t>(i)]);
  return v;
}

// One exchange with an agent: a non-blocking socket, every wait bounded by one deadline so
// an agent that never answers, or trickles, cannot hold the caller past the timeout.
class Exchange {
 public:
  Exchange(const SecretAgentOptions& agent, const SecretRef& ref)
      : agent_(agent),
        who_("Secret Agent " + DescribeSecretAgent(agent)),
        what_("resource '" + ref.resource + "' key '" + ref.key + "'"),
        deadline_(Clock::now() + agent.timeout) {}
  ~Exchange() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }

  Status Connect() {
    if (agent_.connection_type == "unix") {
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      if (agent_.address.size() >= sizeof addr.sun_path) {
        return Status::InvalidArgument(who_ + ": the socket path is too long");
      }
      std::memcpy(addr.sun_path, agent_.address.data(), agent_.address.size());
      fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd_ < 0) return Failed("socket", errno);
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
          errno != EINPROGRESS && errno != EAGAIN) {
        return Failed("cannot connect", errno);
      }
    } else {
      addrinfo hints{};
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* found = nullptr;
      int rc = ::getaddrinfo(agent_.address.c_str(), std::to_string(agent_.port).c_str(), &hints,
                             &found);
      if (rc != 0 || !found) {
        return Status::Network(who_ + ": cannot resolve the address: " + ::gai_strerror(rc));
      }
      std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(found, ::freeaddrinfo);
      fd_ = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd_ < 0) return Failed("socket", errno);
      if (::connect(fd_, found->ai_addr, found->ai_addrlen) != 0 && errno != EINPROGRESS) {
        return Failed("cannot connect", errno);
      }
    }
    ABS_RETURN_IF_ERROR(Wait(POLLOUT, "connecting"));
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Failed("cannot connect", err);
    if (!agent_.tls_ca_file.empty()) return StartTls();
    return Status::Ok();
  }

  Status Send(std::string_view data) {
    size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n;
      if (ssl_) {
        ERR_clear_error();
        int w = SSL_write(ssl_, data.data() + sent, static_cast<int>(data.size() - sent));
        if (w <= 0) {
          ABS_RETURN_IF_ERROR(TlsWait(w, "sending the request"));
          continue;
        }
        n = w;
      } else {
        n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
          ABS_RETURN_IF_ERROR(Wait(POLLOUT, "sending the request"));
          continue;
        }
        if (n < 0) return Failed("sending the request failed", errno);
      }
      sent += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Status Receive(char* buf, size_t size) {
    size_t got = 0;
    while (got < size) {
      ssize_t n;
      if (ssl_) {
        ERR_clear_error();
        int r = SSL_read(ssl_, buf + got, static_cast<int>(size - got));
        if (r <= 0) {
          int err = SSL_get_error(ssl_, r);
          if (err == SSL_ERROR_ZERO_RETURN)
            n = 0;
          else {
            ABS_RETURN_IF_ERROR(TlsWait(r, "reading the answer"));
            continue;
          }
        } else {
          n = r;
        }
      } else {
        n = ::recv(fd_, buf + got, size - got, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
          ABS_RETURN_IF_ERROR(Wait(POLLIN, "reading the answer"));
          continue;
        }
        if (n < 0) return Failed("reading the answer failed", errno);
      }
      if (n == 0) {
        return Status::Network(
            who_ + " closed the connection " +
            (got == 0 ? std::string("without answering")
                      : "after " + std::to_string(got) + " of " + std::to_string(size) + " bytes") +
            " (" + what_ + ")");
      }
      got += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  const std::string& who() const { return who_; }
  const std::string& what() const { return what_; }

 private:
  Status Failed(const std::string& doing, int err) const {
    return Status::Network(who_ + ": " + doing + ": " + std::strerror(err) + " (" + what_ + ")");
  }

  Status Wait(short events, const char* doing) {
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
      if (left.count() <= 0) {
        return Status::Timeout(who_ + " did not answer within " +
                               std::to_string(agent_.timeout.count()) + " ms (" + doing + ", " +
                               what_ + ")");
      }
      pollfd p{fd_, events, 0};
      int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n > 0) return Status::Ok();
      if (n < 0 && errno != EINTR) return Failed("poll", errno);
    }
  }

  Status TlsWait(int rc, const char* doing) {
    int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ) return Wait(POLLIN, doing);
    if (err == SSL_ERROR_WANT_WRITE) return Wait(POLLOUT, doing);
    long verify = SSL_get_verify_result(ssl_);
    return Status::Network(
        who_ + ": TLS failed while " + doing + ": " +
        (verify != X509_V_OK ? X509_verify_cert_error_string(verify) : tls::OpenSslErrors()) +
        " (" + what_ + ")");
  }

  Status StartTls() {
    ERR_clear_error();
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) return Status::Internal(who_ + ": cannot create a TLS context");
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(ctx_, agent_.tls_ca_file.c_str(), nullptr) != 1) {
      return Status::InvalidArgument(who_ + ": cannot load ca-file " + agent_.tls_ca_file + ": " +
                                     tls::OpenSslErrors());
    }
    // An encrypted key-file fails here with a clear error instead of OpenSSL asking for
    // its password on the terminal.
    SSL_CTX_set_default_passwd_cb(ctx_, [](char*, int, int, void*) { return 0; });
    if (!agent_.tls_cert_file.empty() &&
        (SSL_CTX_use_certificate_chain_file(ctx_, agent_.tls_cert_file.c_str()) != 1 ||
         SSL_CTX_use_PrivateKey_file(ctx_, agent_.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
         SSL_CTX_check_private_key(ctx_) != 1)) {
      return Status::InvalidArgument(who_ + ": cannot use cert-file " + agent_.tls_cert_file +
                                     " with key-file " + agent_.tls_key_file + ": " +
                                     tls::OpenSslErrors());
    }
    ssl_ = SSL_new(ctx_);
    if (!ssl_ || !tls::AttachSocket(ssl_, fd_)) {
      return Status::Internal(who_ + ": cannot start TLS: " + tls::OpenSslErrors());
    }
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    const std::string& name = agent_.tls_name.empty() ? agent_.address : agent_.tls_name;
    in6_addr ip{};
    if (::inet_pton(AF_INET, name.c_str(), &ip) == 1 ||
        ::inet_pton(AF_INET6, name.c_str(), &ip) == 1) {
      X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
      SSL_set_tlsext_host_name(ssl_, name.c_str());
    }
    while (true) {
      ERR_clear_error();
      int rc = SSL_connect(ssl_);
      if (rc == 1) return Status::Ok();
      ABS_RETURN_IF_ERROR(TlsWait(rc, "the TLS handshake"));
    }
  }

  const SecretAgentOptions& agent_;
  const std::string who_, what_;
  const Clock::time_point deadline_;
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

}  // namespace

bool IsSecretRef(std::string_view value) {
  return value.substr(0, kPrefix.size()) == kPrefix;
}

Result<SecretRef> ParseSecretRef(std::string_view value) {
  if (!IsSecretRef(value)) {
    return Status::InvalidArgument("a Secret Agent reference starts with 'secrets:'");
  }
  std::string_view rest = value.substr(kPrefix.size());
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size() ||
      rest.find(':', colon + 1) != std::string_view::npos) {
    return Status::InvalidArgument(
        "a Secret Agent reference is secrets:<resource>:<key>, both parts given and neither "
        "holding ':'");
  }
  return SecretRef{std::string(rest.substr(0, colon)), std::string(rest.substr(colon + 1))};
}

std::string EncodeSecretRequest(const SecretRef& ref) {
  std::string body = nlohmann::json{{"Resource", ref.resource}, {"SecretKey", ref.key}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(kSecretAgentHeaderSize + body.size());
  PutU32(out, kSecretAgentMagic);
  PutU32(out, static_cast<uint32_t>(body.size()));
  out += body;
  return out;
}

Result<size_t> DecodeSecretAnswerHeader(std::string_view header) {
  if (header.size() != kSecretAgentHeaderSize) {
    return Status::Corrupt("a Secret Agent header is 8 bytes, got " +
                           std::to_string(header.size()));
  }
  uint32_t magic = GetU32(header);
  if (magic != kSecretAgentMagic) {
    return Status::Corrupt(
        "the answer does not start with the Secret Agent magic number (is it "
        "a Secret Agent?)");
  }
  size_t length = GetU32(header.substr(4));
  if (length > kMaxSecretAgentAnswer) {
    return Status::Corrupt("the answer announces " + std::to_string(length) +
                           " bytes, more than the " + std::to_string(kMaxSecretAgentAnswer >> 10) +
                           " KiB a secret may take");
  }
  if (length == 0) return Status::Corrupt("the answer is empty");
  return length;
}

Result<std::string> DecodeSecretAnswer(std::string_view body, bool is_base64) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Corrupt("the answer is not a JSON object");
  }
  if (auto e = j.find("Error"); e != j.end() && e->is_string() && !e->get<std::string>().empty()) {
    std::string why = e->get<std::string>();
    if (why.size() > 200) why = why.substr(0, 200) + "...";
    return Status::NotFound("the agent answered: " + why);
  }
  auto v = j.find("SecretValue");
  if (v == j.end() || !v->is_string()) {
    return Status::Corrupt("the answer has neither a SecretValue string nor an Error");
  }
  std::string value = v->get<std::string>();
  if (is_base64) {
    auto decoded = Base64Decode(value);
    if (!decoded) return Status::Corrupt("the SecretValue is not base64 (is-base64 is set)");
    value = std::move(*decoded);
  }
  if (value.empty()) return Status::Corrupt("the secret is empty");
  return value;
}

std::string DescribeSecretAgent(const SecretAgentOptions& agent) {
  if (agent.connection_type == "unix") return "unix " + agent.address;
  return (agent.tls_ca_file.empty() ? "tcp " : "tcp+tls ") + agent.address + ":" +
         std::to_string(agent.port);
}

Result<std::string> FetchSecret(const SecretAgentOptions& agent, const SecretRef& ref) {
  Exchange x(agent, ref);
  ABS_RETURN_IF_ERROR(x.Connect());
  ABS_RETURN_IF_ERROR(x.Send(EncodeSecretRequest(ref)));
  char header[kSecretAgentHeaderSize];
  ABS_RETURN_IF_ERROR(x.Receive(header, sizeof header));
  auto length = DecodeSecretAnswerHeader(std::string_view(header, sizeof header));
  if (!length.ok()) {
    return Status(length.status().code(),
                  x.who() + ": " + length.status().message() + " (" + x.what() + ")");
  }
  std::string body(*length, '\0');
  ABS_RETURN_IF_ERROR(x.Receive(body.data(), body.size()));
  auto secret = DecodeSecretAnswer(body, agent.is_base64);
  if (!secret.ok()) {
    return Status(secret.status().code(),
                  x.who() + ": " + secret.status().message() + " (" + x.what() + ")");
  }
  return secret;
}

}  // namespace absvc::client
