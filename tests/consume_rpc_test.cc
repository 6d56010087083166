// The Consume and GetStats RPCs end to end: a real server on an ephemeral
// port, real channels, the producer's reactor.
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "producer_service/producer.h"
#include "tests/test_consumer.h"

namespace messaging {
namespace {

ProducerOptions FastProducer(const TestConsumer& consumer,
                             const std::string& producer_id, int64_t count) {
  ProducerOptions options;
  options.target = consumer.target();
  options.producer_id = producer_id;
  options.count = count;
  options.interval = absl::ZeroDuration();
  options.print_messages = false;
  return options;
}

v1::ConsumerStats GetStats(const TestConsumer& consumer) {
  auto stub = v1::ConsumerService::NewStub(consumer.NewChannel());
  grpc::ClientContext context;
  v1::ConsumerStats stats;
  grpc::Status status = stub->GetStats(&context, v1::GetStatsRequest(), &stats);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return stats;
}

// Writes `messages` on one Consume stream with the synchronous API, then
// closes the stream; returns the final status.
grpc::Status SendRaw(const TestConsumer& consumer,
                     const std::vector<v1::Mensaje>& messages,
                     v1::ConsumeSummary* summary) {
  auto stub = v1::ConsumerService::NewStub(consumer.NewChannel());
  grpc::ClientContext context;
  auto writer = stub->Consume(&context, summary);
  for (const v1::Mensaje& message : messages) {
    if (!writer->Write(message)) break;
  }
  writer->WritesDone();
  return writer->Finish();
}

v1::Mensaje Message(const std::string& producer_id, uint64_t sequence) {
  v1::Mensaje message;
  message.set_producer_id(producer_id);
  message.set_sequence(sequence);
  message.set_text(absl::StrCat("Mensaje ", sequence));
  return message;
}

TEST(ConsumeRpcTest, ClosingTheStreamIsTheFinAndReturnsTheSummary) {
  std::ostringstream consumer_console;
  ConsumerOptions consumer_options;
  TestConsumer consumer =
      TestConsumer::Start(consumer_options, &consumer_console);
  std::ostringstream producer_console;
  ProducerOptions options = FastProducer(consumer, "p1", 5);
  options.print_messages = true;
  options.payload_bytes = 3;

  auto stub = v1::ConsumerService::NewStub(consumer.NewChannel());
  ProduceReactor reactor(stub.get(), options, &producer_console);
  absl::StatusOr<v1::ConsumeSummary> summary = reactor.Await();

  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->producer_id(), "p1");
  EXPECT_EQ(summary->messages_received(), 5u);
  EXPECT_EQ(summary->bytes_received(), 5 * (9 + 3u));
  EXPECT_EQ(summary->first_sequence(), 0u);
  EXPECT_EQ(summary->last_sequence(), 4u);
  const std::string expected_consumed =
      "Consumiendo: Mensaje 0\nConsumiendo: Mensaje 1\nConsumiendo: Mensaje "
      "2\nConsumiendo: Mensaje 3\nConsumiendo: Mensaje 4\n";
  EXPECT_EQ(consumer_console.str(), expected_consumed);
  EXPECT_EQ(producer_console.str(),
            "Produciendo: Mensaje 0\nProduciendo: Mensaje 1\nProduciendo: "
            "Mensaje 2\nProduciendo: Mensaje 3\nProduciendo: Mensaje 4\n");

  v1::ConsumerStats stats = GetStats(consumer);
  EXPECT_EQ(stats.completed_streams(), 1u);
  EXPECT_EQ(stats.failed_streams(), 0u);
  EXPECT_EQ(stats.active_streams(), 0u);
  EXPECT_EQ(stats.messages_received(), 5u);
  ASSERT_EQ(stats.producers_size(), 1);
  EXPECT_EQ(stats.producers(0).last_sequence(), 4u);
}

TEST(ConsumeRpcTest, EmptyStreamGetsAnEmptySummary) {
  TestConsumer consumer = TestConsumer::Start();
  auto stub = v1::ConsumerService::NewStub(consumer.NewChannel());
  ProduceReactor reactor(stub.get(), FastProducer(consumer, "idle", 0),
                         nullptr);
  absl::StatusOr<v1::ConsumeSummary> summary = reactor.Await();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->messages_received(), 0u);
  EXPECT_EQ(GetStats(consumer).completed_streams(), 1u);
}

