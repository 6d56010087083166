#include "common/grpc_logs.h"

#include <memory>
#include <string>
#include <vector>

#include "common/logging.h"
#include "gmock/gmock.h"
#include "grpc/grpc.h"
#include "grpc/support/log.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;

// gRPC writes no log line before it is initialized.
class GrpcLogsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { grpc_init(); }
  static void TearDownTestSuite() { grpc_shutdown(); }
};

TEST_F(GrpcLogsTest, RoutedLinesTakeTheServicesFormat) {
  RouteGrpcLogs();
  testing::internal::CaptureStderr();
  gpr_log(GPR_ERROR, "something broke");
  const std::string written = testing::internal::GetCapturedStderr();
  EXPECT_THAT(written,
              HasSubstr(" ERROR grpc: something broke (grpc_logs_test.cc:"));
  EXPECT_EQ(written.back(), '\n');
}

TEST_F(GrpcLogsTest, InJsonTheSourceAndPlaceAreFields) {
  RouteGrpcLogs();
  SetLogFormat(LogFormat::kJson);
  testing::internal::CaptureStderr();
  gpr_log(GPR_ERROR, "a \"quoted\" failure");
  const std::string written = testing::internal::GetCapturedStderr();
  SetLogFormat(LogFormat::kText);
  EXPECT_THAT(written,
              MatchesRegex("\\{\"time\":\"[^\"]+\",\"level\":\"ERROR\","
                           "\"message\":\"a \\\\\"quoted\\\\\" failure\","
                           "\"source\":\"grpc\","
                           "\"file\":\"grpc_logs_test.cc\","
                           "\"line\":[0-9]+\\}\n"));
}

TEST_F(GrpcLogsTest, CaptureKeepsLinesUntilTaken) {
  testing::internal::CaptureStderr();
  {
    GrpcLogCapture capture;
    gpr_log(GPR_ERROR, "first");
    EXPECT_THAT(capture.Take(), ElementsAre("first"));
    EXPECT_THAT(capture.Take(), IsEmpty());
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST_F(GrpcLogsTest, LinesNotTakenAreWrittenWhenTheCaptureEnds) {
  testing::internal::CaptureStderr();
  {
    GrpcLogCapture capture;
    gpr_log(GPR_ERROR, "kept");
  }
  gpr_log(GPR_ERROR, "after");
  const std::string written = testing::internal::GetCapturedStderr();
  EXPECT_THAT(written, HasSubstr("grpc: kept"));
  EXPECT_THAT(written, HasSubstr("grpc: after"));
}

TEST_F(GrpcLogsTest, OverlappingCapturesHoldLinesUntilTheLastEnds) {
  testing::internal::CaptureStderr();
  auto first = std::make_unique<GrpcLogCapture>();
  {
    GrpcLogCapture second;
    gpr_log(GPR_ERROR, "held");
    first.reset();
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    testing::internal::CaptureStderr();
  }
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("grpc: held"));
}

class RecordingObserver : public GrpcLogObserver {
 public:
  void OnGrpcLog(absl::string_view message) override {
    messages.emplace_back(message);
  }
  std::vector<std::string> messages;
};

TEST_F(GrpcLogsTest, ObserversSeeWrittenAndCapturedLinesUntilRemoved) {
  RecordingObserver observer;
  AddGrpcLogObserver(&observer);
  testing::internal::CaptureStderr();
  gpr_log(GPR_ERROR, "written");
  {
    GrpcLogCapture capture;
    gpr_log(GPR_ERROR, "captured");
    capture.Take();
  }
  RemoveGrpcLogObserver(&observer);
  gpr_log(GPR_ERROR, "unobserved");
  testing::internal::GetCapturedStderr();
  EXPECT_THAT(observer.messages, ElementsAre("written", "captured"));
}

TEST(OsErrorInTest, FindsTheReasonInGrpcErrorText) {
  const std::vector<std::string> messages = {
      "unrelated",
      "UNKNOWN:No address added {children:[UNKNOWN:Address already in use "
      "{syscall:\"bind\", os_error:\"Address already in use\", errno:98}]}"};
  EXPECT_EQ(OsErrorIn(messages), "Address already in use");
  EXPECT_EQ(OsErrorIn({"no reason here", "os_error:\"cut short"}), "");
}

}  // namespace
}  // namespace messaging
