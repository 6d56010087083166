// The PEM files that set up a service's TLS, as named by its flags: plain
// data, so that option structs can hold them without depending on gRPC.
// MakeServerCredentials/MakeChannelCredentials (tls_credentials.h) turn
// them into credentials.
//
// Usage:
//   TlsFiles files{.certificate = "server.pem", .private_key = "server.key",
//                  .ca = "clients-ca.pem"};
#ifndef COMMON_TLS_FILES_H_
#define COMMON_TLS_FILES_H_

#include <string>

namespace messaging {

struct TlsFiles {
  // This side's certificate chain and private key (PEM).
  std::string certificate;
  std::string private_key;
  // The CA (PEM) that verifies the other side. On the server, setting it
  // requires every client to present a certificate it signed.
  std::string ca;
};

}  // namespace messaging

#endif  // COMMON_TLS_FILES_H_
