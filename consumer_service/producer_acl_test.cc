#include "consumer_service/producer_acl.h"

#include <string>

#include "gtest/gtest.h"

namespace messaging {
namespace {

ProducerAcl ParseOrDie(const std::string& text) {
  absl::StatusOr<ProducerAcl> acl = ProducerAcl::Parse(text, "acl");
  EXPECT_TRUE(acl.ok()) << acl.status();
  return acl.ok() ? *std::move(acl) : *ProducerAcl::Parse("", "empty");
}

TEST(ProducerAclTest, ExactIdsAndPrefixesPerIdentity) {
  const ProducerAcl acl = ParseOrDie(
      "# comment\n"
      "   # indented comment\n"
      "\n"
      "spiffe://prod/orders orders\n"
      "spiffe://prod/orders\torders-*\n"
      "  billing   *  \n"
      "crlf-host  crlf\r\n");
  EXPECT_EQ(acl.rules(), 4u);
  EXPECT_TRUE(acl.Allows("spiffe://prod/orders", "orders"));
  EXPECT_TRUE(acl.Allows("spiffe://prod/orders", "orders-7"));
  EXPECT_TRUE(acl.Allows("spiffe://prod/orders", "orders-"));
  EXPECT_FALSE(acl.Allows("spiffe://prod/orders", "orders7"));
  EXPECT_FALSE(acl.Allows("spiffe://prod/orders", "order"));
  EXPECT_FALSE(acl.Allows("spiffe://prod/orders", "billing"));
  EXPECT_TRUE(acl.Allows("billing", "anything"));
  EXPECT_TRUE(acl.Allows("crlf-host", "crlf"));
  // Identities match exactly: no prefix, no case folding.
  EXPECT_FALSE(acl.Allows("spiffe://prod/orders/x", "orders"));
  EXPECT_FALSE(acl.Allows("spiffe://prod/Orders", "orders"));
  EXPECT_FALSE(acl.Allows("", "orders"));
  EXPECT_FALSE(acl.Allows("unknown", "orders"));
}

TEST(ProducerAclTest, EmptyAclAllowsNothing) {
  const ProducerAcl acl = ParseOrDie("# nobody yet\n");
  EXPECT_EQ(acl.rules(), 0u);
  EXPECT_FALSE(acl.Allows("alice", "alice"));
}

TEST(ProducerAclTest, BadLinesNameTheSourceAndLine) {
  const struct {
    std::string text;
    std::string error;
  } cases[] = {
      {"alice alice\nmallory\n",
       "acl line 2: expected '<identity> <producer id pattern>', got 1 field"},
      {"alice alice extra\n",
       "acl line 1: expected '<identity> <producer id pattern>', got 3 "
       "fields"},
      {"\n\nal*ce alice\n",
       "acl line 3: an identity is matched exactly; '*' is only for producer "
       "ids"},
      {"alice a*ice\n", "acl line 1: '*' may only end a producer id pattern"},
      {"alice alice**\n", "acl line 1: '*' may only end a producer id pattern"},
      {"alice " + std::string(257, 'x') + "\n",
       "acl line 1: the producer id pattern is longer than 256 bytes, the "
       "longest id there is"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<ProducerAcl> acl = ProducerAcl::Parse(c.text, "acl");
    ASSERT_FALSE(acl.ok()) << c.text;
    EXPECT_EQ(acl.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(acl.status().message(), c.error);
  }
}

TEST(ProducerAclTest, PrefixOf256BytesPlusStarIsAllowed) {
  const std::string prefix(256, 'p');
  const ProducerAcl acl = ParseOrDie("alice " + prefix + "*\n");
  EXPECT_TRUE(acl.Allows("alice", prefix));
}

}  // namespace
}  // namespace messaging
