#include "producer_service/producer.h"

#include <optional>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

ProducerOptions ValidOptions() {
  ProducerOptions options;
  options.producer_id = "producer-1";
  return options;
}

TEST(ValidateProducerOptionsTest, DefaultsWithAProducerIdAreValid) {
  EXPECT_TRUE(ValidateProducerOptions(ValidOptions()).ok());
}

TEST(ValidateProducerOptionsTest, EachBadValueNamesItsFlag) {
  struct Case {
    const char* flag;
    void (*breaks)(ProducerOptions&);
  };
  const Case cases[] = {
      {"--target", [](ProducerOptions& o) { o.target = ""; }},
      {"--count", [](ProducerOptions& o) { o.count = -1; }},
      {"--interval",
       [](ProducerOptions& o) { o.interval = absl::Seconds(-1); }},
      {"--payload_bytes", [](ProducerOptions& o) { o.payload_bytes = -5; }},
      {"--payload_bytes",
       [](ProducerOptions& o) { o.payload_bytes = int64_t{1} << 40; }},
      {"--producer_id", [](ProducerOptions& o) { o.producer_id = ""; }},
      {"--connect_timeout",
       [](ProducerOptions& o) { o.connect_timeout = absl::ZeroDuration(); }},
      {"--deadline",
       [](ProducerOptions& o) { o.deadline = absl::Seconds(-1); }},
      {"--max_unconfirmed", [](ProducerOptions& o) { o.max_unconfirmed = 0; }},
      {"--initial_backoff",
       [](ProducerOptions& o) { o.initial_backoff = absl::ZeroDuration(); }},
      {"--max_backoff",
       [](ProducerOptions& o) { o.max_backoff = absl::Milliseconds(1); }},
      {"--batch_size", [](ProducerOptions& o) { o.batch_size = 0; }},
      {"--batch_delay",
       [](ProducerOptions& o) { o.batch_delay = absl::Seconds(-1); }},
      {"--streams", [](ProducerOptions& o) { o.streams = 0; }},
      {"--rate", [](ProducerOptions& o) { o.rate = -1; }},
      {"--rate", [](ProducerOptions& o) { o.rate = 100; }},  // and --interval
  };
  for (const Case& c : cases) {
    ProducerOptions options = ValidOptions();
    c.breaks(options);
    absl::Status status = ValidateProducerOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.flag;
    EXPECT_NE(status.message().find(c.flag), std::string::npos) << status;
  }
}

TEST(ValidateProducerOptionsTest, ShardsAndPlaceholderGoTogether) {
  ProducerOptions options = ValidOptions();
  options.consumer_shards = 3;
  EXPECT_NE(ValidateProducerOptions(options).message().find("{shard}"),
            std::string::npos);
  options.target = "dns:///consumer-{shard}.consumer-headless:50051";
  EXPECT_TRUE(ValidateProducerOptions(options).ok());
  options.consumer_shards = 1;
  EXPECT_FALSE(ValidateProducerOptions(options).ok());
  options.consumer_shards = 0;
  EXPECT_NE(
      ValidateProducerOptions(options).message().find("--consumer_shards=0"),
      std::string::npos);
}

TEST(ConsumerShardTest, IsStableAndSpreadsProducers) {
  // Pinned values: a change of the hash would move running producers away
  // from the consumers that hold their state.
  EXPECT_EQ(ConsumerShard("producer-0", 3), 2);
  EXPECT_EQ(ConsumerShard("producer-1", 3), 0);
  EXPECT_EQ(ConsumerShard("consumer-job-abc12", 5), 2);
  std::vector<int> per_shard(3, 0);
  for (int i = 0; i < 300; ++i) {
    const int shard = ConsumerShard("producer-" + std::to_string(i), 3);
    ASSERT_GE(shard, 0);
    ASSERT_LT(shard, 3);
    ++per_shard[shard];
  }
  for (int count : per_shard) EXPECT_GT(count, 60);
}

