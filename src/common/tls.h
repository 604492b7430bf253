// OpenSSL pieces every TLS user in abs shares: error text, private keys that may be
// encrypted, and cipher suites named the way operators write them (IANA names, as Go and
// the original service take them) rather than OpenSSL's own names.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace absvc::tls {

// The calling thread's OpenSSL error queue as text, which it empties.
std::string OpenSslErrors();

// Loads the PEM private key in `key_file` into `ctx` (decrypted with `password` when it is
// encrypted, PKCS#8 or traditional) and checks it matches the certificate already loaded.
// Errors name `what` and the file, never the password.
Status UsePrivateKey(SSL_CTX* ctx, const std::string& key_file, const std::string& password,
                     const std::string& what);

// Restricts `ctx` to the named suites: TLS 1.2 ones ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
// and TLS 1.3 ones ("TLS_AES_128_GCM_SHA256"); a version none are named for keeps its
// defaults. An unknown name is an error naming it.
Status SetCipherSuites(SSL_CTX* ctx, const std::vector<std::string>& iana_names,
                       const std::string& what);

// True when `name` is a cipher suite this OpenSSL offers.
bool KnownCipherSuite(const std::string& iana_name);

// Connects `ssl` to the socket `fd` (which it does not own) the way SSL_set_fd does, except
// that writes use MSG_NOSIGNAL: a peer that closes mid-write is an error on that connection,
// never a SIGPIPE that kills a process which left the signal at its default (tests, and any
// program linking these libraries). Returns false, with OpenSSL's error queue set, on failure.
bool AttachSocket(SSL* ssl, int fd);

}  // namespace absvc::tls
