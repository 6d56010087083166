#include "consumer_service/consumer_stats.h"

#include <limits>
#include <thread>
#include <vector>

#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/wire/viewed_mensaje.h"
#include "testing/mensajes.h"

namespace messaging {
namespace {

using google::protobuf::util::TimeUtil;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

// Records one accepted message, as a stream reading it would.
void RecordAccepted(ConsumerStatsRecorder& stats, const v1::Mensaje& message,
                    absl::Time accepted_at) {
  StatsDelta delta;
  delta.Accepted(ViewedMensaje(message), accepted_at);
  stats.Record(delta);
}

// A demo message created at `created_at`.
v1::Mensaje MessageCreatedAt(absl::Time created_at) {
  return DemoMensaje("p", 0, {/*payload=*/"", /*created_at=*/created_at});
}

int64_t Micros(const google::protobuf::Duration& duration) {
  return TimeUtil::DurationToMicroseconds(duration);
}

TEST(ConsumerStatsRecorderTest, StartsEmptyWithUptime) {
  ConsumerStatsRecorder stats(kStart);
  v1::ConsumerStats snapshot = stats.Snapshot(kStart + absl::Seconds(3));
  EXPECT_EQ(snapshot.uptime().seconds(), 3);
  EXPECT_EQ(snapshot.active_streams(), 0u);
  EXPECT_EQ(snapshot.messages_received(), 0u);
  EXPECT_EQ(snapshot.end_to_end_latency().samples(), 0u);
}

TEST(ConsumerStatsRecorderTest, TracksStreamsMessagesAndDuplicates) {
  ConsumerStatsRecorder stats(kStart);
  stats.StreamStarted();
  stats.StreamStarted();
  stats.StreamStarted();
  StatsDelta delta;
  delta.Accepted(ViewedMensaje(MessageCreatedAt(kStart)), kStart);
  delta.Accepted(ViewedMensaje(MessageCreatedAt(kStart)), kStart);
  delta.duplicates = 1;
  stats.Record(delta);
  stats.StreamEnded(absl::StatusCode::kOk);
  stats.StreamEnded(absl::StatusCode::kCancelled);

  v1::ConsumerStats snapshot = stats.Snapshot(kStart);
  EXPECT_EQ(snapshot.active_streams(), 1u);
  EXPECT_EQ(snapshot.completed_streams(), 1u);
  EXPECT_EQ(snapshot.failed_streams(), 1u);
  EXPECT_EQ(snapshot.messages_received(), 2u);
  EXPECT_EQ(snapshot.bytes_received(), 2 * std::string("Mensaje 0").size());
  EXPECT_EQ(snapshot.duplicates_dropped(), 1u);
}

TEST(ConsumerStatsRecorderTest, LatencyPercentilesWithinSixPercent) {
  ConsumerStatsRecorder stats(kStart);
  // 1..1000 microseconds, one sample each.
  for (int micros = 1; micros <= 1000; ++micros) {
    RecordAccepted(stats, MessageCreatedAt(kStart),
                   kStart + absl::Microseconds(micros));
  }
  const v1::LatencySummary latency =
      stats.Snapshot(kStart).end_to_end_latency();
  EXPECT_EQ(latency.samples(), 1000u);
  EXPECT_NEAR(Micros(latency.p50()), 500, 500 * 0.07);
  EXPECT_NEAR(Micros(latency.p99()), 990, 990 * 0.07);
  EXPECT_NEAR(Micros(latency.p999()), 999, 999 * 0.07);
  EXPECT_EQ(Micros(latency.max()), 1000);
}

TEST(ConsumerStatsRecorderTest, NegativeLatencyFromSkewedClocksCountsAsZero) {
  ConsumerStatsRecorder stats(kStart);
  RecordAccepted(stats, MessageCreatedAt(kStart + absl::Seconds(1)), kStart);
  const v1::LatencySummary latency =
      stats.Snapshot(kStart).end_to_end_latency();
  EXPECT_EQ(latency.samples(), 1u);
  EXPECT_EQ(Micros(latency.max()), 0);
}

TEST(ConsumerStatsRecorderTest, ATimestampOutOfRangeCountsTheMessageOnly) {
  ConsumerStatsRecorder stats(kStart);
  for (const int64_t seconds : {std::numeric_limits<int64_t>::max(),
                                std::numeric_limits<int64_t>::min()}) {
    v1::Mensaje message = MessageCreatedAt(kStart);
    message.mutable_created_at()->set_seconds(seconds);
    RecordAccepted(stats, message, kStart);
  }
  RecordAccepted(stats, MessageCreatedAt(kStart - absl::Milliseconds(3)),
                 kStart);
  const v1::ConsumerStats snapshot = stats.Snapshot(kStart);
  EXPECT_EQ(snapshot.messages_received(), 3u);
  EXPECT_EQ(snapshot.end_to_end_latency().samples(), 1u);
  EXPECT_EQ(Micros(snapshot.end_to_end_latency().max()), 3000);
}

TEST(ConsumerStatsRecorderTest, CountsEveryMessageFromConcurrentStreams) {
  ConsumerStatsRecorder stats(kStart);
  constexpr int kThreads = 8;
  constexpr int kMessagesPerThread = 10'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&stats] {
      stats.StreamStarted();
      for (int i = 0; i < kMessagesPerThread; ++i) {
        RecordAccepted(stats, MessageCreatedAt(kStart), kStart);
      }
      stats.StreamEnded(absl::StatusCode::kOk);
    });
  }
  for (std::thread& thread : threads) thread.join();
  v1::ConsumerStats snapshot = stats.Snapshot(kStart);
  EXPECT_EQ(snapshot.messages_received(), kThreads * kMessagesPerThread);
  EXPECT_EQ(snapshot.end_to_end_latency().samples(),
            kThreads * kMessagesPerThread);
  EXPECT_EQ(snapshot.completed_streams(), static_cast<uint64_t>(kThreads));
  EXPECT_EQ(snapshot.active_streams(), 0u);
}

