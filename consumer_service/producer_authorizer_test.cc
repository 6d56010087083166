#include "consumer_service/producer_authorizer.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace messaging {
namespace {

class ProducerAuthorizerTest : public testing::Test {
 protected:
  void SetUp() override {
    path_ = std::string(std::getenv("TEST_TMPDIR")) + "/" +
            testing::UnitTest::GetInstance()->current_test_info()->name();
    Write("alice alice-*\n");
  }
  void Write(const std::string& text) {
    std::ofstream(path_, std::ios::trunc) << text;
  }

  std::string path_;
};

const PeerIdentity kAlice{"alice", "subject CN"};
const PeerIdentity kMallory{"mallory", "subject CN"};

TEST_F(ProducerAuthorizerTest, AuthorizesByTheAcl) {
  absl::StatusOr<std::unique_ptr<ProducerAuthorizer>> authorizer =
      ProducerAuthorizer::Load(path_);
  ASSERT_TRUE(authorizer.ok()) << authorizer.status();
  EXPECT_EQ((*authorizer)->rules(), 1u);
  EXPECT_TRUE((*authorizer)->Authorize(kAlice, "alice-1").ok());
  const absl::Status denied = (*authorizer)->Authorize(kMallory, "alice-1");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.message(),
            "client certificate identity 'mallory' (subject CN) may not write "
            "producer id 'alice-1': no line of --producer_acl allows it; "
            "present a certificate the ACL allows for this id, or add a line "
            "'<identity> alice-1' to the ACL");
  const absl::Status anonymous =
      (*authorizer)->Authorize(PeerIdentity{}, "alice-1");
  EXPECT_EQ(anonymous.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(anonymous.message().find("no URI SAN, DNS SAN or subject CN"),
            std::string::npos);
}

TEST_F(ProducerAuthorizerTest, ReloadSwapsTheAclAndABadFileKeepsTheOld) {
  std::unique_ptr<ProducerAuthorizer> authorizer =
      *ProducerAuthorizer::Load(path_);
  Write("mallory mallory\nalice alice\n");
  ASSERT_TRUE(authorizer->Reload().ok());
  EXPECT_EQ(authorizer->rules(), 2u);
  EXPECT_TRUE(authorizer->Authorize(kMallory, "mallory").ok());
  EXPECT_FALSE(authorizer->Authorize(kAlice, "alice-1").ok());

  Write("mallory\n");
  const absl::Status bad = authorizer->Reload();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message(),
            "--producer_acl=" + path_ +
                " line 1: expected '<identity> <producer id pattern>', got 1 "
                "field");
  EXPECT_EQ(authorizer->rules(), 2u);
  EXPECT_TRUE(authorizer->Authorize(kMallory, "mallory").ok());
}

TEST_F(ProducerAuthorizerTest, UnreadableFileIsOneClearError) {
  const absl::StatusOr<std::unique_ptr<ProducerAuthorizer>> missing =
      ProducerAuthorizer::Load(path_ + ".missing");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.status().message(),
            "cannot read --producer_acl=" + path_ +
                ".missing: No such file or directory; give a readable file of "
                "'<identity> <producer id pattern>' lines, at most 16777216 "
                "bytes");
  const absl::StatusOr<std::unique_ptr<ProducerAuthorizer>> directory =
      ProducerAuthorizer::Load(std::getenv("TEST_TMPDIR"));
  EXPECT_NE(directory.status().message().find("Is a directory"),
            std::string::npos)
      << directory.status();
}

}  // namespace
}  // namespace messaging
