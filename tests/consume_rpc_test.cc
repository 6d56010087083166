// The Consume and GetStats RPCs end to end: a real server on an ephemeral
// port, real channels, the producer's reactor.
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "producer_service/consumer_stubs.h"
#include "producer_service/producer.h"
#include "producer_service/producer_options.h"
#include "protos/messaging/v1/wire/byte_buffers.h"
#include "testing/mensajes.h"
#include "testing/test_consumer.h"

namespace messaging {
namespace {

using google::protobuf::util::TimeUtil;

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

// The first page of ListProducers.
v1::ListProducersResponse ListProducers(const TestConsumer& consumer) {
  ConsumerStubs stubs(consumer.NewChannel());
  grpc::ClientContext context;
  v1::ListProducersResponse page;
  grpc::Status status =
      stubs.typed->ListProducers(&context, v1::ListProducersRequest(), &page);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return page;
}

// One paced stream, on a channel connected beforehand so that its first
// message is not held back by the handshake while the others keep to the
// schedule.
absl::StatusOr<v1::ConsumeSummary> SendPacedStream(
    const TestConsumer& consumer, const ProducerOptions& options) {
  ConsumerStubs stubs(consumer.NewChannel());
  grpc::ClientContext context;
  v1::ConsumerStats ignored;
  grpc::Status connected =
      stubs.typed->GetStats(&context, v1::GetStatsRequest(), &ignored);
  if (!connected.ok()) {
    return absl::UnavailableError(connected.error_message());
  }
  TestStream stream(&stubs, options);
  return stream.Await();
}

grpc::Status SendRaw(const TestConsumer& consumer,
                     const std::vector<v1::Mensaje>& messages,
                     v1::ConsumeSummary* summary) {
  ConsumerStubs stubs(consumer.NewChannel());
  return SendOnOneStream(*stubs.typed, messages, summary);
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

  ConsumerStubs stubs(consumer.NewChannel());
  TestStream stream(&stubs, options, &producer_console);
  absl::StatusOr<v1::ConsumeSummary> summary = stream.Await();

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

  v1::ConsumerStats stats = StatsWhenIdle(consumer);
  EXPECT_EQ(stats.completed_streams(), 1u);
  EXPECT_EQ(stats.failed_streams(), 0u);
  EXPECT_EQ(stats.active_streams(), 0u);
  EXPECT_EQ(stats.messages_received(), 5u);
  EXPECT_EQ(stats.producers_tracked(), 1u);
  const v1::ListProducersResponse producers = ListProducers(consumer);
  ASSERT_EQ(producers.producers_size(), 1);
  EXPECT_EQ(producers.producers(0).last_sequence(), 4u);
}

TEST(ConsumeRpcTest, BatchedStreamHasTheSameSemantics) {
  std::ostringstream consumer_console;
  TestConsumer consumer =
      TestConsumer::Start(ConsumerOptions(), &consumer_console);
  ProducerOptions options = FastProducer(consumer, "batcher", 100);
  options.batch_size = 16;
  ConsumerStubs stubs(consumer.NewChannel());
  TestStream stream(&stubs, options);
  absl::StatusOr<v1::ConsumeSummary> summary = stream.Await();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->messages_received(), 100u);
  EXPECT_EQ(summary->first_sequence(), 0u);
  EXPECT_EQ(summary->last_sequence(), 99u);
  EXPECT_EQ(summary->next_sequence(), 100u);
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    expected += absl::StrCat("Consumiendo: Mensaje ", i, "\n");
  }
  EXPECT_EQ(consumer_console.str(), expected);
}

TEST(ConsumeRpcTest, BatchWithABadMessageKeepsTheOnesBeforeIt) {
  TestConsumer consumer = TestConsumer::Start();
  ConsumerStubs stubs(consumer.NewChannel());
  grpc::ClientContext context;
  v1::ConsumeSummary summary;
  auto writer = stubs.typed->ConsumeBatches(&context, &summary);
  v1::MensajeBatch batch;
  *batch.add_messages() = DemoMensaje("p", 0);
  *batch.add_messages() = DemoMensaje("p", 1);
  *batch.add_messages() = DemoMensaje("p", 0);  // a duplicate: dropped
  *batch.add_messages() = DemoMensaje("p", 7);  // a gap: refused
  *batch.add_messages() = DemoMensaje("p", 2);  // never looked at
  writer->Write(batch);
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  v1::ConsumerStats stats = StatsWhenIdle(consumer);
  EXPECT_EQ(stats.messages_received(), 2u);
  EXPECT_EQ(stats.duplicates_dropped(), 1u);
  EXPECT_EQ(consumer.server().ledger().Lookup("p").next_sequence, 2u);
}

