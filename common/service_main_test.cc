#include "common/service_main.h"

#include <grpc/grpc.h>

#include <memory>

#include "absl/status/status.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

// gRPC 1.51 cleans up when its last object goes, on that thread, and the
// clean-up joins its executor threads. One of them may be tcp_posix's backup
// poller, which polls for 10 s after a write found the socket full: 1 exit
// in about 200 of a busy producer waited those 10 s after its last line.
// A service's run must leave gRPC alone, so that exit does not wait.
TEST(RunServiceMainTest, KeepsGrpcInitializedAfterTheRunsLastGrpcObjectGoes) {
  int initialized_after_channel = -1;
  const int exit_code = RunServiceMain(
      "service_main_test", LogFormat::kText, absl::OkStatus(), [&] {
        {
          std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
              "127.0.0.1:1", grpc::InsecureChannelCredentials());
        }
        initialized_after_channel = grpc_is_initialized();
        return absl::OkStatus();
      });
  EXPECT_EQ(exit_code, kExitOk);
  EXPECT_EQ(initialized_after_channel, 1);
}

TEST(RunServiceMainTest, RefusesInvalidFlagsBeforeRunning) {
  bool ran = false;
  const int exit_code = RunServiceMain(
      "service_main_test", LogFormat::kText,
      absl::InvalidArgumentError("--count must be positive"), [&] {
        ran = true;
        return absl::OkStatus();
      });
  EXPECT_EQ(exit_code, kExitBadFlags);
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace messaging
