#include "consumer_service/listener_watchdog.h"

#include <fcntl.h>

#include <thread>

#include "grpc/grpc.h"
#include "grpc/support/log.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

// gRPC writes no log line before it is initialized.
class ListenerWatchdogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { grpc_init(); }
  static void TearDownTestSuite() { grpc_shutdown(); }
};

TEST_F(ListenerWatchdogTest, ReturnsGrpcsLineWhenAcceptFails) {
  ListenerWatchdog watchdog;
  std::thread listener([] {
    gpr_log(GPR_ERROR, "some other error");
    gpr_log(GPR_ERROR, "Failed accept4: Too many open files");
  });
  EXPECT_EQ(watchdog.Wait(), "Failed accept4: Too many open files");
  listener.join();
}

int OpenDescriptors() {
  int count = 0;
  for (int fd = 0; fd < 1024; ++fd) count += fcntl(fd, F_GETFD) != -1;
  return count;
}

TEST_F(ListenerWatchdogTest, HoldsDescriptorsInReserveUntilTheListenerDies) {
  const int before = OpenDescriptors();
  ListenerWatchdog watchdog;
  EXPECT_EQ(OpenDescriptors(), before + 4);
  gpr_log(GPR_ERROR, "Failed accept4: Too many open files");
  EXPECT_EQ(OpenDescriptors(), before);
}

TEST_F(ListenerWatchdogTest, CancelEndsTheWaitWithoutADeath) {
  ListenerWatchdog watchdog;
  gpr_log(GPR_ERROR, "some other error");
  std::thread signal([&] { watchdog.Cancel(); });
  EXPECT_EQ(watchdog.Wait(), std::nullopt);
  signal.join();
}

}  // namespace
}  // namespace messaging
