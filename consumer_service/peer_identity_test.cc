// The identity rule on AuthContexts made here; tests/producer_acl_test.cc
// checks it against what gRPC makes of real certificates.
#include "consumer_service/peer_identity.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "grpc/grpc_security_constants.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

// AuthPropertyIterator's default constructor is for subclasses only.
struct NoProperties : grpc::AuthPropertyIterator {};

// An AuthContext with the given properties, in order.
class FakeAuthContext final : public grpc::AuthContext {
 public:
  FakeAuthContext(bool authenticated,
                  std::vector<std::pair<std::string, std::string>> properties)
      : authenticated_(authenticated), properties_(std::move(properties)) {}

  bool IsPeerAuthenticated() const override { return authenticated_; }
  std::vector<grpc::string_ref> GetPeerIdentity() const override { return {}; }
  std::string GetPeerIdentityPropertyName() const override { return ""; }
  std::vector<grpc::string_ref> FindPropertyValues(
      const std::string& name) const override {
    std::vector<grpc::string_ref> values;
    for (const auto& [key, value] : properties_) {
      if (key == name) values.emplace_back(value);
    }
    return values;
  }
  // Not used by PeerIdentityOf.
  grpc::AuthPropertyIterator begin() const override { return NoProperties(); }
  grpc::AuthPropertyIterator end() const override { return NoProperties(); }
  void AddProperty(const std::string&, const grpc::string_ref&) override {}
  bool SetPeerIdentityPropertyName(const std::string&) override {
    return false;
  }

 private:
  const bool authenticated_;
  const std::vector<std::pair<std::string, std::string>> properties_;
};

TEST(PeerIdentityTest, FirstUriSanComesFirst) {
  const PeerIdentity peer = PeerIdentityOf(FakeAuthContext(
      true, {{GRPC_X509_CN_PROPERTY_NAME, "cn"},
             {GRPC_PEER_DNS_PROPERTY_NAME, "host.test"},
             {GRPC_PEER_URI_PROPERTY_NAME, "spiffe://test/a"},
             {GRPC_PEER_URI_PROPERTY_NAME, "spiffe://test/b"}}));
  EXPECT_EQ(peer.name, "spiffe://test/a");
  EXPECT_STREQ(peer.source, "URI SAN");
}

TEST(PeerIdentityTest, ThenFirstDnsSan) {
  const PeerIdentity peer = PeerIdentityOf(
      FakeAuthContext(true, {{GRPC_X509_CN_PROPERTY_NAME, "cn"},
                             {GRPC_PEER_EMAIL_PROPERTY_NAME, "a@test"},
                             {GRPC_PEER_DNS_PROPERTY_NAME, "first.test"},
                             {GRPC_PEER_DNS_PROPERTY_NAME, "second.test"}}));
  EXPECT_EQ(peer.name, "first.test");
  EXPECT_STREQ(peer.source, "DNS SAN");
}

TEST(PeerIdentityTest, ThenCommonName) {
  const PeerIdentity peer = PeerIdentityOf(
      FakeAuthContext(true, {{GRPC_X509_CN_PROPERTY_NAME, "mallory"},
                             {GRPC_PEER_IP_PROPERTY_NAME, "127.0.0.1"}}));
  EXPECT_EQ(peer.name, "mallory");
  EXPECT_STREQ(peer.source, "subject CN");
}

TEST(PeerIdentityTest, NoneWithoutAVerifiedCertificate) {
  EXPECT_EQ(PeerIdentityOf(FakeAuthContext(false, {})).name, "");
  // Properties of a peer gRPC did not authenticate are not trusted.
  EXPECT_EQ(PeerIdentityOf(
                FakeAuthContext(false, {{GRPC_X509_CN_PROPERTY_NAME, "alice"}}))
                .name,
            "");
  EXPECT_EQ(PeerIdentityOf(
                FakeAuthContext(true, {{GRPC_PEER_EMAIL_PROPERTY_NAME, "a@b"}}))
                .name,
            "");
}

}  // namespace
}  // namespace messaging
