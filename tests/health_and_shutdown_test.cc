// grpc.health.v1 as Kubernetes probes and grpcurl use it, and the graceful
// shutdown that flips it to NOT_SERVING.
#include <thread>

#include "absl/synchronization/notification.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "producer_service/consumer_stubs.h"
#include "producer_service/producer_options.h"
#include "testing/test_consumer.h"

namespace messaging {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

HealthCheckResponse::ServingStatus Check(const TestConsumer& consumer,
                                         const std::string& service) {
  auto stub = Health::NewStub(consumer.NewChannel());
  grpc::ClientContext context;
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.status();
}

TEST(HealthTest, ServingOverallAndForTheConsumerService) {
  TestConsumer consumer = TestConsumer::Start();
  EXPECT_EQ(Check(consumer, ""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(consumer, "messaging.v1.ConsumerService"),
            HealthCheckResponse::SERVING);
}

TEST(HealthTest, UnknownServiceIsNotFound) {
  TestConsumer consumer = TestConsumer::Start();
  auto stub = Health::NewStub(consumer.NewChannel());
  grpc::ClientContext context;
  HealthCheckRequest request;
  request.set_service("no.such.Service");
  HealthCheckResponse response;
  EXPECT_EQ(stub->Check(&context, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST(ShutdownTest, WatchersSeeNotServingWhenShutdownBegins) {
  TestConsumer consumer = TestConsumer::Start();
  auto stub = Health::NewStub(consumer.NewChannel());
  grpc::ClientContext context;
  HealthCheckRequest request;
  auto watch = stub->Watch(&context, request);
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  std::thread shutdown(
      [&] { consumer.server().Shutdown(absl::Milliseconds(500)); });
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  context.TryCancel();
  shutdown.join();
}

TEST(ShutdownTest, OpenStreamFinishingWithinGraceGetsItsSummary) {
  TestConsumer consumer = TestConsumer::Start();
  ProducerOptions options;
  options.target = consumer.target();
  options.producer_id = "finisher";
  options.count = 5;
  options.interval = absl::Milliseconds(50);
  options.print_messages = false;
  ConsumerStubs stubs(consumer.NewChannel());
  TestStream stream(&stubs, options);
  absl::SleepFor(absl::Milliseconds(60));

  consumer.server().Shutdown(absl::Seconds(5));

  absl::StatusOr<v1::ConsumeSummary> summary = stream.Await();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->messages_received(), 5u);
  EXPECT_EQ(consumer.server().stats().Snapshot(absl::Now()).completed_streams(),
            1u);
}

TEST(ShutdownTest, StreamStillOpenAfterGraceIsCancelled) {
  TestConsumer consumer = TestConsumer::Start();
  ProducerOptions options;
  options.target = consumer.target();
  options.producer_id = "endless";
  options.count = 1'000'000;
  options.interval = absl::Milliseconds(20);
  options.print_messages = false;
  ConsumerStubs stubs(consumer.NewChannel());
  TestStream stream(&stubs, options);
  // Shut down only once the stream is under way.
  for (int i = 0;
       i < 1000 &&
       consumer.server().stats().Snapshot(absl::Now()).messages_received() == 0;
       ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }

  const absl::Time start = absl::Now();
  consumer.server().Shutdown(absl::Milliseconds(300));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));

  absl::StatusOr<v1::ConsumeSummary> summary = stream.Await();
  // gRPC cancels the calls left at the deadline as UNAVAILABLE.
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kUnavailable)
      << summary.status();
  v1::ConsumerStats stats = consumer.server().stats().Snapshot(absl::Now());
  EXPECT_EQ(stats.failed_streams(), 1u);
  EXPECT_EQ(stats.active_streams(), 0u);
  EXPECT_GT(stats.messages_received(), 0u);
}

TEST(ShutdownTest, NewStreamsAreRefusedOnceShutdownBegins) {
  TestConsumer consumer = TestConsumer::Start();
  std::shared_ptr<grpc::Channel> channel = consumer.NewChannel();
  consumer.server().Shutdown(absl::ZeroDuration());

  ProducerOptions options;
  options.target = consumer.target();
  options.producer_id = "late";
  options.print_messages = false;
  ConsumerStubs stubs(channel);
  TestStream stream(&stubs, options);
  absl::StatusOr<v1::ConsumeSummary> summary = stream.Await();
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kUnavailable)
      << summary.status();
}

}  // namespace
}  // namespace messaging