TEST(ConsumeRpcTest, IntervalSpacesTheMessages) {
  TestConsumer consumer = TestConsumer::Start();
  ProducerOptions options = FastProducer(consumer, "slow", 3);
  options.interval = absl::Milliseconds(50);
  auto stub = v1::ConsumerService::NewStub(consumer.NewChannel());
  ProduceReactor reactor(stub.get(), options, nullptr);
  absl::StatusOr<v1::ConsumeSummary> summary = reactor.Await();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->messages_received(), 3u);
  // Two pauses between three messages.
  EXPECT_GE(summary->duration().nanos(), 100'000'000);
}

TEST(ConsumeRpcTest, ManyConcurrentStreamsAreEachSummarizedAndCounted) {
  TestConsumer consumer = TestConsumer::Start();
  constexpr int kStreams = 64;
  constexpr int kMessages = 200;
  auto stub = v1::ConsumerService::NewStub(consumer.NewChannel());
  std::vector<std::unique_ptr<ProduceReactor>> reactors;
  for (int i = 0; i < kStreams; ++i) {
    reactors.push_back(std::make_unique<ProduceReactor>(
        stub.get(), FastProducer(consumer, absl::StrCat("p", i), kMessages),
        nullptr));
  }
  for (int i = 0; i < kStreams; ++i) {
    absl::StatusOr<v1::ConsumeSummary> summary = reactors[i]->Await();
    ASSERT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->producer_id(), absl::StrCat("p", i));
    EXPECT_EQ(summary->messages_received(), kMessages);
    EXPECT_EQ(summary->last_sequence(), kMessages - 1u);
  }
  v1::ConsumerStats stats = GetStats(consumer);
  EXPECT_EQ(stats.completed_streams(), kStreams);
  EXPECT_EQ(stats.messages_received(), kStreams * kMessages);
  EXPECT_EQ(stats.producers_size(), kStreams);
}

TEST(ConsumeRpcTest, InvalidMessageEndsTheStreamNamingTheField) {
  TestConsumer consumer = TestConsumer::Start();
  v1::ConsumeSummary summary;
  grpc::Status status = SendRaw(
      consumer, {Message("p", 0), Message("p", 1), Message("", 2)}, &summary);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("Mensaje.producer_id"),
            std::string::npos)
      << status.error_message();

  v1::ConsumerStats stats = GetStats(consumer);
  EXPECT_EQ(stats.messages_received(), 2u);
  EXPECT_EQ(stats.failed_streams(), 1u);
}

TEST(ConsumeRpcTest, SequenceGapEndsTheStream) {
  TestConsumer consumer = TestConsumer::Start();
  v1::ConsumeSummary summary;
  grpc::Status status =
      SendRaw(consumer, {Message("p", 0), Message("p", 5)}, &summary);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("Mensaje.sequence"), std::string::npos);
  EXPECT_EQ(GetStats(consumer).messages_received(), 1u);
}

TEST(ConsumeRpcTest, OversizedMessageIsResourceExhaustedAndEarlierOnesCount) {
  ConsumerOptions options = TestConsumer::QuietOptions();
  options.max_message_bytes = 1024;
  TestConsumer consumer = TestConsumer::Start(options);
  v1::Mensaje big = Message("p", 2);
  big.set_payload(std::string(4096, 'x'));
  v1::ConsumeSummary summary;
  grpc::Status status =
      SendRaw(consumer, {Message("p", 0), Message("p", 1), big}, &summary);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();

  v1::ConsumerStats stats = GetStats(consumer);
  EXPECT_EQ(stats.messages_received(), 2u);
  EXPECT_EQ(stats.completed_streams(), 0u);
  EXPECT_EQ(stats.failed_streams(), 1u);
  ASSERT_EQ(stats.producers_size(), 1);
  EXPECT_EQ(stats.producers(0).last_sequence(), 1u);
}

