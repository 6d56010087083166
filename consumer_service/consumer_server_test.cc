#include "consumer_service/consumer_server.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

TEST(ValidateConsumerOptionsTest, DefaultsAreValid) {
  EXPECT_TRUE(ValidateConsumerOptions(ConsumerOptions()).ok());
}

TEST(ValidateConsumerOptionsTest, RejectsAddressWithoutPortNamingTheFlag) {
  for (const char* address : {"", "localhost", "host:http", "[::]:70000"}) {
    ConsumerOptions options;
    options.address = address;
    absl::Status status = ValidateConsumerOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << address;
    EXPECT_NE(status.message().find("--address"), std::string::npos) << status;
  }
}

TEST(ValidateConsumerOptionsTest, AcceptsIpv6AndEphemeralPort) {
  ConsumerOptions options;
  options.address = "[::]:0";
  EXPECT_TRUE(ValidateConsumerOptions(options).ok());
}

TEST(ValidateConsumerOptionsTest, RejectsOutOfRangeMessageSize) {
  ConsumerOptions options;
  options.max_message_bytes = 0;
  EXPECT_NE(
      ValidateConsumerOptions(options).message().find("--max_message_bytes"),
      std::string::npos);
}

TEST(ValidateConsumerOptionsTest, RejectsNegativeGrace) {
  ConsumerOptions options;
  options.shutdown_grace = absl::Seconds(-1);
  EXPECT_NE(ValidateConsumerOptions(options).message().find("--shutdown_grace"),
            std::string::npos);
}

TEST(ValidateConsumerOptionsTest, LogGroupDelayIsZeroTo100Milliseconds) {
  ConsumerOptions options;
  for (absl::Duration delay : {absl::ZeroDuration(), absl::Milliseconds(100)}) {
    options.log_group_delay = delay;
    EXPECT_TRUE(ValidateConsumerOptions(options).ok()) << delay;
  }
  for (absl::Duration delay :
       {absl::Microseconds(-1), absl::Milliseconds(101)}) {
    options.log_group_delay = delay;
    const absl::Status status = ValidateConsumerOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << delay;
    EXPECT_NE(status.message().find("--log_group_delay="), std::string::npos)
        << status;
    EXPECT_NE(status.message().find("use 0 to 100ms"), std::string::npos)
        << status;
  }
}

TEST(ValidateConsumerOptionsTest, AcceptsGzipAndDeflateOnly) {
  ConsumerOptions options;
  options.accept_compression = {"gzip", "deflate"};
  EXPECT_TRUE(ValidateConsumerOptions(options).ok());
  for (const char* name : {"identity", "br", "GZIP", ""}) {
    options.accept_compression = {"gzip", name};
    absl::Status status = ValidateConsumerOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_NE(status.message().find(
                  absl::StrCat("--accept_compression names '", name, "'")),
              std::string::npos)
        << status;
  }
}

TEST(ValidateConsumerOptionsTest, RejectsNonPositiveConnectionIdle) {
  ConsumerOptions options;
  options.max_connection_idle = absl::ZeroDuration();
  EXPECT_NE(
      ValidateConsumerOptions(options).message().find("--max_connection_idle"),
      std::string::npos);
}

TEST(ValidateConsumerOptionsTest, RejectsZeroMaxProducers) {
  ConsumerOptions options;
  options.max_producers = 0;
  EXPECT_EQ(ValidateConsumerOptions(options).message(),
            "--max_producers=0 must be at least 1 (default 100000)");
}

TEST(ValidateConsumerOptionsTest, ProducerAclNeedsMutualTls) {
  ConsumerOptions options;
  options.producer_acl = "acl";
  const std::string needs =
      "--producer_acl needs mutual TLS: the ACL authorizes client "
      "certificates; set --tls_cert, --tls_key and --tls_client_ca";
  EXPECT_EQ(ValidateConsumerOptions(options).message(), needs);
  options.tls = {"server.pem", "server.key", ""};
  EXPECT_EQ(ValidateConsumerOptions(options).message(), needs);
  options.tls.ca = "ca.pem";
  EXPECT_TRUE(ValidateConsumerOptions(options).ok());
}

TEST(ConsumerServerTest, ReportsAnAddressInUse) {
  ConsumerOptions options;
  options.address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<ConsumerServer>> first =
      ConsumerServer::Start(options, nullptr);
  ASSERT_TRUE(first.ok()) << first.status();

  options.address = "127.0.0.1:" + std::to_string((*first)->port());
  absl::StatusOr<std::unique_ptr<ConsumerServer>> second =
      ConsumerServer::Start(options, nullptr);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(options.address), std::string::npos)
      << second.status();
}

TEST(ValidateConsumerOptionsTest, RejectsAMetricsAddressWithoutPort) {
  for (const char* address : {"0.0.0.0", "127.0.0.1:http", "0.0.0.0:70000"}) {
    ConsumerOptions options;
    options.metrics_address = address;
    const absl::Status status = ValidateConsumerOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << address;
    EXPECT_NE(status.message().find("--metrics_address"), std::string::npos)
        << status;
  }
}

TEST(ConsumerServerTest, ReportsAMetricsAddressInUseAndStartsNothing) {
  ConsumerOptions options;
  options.address = "127.0.0.1:0";
  options.metrics_address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<ConsumerServer>> first =
      ConsumerServer::Start(options, nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_NE((*first)->metrics_server(), nullptr);
  EXPECT_GT((*first)->metrics_server()->port(), 0);

  options.metrics_address =
      "127.0.0.1:" + std::to_string((*first)->metrics_server()->port());
  absl::StatusOr<std::unique_ptr<ConsumerServer>> second =
      ConsumerServer::Start(options, nullptr);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(options.metrics_address),
            std::string::npos)
      << second.status();
}

}  // namespace
}  // namespace messaging