TEST(ConsumeRpcTest, BatchesOfChangingSizesKeepNothingFromTheLastRead) {
  // The consumer decodes every read into views it keeps (per thread); a
  // read must not see fields or messages of the one before.
  TestConsumer consumer = TestConsumer::Start();
  ConsumerStubs stubs(consumer.NewChannel());
  grpc::ClientContext context;
  v1::ConsumeSummary summary;
  auto writer = stubs.typed->ConsumeBatches(&context, &summary);
  uint64_t sequence = 0;
  uint64_t bytes = 0;
  auto write_batch = [&](int messages, size_t payload_bytes) {
    const v1::MensajeBatch batch =
        DemoBatch("shifting", sequence, messages,
                  {/*payload=*/std::string(payload_bytes, 'p')});
    sequence += messages;
    for (const v1::Mensaje& message : batch.messages()) {
      bytes += message.text().size() + payload_bytes;
    }
    return writer->Write(batch);
  };
  ASSERT_TRUE(write_batch(3, 10));
  ASSERT_TRUE(write_batch(3, 600 * 1024));  // past what a read may keep
  ASSERT_TRUE(write_batch(1, 5));
  ASSERT_TRUE(write_batch(4, 0));
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(summary.messages_received(), 11u);
  EXPECT_EQ(summary.last_sequence(), 10u);
  EXPECT_EQ(summary.bytes_received(), bytes);
}

TEST(ConsumeRpcTest, InterleavedStreamsKeepTheirOwnMessages) {
  // Reads of all streams are decoded into the same memory, one per
  // thread: nothing of one stream's read may show in another's.
  TestConsumer consumer = TestConsumer::Start();
  ConsumerStubs stubs(consumer.NewChannel());
  struct OpenStream {
    std::string producer_id;
    std::string payload;
    grpc::ClientContext context;
    v1::ConsumeSummary summary;
    std::unique_ptr<grpc::ClientWriter<v1::MensajeBatch>> writer;
    uint64_t sent = 0;
    uint64_t bytes = 0;
  };
  OpenStream streams[2];
  streams[0].producer_id = "interleaved-small";
  streams[0].payload = "tiny";
  streams[1].producer_id = "interleaved-large-with-a-long-id";
  streams[1].payload = std::string(300, 'x');
  for (OpenStream& stream : streams) {
    stream.writer =
        stubs.typed->ConsumeBatches(&stream.context, &stream.summary);
  }
  for (int round = 0; round < 6; ++round) {
    for (OpenStream& stream : streams) {
      v1::MensajeBatch batch;
      // Sizes that change from read to read, as does the kind of stream.
      const int size =
          (round * 7 + static_cast<int>(stream.payload.size())) % 9 + 1;
      for (int i = 0; i < size; ++i) {
        v1::Mensaje* message = batch.add_messages();
        *message = DemoMensaje(stream.producer_id, stream.sent++,
                               {/*payload=*/stream.payload});
        // Once, non-ASCII text, which takes the generated parser's path.
        if (round == 3 && &stream == &streams[1]) {
          message->set_text(message->text() + " se\xc3\xb1or");
        }
        stream.bytes += message->text().size() + message->payload().size();
      }
      ASSERT_TRUE(stream.writer->Write(batch));
    }
  }
  for (OpenStream& stream : streams) {
    stream.writer->WritesDone();
    grpc::Status status = stream.writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(stream.summary.producer_id(), stream.producer_id);
    EXPECT_EQ(stream.summary.messages_received(), stream.sent);
    EXPECT_EQ(stream.summary.last_sequence(), stream.sent - 1);
    EXPECT_EQ(stream.summary.bytes_received(), stream.bytes);
  }
}