TEST(ResolveTargetTest, ReplacesTheShardPlaceholder) {
  ProducerOptions options = ValidOptions();
  EXPECT_EQ(ResolveTarget(options), options.target);
  options.target = "dns:///consumer-{shard}.consumer-headless:50051";
  options.consumer_shards = 4;
  EXPECT_EQ(ResolveTarget(options),
            "dns:///consumer-" +
                std::to_string(ConsumerShard(options.producer_id, 4)) +
                ".consumer-headless:50051");
}

TEST(FormatSummaryTest, DescribesMessagesAndSequences) {
  v1::ConsumeSummary summary;
  summary.set_producer_id("p");
  summary.set_messages_received(5);
  summary.set_bytes_received(45);
  summary.set_first_sequence(0);
  summary.set_last_sequence(4);
  summary.mutable_duration()->set_nanos(250'000'000);
  EXPECT_EQ(FormatSummary(summary),
            "Consumer summary: 5 messages, 45 bytes, producer p, "
            "sequences 0..4 in 250ms");
}

TEST(FormatSummaryTest, MentionsDuplicatesWhenThereAreAny) {
  v1::ConsumeSummary summary;
  summary.set_duplicates_dropped(3);
  EXPECT_EQ(FormatSummary(summary),
            "Consumer summary: 0 messages, 0 bytes, 3 duplicates dropped");
}

TEST(FormatSummaryTest, EmptyStreamHasNoSequences) {
  EXPECT_EQ(FormatSummary(v1::ConsumeSummary()),
            "Consumer summary: 0 messages, 0 bytes");
}

ProducerOptions Options(int64_t count, int64_t max_unconfirmed) {
  ProducerOptions options = ValidOptions();
  options.count = count;
  options.max_unconfirmed = max_unconfirmed;
  return options;
}

v1::Mensaje Decoded(absl::string_view bytes) {
  v1::Mensaje message;
  EXPECT_TRUE(message.ParseFromArray(bytes.data(), bytes.size()));
  return message;
}

std::vector<uint64_t> SendStream(Production& production,
                                 std::ostream* console = nullptr) {
  std::vector<uint64_t> sent;
  production.StartStream();
  while (std::optional<absl::string_view> message =
             production.NextToSend(console)) {
    sent.push_back(Decoded(*message).sequence());
  }
  return sent;
}

TEST(ProductionTest, ProducesCountMessagesFromTheFirstSequence) {
  Production production(Options(3, 100), /*first_sequence=*/10);
  std::ostringstream console;
  production.StartStream();
  std::vector<std::string> texts;
  while (std::optional<absl::string_view> message =
             production.NextToSend(&console)) {
    texts.push_back(Decoded(*message).text());
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"Mensaje 10", "Mensaje 11",
                                             "Mensaje 12"}));
  EXPECT_EQ(console.str(),
            "Produciendo: Mensaje 10\nProduciendo: Mensaje 11\n"
            "Produciendo: Mensaje 12\n");
  EXPECT_FALSE(production.Finished());  // nothing confirmed yet
  production.Confirm(13);
  EXPECT_TRUE(production.Finished());
}

