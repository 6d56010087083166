// gRPC credentials from PEM files named by flags: TLS and mutual TLS for
// both services, plaintext when no file is given.
//
// Usage:
//   TlsFiles files{.certificate = "server.pem", .private_key = "server.key",
//                  .ca = "clients-ca.pem"};  // ca set: require client certs
//   absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
//       MakeServerCredentials(files);
#ifndef COMMON_TLS_CREDENTIALS_H_
#define COMMON_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/tls_files.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace messaging {

// Plaintext when `files` is empty; TLS with `certificate`/`private_key`,
// and mutual TLS when `ca` is set too. INVALID_ARGUMENT naming the flag of
// a file that is missing, unreadable, or given without its pair.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files);

// Plaintext unless `use_tls`; then the server is verified with `ca` (the
// system's roots when empty) and `certificate`/`private_key`, when set,
// are presented for mutual TLS.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(bool use_tls, const TlsFiles& files);

}  // namespace messaging

#endif  // COMMON_TLS_CREDENTIALS_H_