TEST(ConsumeRpcTest,
     BatchedProducerSendsSlowMessagesWithoutWaitingForAFullBatch) {
  TestConsumer consumer = TestConsumer::Start();
  ProducerOptions options = FastProducer(consumer, "slow-batcher", 4);
  options.batch_size = 1000;
  options.interval = absl::Milliseconds(20);
  options.batch_delay = absl::Milliseconds(30);
  ConsumerStubs stubs(consumer.NewChannel());
  TestStream stream(&stubs, options);
  // The first message arrives long before 1000 are made.
  for (int i = 0;
       i < 500 &&
       consumer.server().ledger().Lookup("slow-batcher").next_sequence == 0;
       ++i) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  EXPECT_GE(consumer.server().ledger().Lookup("slow-batcher").next_sequence,
            1u);
  absl::StatusOr<v1::ConsumeSummary> summary = stream.Await();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->messages_received(), 4u);
}

TEST(ConsumeRpcTest, RatePacesTheStream) {
  TestConsumer consumer = TestConsumer::Start();
  ProducerOptions options = FastProducer(consumer, "paced", 21);
  options.rate = 200;  // 21 messages: 100 ms from first to last
  absl::StatusOr<v1::ConsumeSummary> summary =
      SendPacedStream(consumer, options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->messages_received(), 21u);
  // Unpaced, 21 messages take about a millisecond. The margin is for a
  // first message delayed by the stream's setup under a slow sanitizer.
  EXPECT_GE(TimeUtil::DurationToNanoseconds(summary->duration()), 75'000'000);
}

TEST(ConsumeRpcTest,
     AStreamGoesOnPastTheUnconfirmedLimitAsTheConsumerConfirms) {
  // The producer learns beside the stream (GetProducerState) what the
  // consumer holds, so one stream carries far more than the limit.
  TestConsumer consumer = TestConsumer::Start();
  ConsumerStubs stubs(consumer.NewChannel());
  const struct {
    int64_t batch_size;
    int64_t max_unconfirmed;
    int64_t count;
  } cases[] = {{1, 4096, 20000}, {64, 4096, 20000}, {1, 100, 5000}};
  for (const auto& c : cases) {
    const std::string producer_id =
        absl::StrCat("long-", c.batch_size, "-", c.max_unconfirmed);
    SCOPED_TRACE(producer_id);
    ProducerOptions options = FastProducer(consumer, producer_id, c.count);
    options.max_unconfirmed = c.max_unconfirmed;
    options.batch_size = c.batch_size;
    TestStream stream(&stubs, options);
    absl::StatusOr<v1::ConsumeSummary> summary = stream.Await();
    ASSERT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->messages_received(), static_cast<uint64_t>(c.count));
  }
  EXPECT_EQ(StatsWhenIdle(consumer).completed_streams(), 3u);
}

TEST(ConsumeRpcTest, AProducerHeldAtTheLimitLearnsThatTheConsumerRefusedIt) {
  // The consumer expects sequence 0 of this producer, which starts at
  // 100: it refuses the stream, and confirms nothing while the producer
  // waits at its limit; the producer must not wait forever.
  TestConsumer consumer = TestConsumer::Start();
  ConsumerStubs stubs(consumer.NewChannel());
  v1::ConsumeSummary first;
  ASSERT_TRUE(SendRaw(consumer, {DemoMensaje("refused", 0)}, &first).ok());
  ProducerOptions options = FastProducer(consumer, "refused", 1000);
  options.max_unconfirmed = 8;
  options.batch_size = 4;
  TestStream stream(&stubs, options, nullptr, /*first_sequence=*/100);
  absl::StatusOr<v1::ConsumeSummary> summary = stream.Await();
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kFailedPrecondition)
      << summary.status();
}

TEST(ConsumeRpcTest, EmptyStreamGetsAnEmptySummary) {
  TestConsumer consumer = TestConsumer::Start();
  ConsumerStubs stubs(consumer.NewChannel());
  TestStream stream(&stubs, FastProducer(consumer, "idle", 0));
  absl::StatusOr<v1::ConsumeSummary> summary = stream.Await();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->messages_received(), 0u);
  EXPECT_EQ(StatsWhenIdle(consumer).completed_streams(), 1u);
}

TEST(ConsumeRpcTest, IntervalSpacesTheMessages) {
  TestConsumer consumer = TestConsumer::Start();
  ProducerOptions options = FastProducer(consumer, "slow", 3);
  options.interval = absl::Milliseconds(50);
  absl::StatusOr<v1::ConsumeSummary> summary =
      SendPacedStream(consumer, options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->messages_received(), 3u);
  // Two 50 ms pauses between three messages, measured where they arrive:
  // the margin is for a first message delayed by the stream's setup under
  // a slow sanitizer.
  EXPECT_GE(TimeUtil::DurationToNanoseconds(summary->duration()), 75'000'000);
}