TEST(ConsumerStatsRecorderTest, TotalsTellStreamOutcomesAndRefusalsApart) {
  ConsumerStatsRecorder stats(kStart);
  for (int i = 0; i < 6; ++i) stats.StreamStarted();
  for (absl::StatusCode code :
       {absl::StatusCode::kOk, absl::StatusCode::kOk,
        absl::StatusCode::kInvalidArgument,
        absl::StatusCode::kFailedPrecondition, absl::StatusCode::kCancelled}) {
    stats.StreamEnded(code);
  }
  stats.CallRefused(absl::StatusCode::kInvalidArgument);

  const ConsumerTotals totals = stats.Totals();
  EXPECT_EQ(totals.streams_started, 6u);
  EXPECT_EQ(totals.active_streams, 1u);
  auto ended = [&](StreamOutcome outcome) {
    return totals.streams_ended[static_cast<int>(outcome)];
  };
  EXPECT_EQ(ended(StreamOutcome::kCompleted), 2u);
  EXPECT_EQ(ended(StreamOutcome::kInvalid), 1u);
  EXPECT_EQ(ended(StreamOutcome::kGap), 1u);
  EXPECT_EQ(ended(StreamOutcome::kCancelled), 1u);
  EXPECT_EQ(ended(StreamOutcome::kIdle), 0u);
  // A stream's and a unary call's INVALID_ARGUMENT; neither OK nor
  // CANCELLED is a refusal.
  EXPECT_EQ(
      totals.refusals[static_cast<int>(absl::StatusCode::kInvalidArgument)],
      2u);
  EXPECT_EQ(
      totals.refusals[static_cast<int>(absl::StatusCode::kFailedPrecondition)],
      1u);
  EXPECT_EQ(totals.refusals[static_cast<int>(absl::StatusCode::kOk)], 0u);
  EXPECT_EQ(totals.refusals[static_cast<int>(absl::StatusCode::kCancelled)],
            0u);

  const v1::ConsumerStats snapshot = stats.Snapshot(kStart);
  EXPECT_EQ(snapshot.completed_streams(), 2u);
  EXPECT_EQ(snapshot.failed_streams(), 3u);
}

TEST(ConsumerStatsRecorderTest, LatencyBucketsCountEachSampleUnderItsBound) {
  ConsumerStatsRecorder stats(kStart);
  // On a bound (le is inclusive), just above it, and above every bound.
  for (absl::Duration latency :
       {absl::Microseconds(100), absl::Microseconds(101), absl::Milliseconds(1),
        absl::Seconds(11)}) {
    RecordAccepted(stats, MessageCreatedAt(kStart), kStart + latency);
  }
  const LatencyBuckets buckets = stats.Totals().end_to_end_latency;
  ASSERT_EQ(LatencyBuckets::kUpperBoundSeconds[0], 0.0001);
  ASSERT_EQ(LatencyBuckets::kUpperBoundSeconds[3], 0.001);
  EXPECT_EQ(buckets.counts[0], 1u);                        // <= 100 us
  EXPECT_EQ(buckets.counts[1], 1u);                        // <= 250 us
  EXPECT_EQ(buckets.counts[3], 1u);                        // <= 1 ms
  EXPECT_EQ(buckets.counts[LatencyBuckets::kBounds], 1u);  // +Inf
  uint64_t samples = 0;
  for (uint64_t count : buckets.counts) samples += count;
  EXPECT_EQ(samples, stats.Snapshot(kStart).end_to_end_latency().samples());
  EXPECT_DOUBLE_EQ(buckets.sum_seconds, 0.0001 + 0.000101 + 0.001 + 11);
}

TEST(StreamOutcomeTest, EachCodeTheConsumerEndsAStreamWithHasItsOutcome) {
  EXPECT_EQ(StreamOutcomeName(OutcomeOf(absl::StatusCode::kOk)), "completed");
  EXPECT_EQ(StreamOutcomeName(OutcomeOf(absl::StatusCode::kDeadlineExceeded)),
            "idle");
  EXPECT_EQ(StreamOutcomeName(OutcomeOf(absl::StatusCode::kResourceExhausted)),
            "refused");
  EXPECT_EQ(StreamOutcomeName(OutcomeOf(absl::StatusCode::kUnavailable)),
            "unavailable");
  EXPECT_EQ(StreamOutcomeName(OutcomeOf(absl::StatusCode::kInternal)),
            "failed");
}

}  // namespace
}  // namespace messaging
