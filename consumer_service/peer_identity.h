// The identity of a gRPC peer's client certificate, as the producer ACL
// (producer_acl.h) names it: the certificate's first URI SAN (a SPIFFE ID
// such as spiffe://prod/orders), else its first DNS SAN, else its subject
// common name. Other SANs (email, IP) are never an identity. Only a
// certificate that the server verified (mutual TLS) has one.
//
// Why this order: a URI SAN is the most specific name a workload identity
// system issues (SPIFFE puts the workload there); a DNS SAN names a host;
// the CN is the legacy fallback that certificates without SANs still use.
// Taking the first of the first kind present means a certificate has one
// identity, not one per name it carries.
//
// Usage:
//   PeerIdentity peer = PeerIdentityOf(*context->auth_context());
//   if (peer.name.empty()) ...  // no verified certificate
#ifndef CONSUMER_SERVICE_PEER_IDENTITY_H_
#define CONSUMER_SERVICE_PEER_IDENTITY_H_

#include <string>

#include "grpcpp/security/auth_context.h"

namespace messaging {

struct PeerIdentity {
  // Empty when the peer presented no certificate with such a name.
  std::string name;
  // Where `name` came from: "URI SAN", "DNS SAN" or "subject CN"; empty
  // with `name`.
  const char* source = "";
};

// Reads gRPC's properties of the verified certificate: "peer_uri" and
// "peer_dns" (one per SAN of that kind, in the certificate's order) and
// "x509_common_name".
PeerIdentity PeerIdentityOf(const grpc::AuthContext& context);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_PEER_IDENTITY_H_