TEST(ConsumeRpcTest, ManyConcurrentStreamsAreEachSummarizedAndCounted) {
  TestConsumer consumer = TestConsumer::Start();
  constexpr int kStreams = 64;
  constexpr int kMessages = 200;
  ConsumerStubs stubs(consumer.NewChannel());
  std::vector<std::unique_ptr<TestStream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::make_unique<TestStream>(
        &stubs, FastProducer(consumer, absl::StrCat("p", i), kMessages)));
  }
  for (int i = 0; i < kStreams; ++i) {
    absl::StatusOr<v1::ConsumeSummary> summary = streams[i]->Await();
    ASSERT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->producer_id(), absl::StrCat("p", i));
    EXPECT_EQ(summary->messages_received(), kMessages);
    EXPECT_EQ(summary->last_sequence(), kMessages - 1u);
  }
  v1::ConsumerStats stats = StatsWhenIdle(consumer);
  EXPECT_EQ(stats.completed_streams(), kStreams);
  EXPECT_EQ(stats.messages_received(), kStreams * kMessages);
  EXPECT_EQ(stats.producers_tracked(), kStreams);
  EXPECT_EQ(ListProducers(consumer).producers_size(), kStreams);
}

TEST(ConsumeRpcTest, InvalidMessageEndsTheStreamNamingTheField) {
  TestConsumer consumer = TestConsumer::Start();
  v1::ConsumeSummary summary;
  grpc::Status status = SendRaw(
      consumer, {DemoMensaje("p", 0), DemoMensaje("p", 1), DemoMensaje("", 2)},
      &summary);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("Mensaje.producer_id"),
            std::string::npos)
      << status.error_message();

  v1::ConsumerStats stats = StatsWhenIdle(consumer);
  EXPECT_EQ(stats.messages_received(), 2u);
  EXPECT_EQ(stats.failed_streams(), 1u);
}

