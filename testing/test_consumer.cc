#include "testing/test_consumer.h"

#include <cstdlib>
#include <iostream>

#include "absl/time/clock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"

namespace messaging {

ConsumerOptions TestConsumer::QuietOptions() {
  ConsumerOptions options;
  options.print_messages = false;
  return options;
}

TestConsumer TestConsumer::Start(ConsumerOptions options,
                                 std::ostream* console) {
  options.address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<ConsumerServer>> server =
      ConsumerServer::Start(options, console);
  if (!server.ok()) {
    std::cerr << "test consumer did not start: " << server.status() << "\n";
    std::abort();
  }
  TestConsumer consumer;
  consumer.target_ = "127.0.0.1:" + std::to_string((*server)->port());
  consumer.server_ = std::move(*server);
  return consumer;
}

std::shared_ptr<grpc::Channel> TestConsumer::NewChannel() const {
  return grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
}

grpc::Status SendOnOneStream(v1::ConsumerService::Stub& stub,
                             const std::vector<v1::Mensaje>& messages,
                             v1::ConsumeSummary* summary) {
  grpc::ClientContext context;
  auto writer = stub.Consume(&context, summary);
  for (const v1::Mensaje& message : messages) {
    if (!writer->Write(message)) break;
  }
  writer->WritesDone();
  return writer->Finish();
}

v1::ConsumerStats GetStats(const TestConsumer& consumer) {
  ConsumerStubs stubs(consumer.NewChannel());
  grpc::ClientContext context;
  v1::ConsumerStats stats;
  const grpc::Status status =
      stubs.typed->GetStats(&context, v1::GetStatsRequest(), &stats);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return stats;
}

v1::ConsumerStats StatsWhenIdle(const TestConsumer& consumer) {
  v1::ConsumerStats stats;
  for (int i = 0; i < 500; ++i) {
    stats = GetStats(consumer);
    if (stats.active_streams() == 0) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return stats;
}

}  // namespace messaging