TEST(ConsumeRpcTest, CancelledStreamCountsAsFailedAndKeepsAcceptedMessages) {
  TestConsumer consumer = TestConsumer::Start();
  auto stub = v1::ConsumerService::NewStub(consumer.NewChannel());
  grpc::ClientContext context;
  v1::ConsumeSummary summary;
  auto writer = stub->Consume(&context, &summary);
  for (uint64_t sequence = 0; sequence < 3; ++sequence) {
    ASSERT_TRUE(writer->Write(Message("quitter", sequence)));
  }
  // Wait until the consumer has them, so the cancellation is what is tested.
  for (int i = 0; i < 500 && GetStats(consumer).messages_received() < 3; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  context.TryCancel();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);

  v1::ConsumerStats stats;
  for (int i = 0; i < 500; ++i) {
    stats = GetStats(consumer);
    if (stats.active_streams() == 0) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(stats.active_streams(), 0u);
  EXPECT_EQ(stats.failed_streams(), 1u);
  EXPECT_EQ(stats.completed_streams(), 0u);
  EXPECT_EQ(stats.messages_received(), 3u);
}

TEST(ConsumeRpcTest, ProducerStopClosesTheStreamEarlyWithASummary) {
  TestConsumer consumer = TestConsumer::Start();
  ProducerOptions options = FastProducer(consumer, "stopper", 1'000'000);
  options.interval = absl::Milliseconds(20);
  auto stub = v1::ConsumerService::NewStub(consumer.NewChannel());
  ProduceReactor reactor(stub.get(), options, nullptr);
  absl::SleepFor(absl::Milliseconds(100));
  reactor.Stop();
  absl::StatusOr<v1::ConsumeSummary> summary = reactor.Await();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_GT(summary->messages_received(), 0u);
  EXPECT_LT(summary->messages_received(), 1'000'000u);
  EXPECT_EQ(summary->messages_received(), reactor.messages_sent());
}

TEST(RunProducerTest, UnreachableConsumerFailsFastWithOneClearMessage) {
  // Bind and release a port so that nothing listens there.
  int free_port;
  {
    TestConsumer placeholder = TestConsumer::Start();
    free_port = placeholder.server().port();
  }
  ProducerOptions options;
  options.target = absl::StrCat("127.0.0.1:", free_port);
  options.producer_id = "lonely";
  options.connect_timeout = absl::Milliseconds(300);
  std::ostringstream out;
  const absl::Time start = absl::Now();
  absl::Status status = RunProducer(options, out);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("not reachable"), std::string::npos)
      << status;
  EXPECT_NE(status.message().find(options.target), std::string::npos);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(out.str(), "");
}

TEST(RunProducerTest, PrintsTheDemoLinesTheSummaryAndTheClosingLine) {
  TestConsumer consumer = TestConsumer::Start();
  ProducerOptions options = FastProducer(consumer, "demo", 2);
  options.print_messages = true;
  std::ostringstream out;
  ASSERT_TRUE(RunProducer(options, out).ok());
  EXPECT_THAT(out.str(),
              testing::MatchesRegex(
                  "Produciendo: Mensaje 0\n"
                  "Produciendo: Mensaje 1\n"
                  "Consumer summary: 2 messages, 18 bytes, producer demo, "
                  "sequences 0\\.\\.1 in [^\n]+\n"
                  "Todos los procesos han terminado\\.\n"));
}

}  // namespace
}  // namespace messaging
