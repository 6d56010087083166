#include "producer_service/production.h"

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {
namespace {

ProducerOptions Options(int64_t count, int64_t max_unconfirmed) {
  ProducerOptions options;
  options.producer_id = "producer-1";
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

TEST(ProductionTest, TakenEncodingsAreTheBytesSentAndLeaveTheNextIntact) {
  Production production(BatchOptions(10, 2), 0);
  production.StartStream();
  ASSERT_EQ(production.ProduceIntoOpenBatch(nullptr, absl::Now(), 2), 2u);
  const std::string sealed(production.SealOpenBatch());
  const std::string taken = production.TakeEncoding();
  EXPECT_EQ(taken, sealed);

  // The next batch is encoded into memory of its own, whole.
  ASSERT_EQ(production.ProduceIntoOpenBatch(nullptr, absl::Now(), 2), 2u);
  EXPECT_EQ(Sequences(production.SealOpenBatch()),
            (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(Sequences(production.TakeEncoding()),
            (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(Sequences(taken), (std::vector<uint64_t>{0, 1}));
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

}  // namespace
}  // namespace messaging