TEST(ConsumeRpcTest, SequenceGapIsFailedPreconditionNamingTheResumePoint) {
  TestConsumer consumer = TestConsumer::Start();
  v1::ConsumeSummary summary;
  grpc::Status status =
      SendRaw(consumer, {DemoMensaje("p", 0), DemoMensaje("p", 5)}, &summary);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("Mensaje.sequence 5"),
            std::string::npos);
  EXPECT_NE(status.error_message().find("expects 1"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(StatsWhenIdle(consumer).messages_received(), 1u);
}

TEST(ConsumeRpcTest, ResentMessagesAreDroppedAsDuplicatesAndCounted) {
  TestConsumer consumer = TestConsumer::Start();
  v1::ConsumeSummary first;
  ASSERT_TRUE(SendRaw(consumer, DemoMensajes("p", 0, 2), &first).ok());
  EXPECT_EQ(first.next_sequence(), 2u);

  v1::ConsumeSummary second;
  ASSERT_TRUE(SendRaw(consumer, DemoMensajes("p", 0, 3), &second).ok());
  EXPECT_EQ(second.messages_received(), 1u);
  EXPECT_EQ(second.duplicates_dropped(), 2u);
  EXPECT_EQ(second.first_sequence(), 2u);
  EXPECT_EQ(second.next_sequence(), 3u);

  v1::ConsumerStats stats = StatsWhenIdle(consumer);
  EXPECT_EQ(stats.messages_received(), 3u);
  EXPECT_EQ(stats.duplicates_dropped(), 2u);
  EXPECT_FALSE(stats.durable());
}

TEST(ConsumeRpcTest, GetProducerStateSaysWhereToResume) {
  TestConsumer consumer = TestConsumer::Start();
  ConsumerStubs stubs(consumer.NewChannel());
  auto ask = [&](const std::string& producer_id, v1::ProducerState* state) {
    grpc::ClientContext context;
    v1::GetProducerStateRequest request;
    request.set_producer_id(producer_id);
    return stubs.typed->GetProducerState(&context, request, state);
  };
  v1::ProducerState state;
  ASSERT_TRUE(ask("p", &state).ok());
  EXPECT_FALSE(state.known());
  EXPECT_EQ(state.next_sequence(), 0u);

  v1::ConsumeSummary summary;
  ASSERT_TRUE(SendRaw(consumer, DemoMensajes("p", 7, 2), &summary).ok());
  ASSERT_TRUE(ask("p", &state).ok());
  EXPECT_TRUE(state.known());
  EXPECT_EQ(state.next_sequence(), 9u);

  EXPECT_EQ(ask("", &state).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(ConsumeRpcTest, StreamsBeyondTheLimitAreRefusedWithARetryPushback) {
  ConsumerOptions options = TestConsumer::QuietOptions();
  options.limits.max_concurrent_streams = 2;
  TestConsumer consumer = TestConsumer::Start(options);
  ConsumerStubs stubs(consumer.NewChannel());

  // Two streams that stay open.
  grpc::ClientContext open_contexts[2];
  v1::ConsumeSummary open_summaries[2];
  std::unique_ptr<grpc::ClientWriter<v1::Mensaje>> open_writers[2];
  for (int i = 0; i < 2; ++i) {
    open_writers[i] =
        stubs.typed->Consume(&open_contexts[i], &open_summaries[i]);
    ASSERT_TRUE(
        open_writers[i]->Write(DemoMensaje(absl::StrCat("held", i), 0)));
  }
  for (int i = 0; i < 500 && GetStats(consumer).active_streams() < 2; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }

  grpc::ClientContext context;
  v1::ConsumeSummary summary;
  auto writer = stubs.typed->Consume(&context, &summary);
  writer->Write(DemoMensaje("third", 0));
  writer->WritesDone();
  grpc::Status refused = writer->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("--max_concurrent_streams"),
            std::string::npos);
  EXPECT_EQ(context.GetServerTrailingMetadata().count(kRetryPushbackKey), 1u);

  // The held streams are unaffected.
  for (int i = 0; i < 2; ++i) {
    open_writers[i]->WritesDone();
    EXPECT_TRUE(open_writers[i]->Finish().ok());
    EXPECT_EQ(open_summaries[i].messages_received(), 1u);
  }
}

TEST(ConsumeRpcTest, IdleStreamEndsWithDeadlineExceededKeepingItsMessages) {
  ConsumerOptions options = TestConsumer::QuietOptions();
  options.limits.idle_timeout = absl::Milliseconds(200);
  TestConsumer consumer = TestConsumer::Start(options);
  ConsumerStubs stubs(consumer.NewChannel());
  grpc::ClientContext context;
  v1::ConsumeSummary summary;
  auto writer = stubs.typed->Consume(&context, &summary);
  ASSERT_TRUE(writer->Write(DemoMensaje("sleepy", 0)));
  // Then nothing: the consumer ends the stream.
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_NE(status.error_message().find("--stream_idle_timeout"),
            std::string::npos);

  v1::ConsumerStats stats = StatsWhenIdle(consumer);
  EXPECT_EQ(stats.messages_received(), 1u);
  EXPECT_EQ(stats.failed_streams(), 1u);
  // Others are still served.
  v1::ConsumeSummary after;
  EXPECT_TRUE(SendRaw(consumer, {DemoMensaje("sleepy", 1)}, &after).ok());
  EXPECT_EQ(after.messages_received(), 1u);
}

TEST(ConsumeRpcTest, OversizedMessageIsResourceExhaustedAndEarlierOnesCount) {
  ConsumerOptions options = TestConsumer::QuietOptions();
  options.max_message_bytes = 1024;
  TestConsumer consumer = TestConsumer::Start(options);
  std::vector<v1::Mensaje> messages = DemoMensajes("p", 0, 2);
  messages.push_back(DemoMensaje("p", 2, {/*payload=*/std::string(4096, 'x')}));
  v1::ConsumeSummary summary;
  grpc::Status status = SendRaw(consumer, messages, &summary);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();

  v1::ConsumerStats stats = StatsWhenIdle(consumer);
  EXPECT_EQ(stats.messages_received(), 2u);
  EXPECT_EQ(stats.completed_streams(), 0u);
  EXPECT_EQ(stats.failed_streams(), 1u);
  const v1::ListProducersResponse producers = ListProducers(consumer);
  ASSERT_EQ(producers.producers_size(), 1);
  EXPECT_EQ(producers.producers(0).last_sequence(), 1u);
}

TEST(ConsumeRpcTest, CancelledStreamCountsAsFailedAndKeepsAcceptedMessages) {
  TestConsumer consumer = TestConsumer::Start();
  ConsumerStubs stubs(consumer.NewChannel());
  grpc::ClientContext context;
  v1::ConsumeSummary summary;
  auto writer = stubs.typed->Consume(&context, &summary);
  for (uint64_t sequence = 0; sequence < 3; ++sequence) {
    ASSERT_TRUE(writer->Write(DemoMensaje("quitter", sequence)));
  }
  // Wait until the consumer has them, so the cancellation is what is tested.
  for (int i = 0; i < 500 && GetStats(consumer).messages_received() < 3; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  context.TryCancel();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);

  v1::ConsumerStats stats = StatsWhenIdle(consumer);
  EXPECT_EQ(stats.active_streams(), 0u);
  EXPECT_EQ(stats.failed_streams(), 1u);
  EXPECT_EQ(stats.completed_streams(), 0u);
  EXPECT_EQ(stats.messages_received(), 3u);
}

TEST(ConsumeRpcTest, ProducerStopClosesTheStreamEarlyWithASummary) {
  TestConsumer consumer = TestConsumer::Start();
  ProducerOptions options = FastProducer(consumer, "stopper", 1'000'000);
  options.interval = absl::Milliseconds(20);
  ConsumerStubs stubs(consumer.NewChannel());
  TestStream stream(&stubs, options);
  absl::SleepFor(absl::Milliseconds(100));
  stream.Stop();
  absl::StatusOr<v1::ConsumeSummary> summary = stream.Await();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_GT(summary->messages_received(), 0u);
  EXPECT_LT(summary->messages_received(), 1'000'000u);
  EXPECT_EQ(summary->messages_received(), stream.production().produced());
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

TEST(RunProducerTest, ADeadlineReachedMidStreamEndsTheRunWithWhatIsConfirmed) {
  TestConsumer consumer = TestConsumer::Start();
  ProducerOptions options = FastProducer(consumer, "late", 100'000);
  options.rate = 10'000;  // ten seconds of messages
  options.deadline = absl::Seconds(1);
  std::ostringstream out;
  const absl::Time start = absl::Now();
  const absl::Status status = RunProducer(options, out);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  // The stream was closed, not cut: the consumer holds every message sent,
  // as many as the line says.
  const uint64_t held = consumer.server().ledger().Lookup("late").next_sequence;
  EXPECT_GT(held, 0u);
  EXPECT_LT(held, 100'000u);
  EXPECT_THAT(status.message(),
              testing::HasSubstr(absl::StrCat("--deadline=1s after ", held,
                                              " of 100000 messages")));
  EXPECT_THAT(status.message(), testing::HasSubstr("raise --deadline"));
  EXPECT_EQ(StatsWhenIdle(consumer).failed_streams(), 0u);
}

// Answers every call, once its client has closed, with bytes that are no
// ConsumeSummary: a server that is not the consumer it claims to be.
class WrongAnswerService : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* /*context*/) override {
    class Reactor : public grpc::ServerGenericBidiReactor {
     public:
      Reactor() { StartRead(&request_); }
      void OnReadDone(bool ok) override {
        if (ok) {
          StartRead(&request_);
          return;
        }
        answer_ = ByteBufferOf("\xff\xff");
        StartWriteAndFinish(&answer_, grpc::WriteOptions(), grpc::Status::OK);
      }
      void OnDone() override { delete this; }

     private:
      grpc::ByteBuffer request_;
      grpc::ByteBuffer answer_;
    };
    return new Reactor;
  }
};

TEST(ConsumeRpcTest, AnAnswerThatIsNoSummaryFailsTheStream) {
  WrongAnswerService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ConsumerStubs stubs(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                          grpc::InsecureChannelCredentials()));
  ProducerOptions options;
  options.producer_id = "misled";
  options.count = 3;
  options.interval = absl::ZeroDuration();
  options.print_messages = false;
  for (const int64_t batch_size : {1, 2}) {
    options.batch_size = batch_size;
    TestStream stream(&stubs, options);
    const absl::StatusOr<v1::ConsumeSummary> summary = stream.Await();
    EXPECT_EQ(summary.status().code(), absl::StatusCode::kInternal);
    EXPECT_THAT(summary.status().message(),
                ::testing::HasSubstr("without a valid ConsumeSummary"));
  }
  server->Shutdown();
}

}  // namespace
}  // namespace messaging
