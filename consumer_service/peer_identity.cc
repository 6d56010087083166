#include "consumer_service/peer_identity.h"

#include <vector>

#include "grpc/grpc_security_constants.h"

namespace messaging {

PeerIdentity PeerIdentityOf(const grpc::AuthContext& context) {
  // An unverified certificate carries no properties to trust.
  if (!context.IsPeerAuthenticated()) return PeerIdentity{};
  const struct {
    const char* property;
    const char* source;
  } kinds[] = {
      {GRPC_PEER_URI_PROPERTY_NAME, "URI SAN"},
      {GRPC_PEER_DNS_PROPERTY_NAME, "DNS SAN"},
      {GRPC_X509_CN_PROPERTY_NAME, "subject CN"},
  };
  for (const auto& kind : kinds) {
    const std::vector<grpc::string_ref> values =
        context.FindPropertyValues(kind.property);
    if (!values.empty() && !values.front().empty()) {
      return PeerIdentity{
          std::string(values.front().data(), values.front().size()),
          kind.source};
    }
  }
  return PeerIdentity{};
}

}  // namespace messaging