TEST(ProductionTest, ANewStreamResendsWhatIsUnconfirmedWithoutReprinting) {
  Production production(Options(5, 100), 0);
  production.StartStream();
  production.NextToSend(nullptr);
  production.NextToSend(nullptr);
  production.NextToSend(nullptr);
  // The stream broke; the consumer confirmed 0 only.
  production.Confirm(1);
  std::ostringstream console;
  EXPECT_EQ(SendStream(production, &console),
            (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(console.str(), "Produciendo: Mensaje 3\nProduciendo: Mensaje 4\n");
}

TEST(ProductionTest, StopsAStreamWhenTheUnconfirmedLimitIsReached) {
  Production production(Options(5, 2), 0);
  EXPECT_EQ(SendStream(production), (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(production.unconfirmed(), 2u);
  production.Confirm(2);
  EXPECT_EQ(SendStream(production), (std::vector<uint64_t>{2, 3}));
  production.Confirm(4);
  EXPECT_EQ(SendStream(production), (std::vector<uint64_t>{4}));
  production.Confirm(5);
  EXPECT_TRUE(production.Finished());
}

TEST(ProductionTest, StopEndsProductionButKeepsUnconfirmedMessages) {
  Production production(Options(100, 100), 0);
  production.StartStream();
  production.NextToSend(nullptr);
  production.Stop();
  EXPECT_FALSE(production.NextToSend(nullptr).has_value());
  EXPECT_FALSE(production.Finished());
  EXPECT_EQ(SendStream(production), (std::vector<uint64_t>{0}));
  production.Confirm(1);
  EXPECT_TRUE(production.Finished());
  EXPECT_EQ(production.produced(), 1u);
}

ProducerOptions BatchOptions(int64_t count, int64_t batch_size) {
  ProducerOptions options = Options(count, 1000);
  options.batch_size = batch_size;
  return options;
}

v1::MensajeBatch DecodedBatch(absl::string_view bytes) {
  v1::MensajeBatch batch;
  EXPECT_TRUE(batch.ParseFromArray(bytes.data(), bytes.size()));
  return batch;
}

std::vector<uint64_t> Sequences(std::optional<absl::string_view> batch) {
  std::vector<uint64_t> sequences;
  EXPECT_TRUE(batch.has_value());
  if (!batch.has_value()) return sequences;
  const v1::MensajeBatch decoded = DecodedBatch(*batch);
  for (const v1::Mensaje& message : decoded.messages()) {
    sequences.push_back(message.sequence());
  }
  return sequences;
}

TEST(ProductionTest, BatchesAreFilledSealedAndResentUntilConfirmed) {
  Production production(BatchOptions(5, 2), 0);
  production.StartStream();
  EXPECT_FALSE(production.NextUnsentBatch().has_value());
  ASSERT_TRUE(production.ProduceIntoOpenBatch(nullptr, absl::Now(), 1));
  ASSERT_TRUE(production.ProduceIntoOpenBatch(nullptr, absl::Now(), 1));
  EXPECT_EQ(production.open_batch_size(), 2u);
  EXPECT_EQ(Sequences(production.SealOpenBatch()),
            (std::vector<uint64_t>{0, 1}));
  ASSERT_TRUE(production.ProduceIntoOpenBatch(nullptr, absl::Now(), 1));
  EXPECT_EQ(Sequences(production.SealOpenBatch()), (std::vector<uint64_t>{2}));

  // The stream broke after the consumer took 0 only.
  production.Confirm(1);
  production.StartStream();
  EXPECT_EQ(Sequences(production.NextUnsentBatch()),
            (std::vector<uint64_t>{1}));
  EXPECT_EQ(Sequences(production.NextUnsentBatch()),
            (std::vector<uint64_t>{2}));
  EXPECT_FALSE(production.NextUnsentBatch().has_value());
  ASSERT_TRUE(production.ProduceIntoOpenBatch(nullptr, absl::Now(), 1));
  ASSERT_TRUE(production.ProduceIntoOpenBatch(nullptr, absl::Now(), 1));
  EXPECT_FALSE(
      production.ProduceIntoOpenBatch(nullptr, absl::Now(), 1));  // all 5 made
  EXPECT_EQ(Sequences(production.SealOpenBatch()),
            (std::vector<uint64_t>{3, 4}));
  production.Confirm(5);
  EXPECT_TRUE(production.Finished());
}

TEST(ProductionTest, SeveralMessagesAreMadeAtOnceUpToTheLimits) {
  ProducerOptions options = Options(10, 6);
  options.batch_size = 100;
  Production production(options, 0);
  production.StartStream();
  const absl::Time created = absl::FromUnixSeconds(1'700'000'000);
  EXPECT_EQ(production.ProduceIntoOpenBatch(nullptr, created, 4), 4u);
  // Only 2 more fit under the unconfirmed limit of 6.
  EXPECT_EQ(production.ProduceIntoOpenBatch(nullptr, created, 4), 2u);
  EXPECT_EQ(production.ProduceIntoOpenBatch(nullptr, created, 4), 0u);
  EXPECT_EQ(production.open_batch_started(), created);
  EXPECT_EQ(Sequences(production.SealOpenBatch()),
            (std::vector<uint64_t>{0, 1, 2, 3, 4, 5}));
  production.Confirm(6);
  // The rest of --count (10), in a new batch.
  EXPECT_EQ(production.ProduceIntoOpenBatch(nullptr, created, 100), 4u);
  EXPECT_EQ(Sequences(production.SealOpenBatch()),
            (std::vector<uint64_t>{6, 7, 8, 9}));
}

TEST(ProductionTest, AResentBatchIsTheSameBytes) {
  Production production(BatchOptions(10, 4), 0);
  production.StartStream();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(production.ProduceIntoOpenBatch(
                  nullptr, absl::FromUnixMillis(1'700'000'000'000 + i), 1),
              1u);
  }
  const std::string sent(production.SealOpenBatch());
  ASSERT_EQ(production.ProduceIntoOpenBatch(nullptr, absl::Now(), 1), 1u);
  production.SealOpenBatch();

  // The stream broke: the first batch goes again, made anew from what was
  // kept of it.
  production.StartStream();
  const std::optional<absl::string_view> resent = production.NextUnsentBatch();
  ASSERT_TRUE(resent.has_value());
  EXPECT_EQ(*resent, sent);
}

TEST(ProductionTest, ABatchLeftOpenByABrokenStreamIsResent) {
  Production production(BatchOptions(5, 4), 0);
  production.StartStream();
  ASSERT_TRUE(production.ProduceIntoOpenBatch(nullptr, absl::Now(), 1));
  production.StartStream();
  EXPECT_EQ(Sequences(production.NextUnsentBatch()),
            (std::vector<uint64_t>{0}));
  EXPECT_EQ(production.open_batch_size(), 0u);
}

TEST(ProductionTest, ConfirmedBatchesAreReusedForNewMessages) {
  Production production(BatchOptions(6, 3), 0);
  production.StartStream();
  const absl::Time first =
      absl::FromUnixSeconds(1000) + absl::Milliseconds(250);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(production.ProduceIntoOpenBatch(nullptr, first, 1));
  }
  const absl::string_view sent = production.SealOpenBatch();
  production.Confirm(3);

  // The same sizes again, encoded into the same memory.
  production.StartStream();
  const absl::Time later = first + absl::Milliseconds(1500);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(production.ProduceIntoOpenBatch(nullptr, later, 1));
  }
  const absl::string_view reused = production.SealOpenBatch();
  EXPECT_EQ(reused.data(), sent.data());
  EXPECT_EQ(Sequences(reused), (std::vector<uint64_t>{3, 4, 5}));
  const v1::MensajeBatch decoded = DecodedBatch(reused);
  for (const v1::Mensaje& message : decoded.messages()) {
    EXPECT_EQ(message.text(), absl::StrCat("Mensaje ", message.sequence()));
    EXPECT_EQ(message.created_at().seconds(), 1001);
    EXPECT_EQ(message.created_at().nanos(), 750000000);
    EXPECT_EQ(message.producer_id(), "producer-1");
  }
}

TEST(ProductionTest, ConfirmSentDropsOnlyWholeBatchesAlreadySent) {
  Production production(BatchOptions(20, 2), 0);
  production.StartStream();
  for (int batch = 0; batch < 3; ++batch) {
    ASSERT_TRUE(production.ProduceIntoOpenBatch(nullptr, absl::Now(), 1));
    ASSERT_TRUE(production.ProduceIntoOpenBatch(nullptr, absl::Now(), 1));
    production.SealOpenBatch();  // 0-1, 2-3, 4-5
  }
  ASSERT_TRUE(production.ProduceIntoOpenBatch(nullptr, absl::Now(), 1));  // 6
  production.ConfirmSent(3);  // 0-1 whole, 2 of 2-3
  EXPECT_EQ(production.unconfirmed(), 5u);
  EXPECT_EQ(production.first_unconfirmed_sequence(), 2u);
  production.ConfirmSent(100);  // 6 is in the open batch, not sent
  EXPECT_EQ(production.unconfirmed(), 1u);
  EXPECT_EQ(Sequences(production.SealOpenBatch()), (std::vector<uint64_t>{6}));
  // The place in the stream is kept: nothing is sent twice.
  EXPECT_FALSE(production.NextUnsentBatch().has_value());
}

TEST(ProductionTest, HeldBackByLimitOnlyWhileMoreIsToBeMade) {
  Production production(Options(3, 2), 0);
  EXPECT_EQ(SendStream(production), (std::vector<uint64_t>{0, 1}));
  EXPECT_TRUE(production.HeldBackByLimit());
  production.Confirm(2);
  EXPECT_FALSE(production.HeldBackByLimit());
  EXPECT_EQ(SendStream(production), (std::vector<uint64_t>{2}));
  EXPECT_FALSE(production.HeldBackByLimit());  // all 3 made
}

TEST(ProductionTest, RateSpacesMessagesFromTheFirstOne) {
  ProducerOptions options = Options(10, 100);
  options.interval = absl::ZeroDuration();
  options.rate = 100;  // one every 10 ms
  Production production(options, 0);
  EXPECT_EQ(production.NextDue(), absl::InfinitePast());
  const absl::Time start = absl::FromUnixSeconds(1'700'000'000);
  production.StartStream();
  ASSERT_TRUE(production.ProduceIntoOpenBatch(nullptr, start, 1));
  EXPECT_EQ(production.NextDue(), start + absl::Milliseconds(10));
  // Falling behind does not move the schedule: the next ones are due.
  ASSERT_TRUE(
      production.ProduceIntoOpenBatch(nullptr, start + absl::Seconds(1), 1));
  EXPECT_EQ(production.NextDue(), start + absl::Milliseconds(20));
}

TEST(ProductionTest, DueCountFollowsTheRateCountAndLimit) {
  ProducerOptions options = Options(10, 6);
  options.interval = absl::ZeroDuration();
  options.rate = 100;  // one every 10 ms
  Production production(options, 0);
  const absl::Time start = absl::FromUnixSeconds(1'700'000'000);
  EXPECT_EQ(production.DueCount(start), 1u);  // the first, at once
  production.StartStream();
  ASSERT_TRUE(production.ProduceIntoOpenBatch(nullptr, start, 1));
  EXPECT_EQ(production.DueCount(start + absl::Milliseconds(9)), 0u);
  EXPECT_EQ(production.DueCount(start + absl::Milliseconds(10)), 1u);
  EXPECT_EQ(production.DueCount(start + absl::Milliseconds(35)), 3u);
  // Never past the unconfirmed limit (6, one already produced).
  EXPECT_EQ(production.DueCount(start + absl::Seconds(1)), 5u);

  ProducerOptions flat_out = Options(10, 100);
  flat_out.interval = absl::ZeroDuration();
  Production unpaced(flat_out, 0);
  EXPECT_EQ(unpaced.DueCount(start), 10u);  // all of --count
  unpaced.Stop();
  EXPECT_EQ(unpaced.DueCount(start), 0u);
}

TEST(ProductionTest, IntervalSpacesMessagesFromTheLastOne) {
  ProducerOptions options = Options(10, 100);
  options.interval = absl::Milliseconds(5);
  Production production(options, 0);
  const absl::Time start = absl::FromUnixSeconds(1'700'000'000);
  production.StartStream();
  ASSERT_TRUE(production.ProduceIntoOpenBatch(nullptr, start, 1));
  ASSERT_TRUE(
      production.ProduceIntoOpenBatch(nullptr, start + absl::Seconds(1), 1));
  EXPECT_EQ(production.NextDue(),
            start + absl::Seconds(1) + absl::Milliseconds(5));
}

TEST(IsRetryableTest, RetriesOnlyWhatMaySucceedLater) {
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kUnavailable, false));
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kCancelled, false));
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kDeadlineExceeded, false));
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kResourceExhausted, true));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kResourceExhausted, false));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kInvalidArgument, true));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kFailedPrecondition, false));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kPermissionDenied, false));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kUnauthenticated, false));
}

}  // namespace
}  // namespace messaging
