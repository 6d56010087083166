// The consumer's running totals, shared by all its streams.
//
// Thread-safe: every reactor records into the one instance the service owns,
// and GetStats reads a consistent snapshot; so does each scrape of /metrics
// (Totals), so that the two report the same counts. Per-producer figures
// live in ProducerLedger.
//
// Usage:
//   ConsumerStatsRecorder stats(absl::Now());
//   stats.StreamStarted();
//   StatsDelta delta;
//   delta.Accepted(message, absl::Now());
//   stats.Record(delta);
//   stats.StreamEnded(absl::StatusCode::kOk);  // completed
//   stats.CallRefused(absl::StatusCode::kInvalidArgument);  // a unary call
//   v1::ConsumerStats snapshot = stats.Snapshot(absl::Now());
//   ConsumerTotals totals = stats.Totals();
#ifndef CONSUMER_SERVICE_CONSUMER_STATS_H_
#define CONSUMER_SERVICE_CONSUMER_STATS_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "consumer_service/stream_outcome.h"
#include "protos/messaging/v1/messaging.pb.h"
#include "protos/messaging/v1/wire/mensaje_view.h"

namespace messaging {

// The latency distribution in a few fixed buckets, for Prometheus: its
// quantiles come from bucket counts, so the bounds are round numbers around
// what matters, not the recorder's fine buckets.
struct LatencyBuckets {
  // Upper bounds in seconds: 100 us to 10 s, in 1-2.5-5 steps.
  static constexpr int kBounds = 16;
  static const double kUpperBoundSeconds[kBounds];

  // Per bound, the samples above the previous bound and at most this one;
  // last, those above every bound. Sums to the samples recorded.
  std::array<uint64_t, kBounds + 1> counts{};
  double sum_seconds = 0;
};

// A latency distribution in log-linear buckets: 16 per power of two of
// nanoseconds, so a percentile is off by at most 1/16 (6 %), in fixed
// memory however many samples come.
class LatencyHistogram {
 public:
  // A negative latency (clocks of two machines disagree) counts as 0.
  void Record(int64_t latency_nanos);
  v1::LatencySummary Summary() const;
  const LatencyBuckets& buckets() const { return buckets_; }

 private:
  static constexpr int kSubBuckets = 16;
  static constexpr int kBuckets = 64 * kSubBuckets;

  static int BucketOf(uint64_t nanos);
  // The largest latency that falls in `bucket`.
  static uint64_t UpperBound(int bucket);
  uint64_t Percentile(double fraction) const;

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t samples_ = 0;
  uint64_t max_nanos_ = 0;
  LatencyBuckets buckets_;
};

// What one read of a stream (a message or a batch) adds to the totals, so
// that the shared recorder is locked once per read, not per message.
struct StatsDelta {
  // Counts `message`, accepted at `accepted_at`.
  void Accepted(const MensajeView& message, absl::Time accepted_at);
  void Clear();

  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t duplicates = 0;
  // End-to-end latency of each accepted message whose created_at is a time
  // that nanoseconds since 1970 in 64 bits can hold.
  std::vector<int64_t> latency_nanos;

 private:
  // The last accepted_at, in Unix nanoseconds: the messages of one read
  // share it, and converting it was a visible cost per message.
  absl::Time accepted_at_ = absl::InfinitePast();
  int64_t accepted_nanos_ = 0;
};

// Every total the recorder keeps, read at one moment.
struct ConsumerTotals {
  uint64_t streams_started = 0;
  uint64_t active_streams = 0;
  // Indexed by StreamOutcome.
  std::array<uint64_t, kStreamOutcomes> streams_ended{};
  // Calls the consumer refused, indexed by status code (OK and CANCELLED
  // stay 0: neither is the consumer's refusal).
  static constexpr int kStatusCodes = 17;
  std::array<uint64_t, kStatusCodes> refusals{};
  uint64_t messages_received = 0;
  uint64_t bytes_received = 0;
  uint64_t duplicates_dropped = 0;
  LatencyBuckets end_to_end_latency;
};

class ConsumerStatsRecorder {
 public:
  explicit ConsumerStatsRecorder(absl::Time started_at)
      : started_at_(started_at) {}

  void StreamStarted();
  void Record(const StatsDelta& delta);
  // Counts messages accepted earlier, once they are durable: with a log,
  // Record is given deltas without their messages and bytes, which come
  // here when the log has them on disk.
  void RecordDurable(uint64_t messages, uint64_t bytes);
  // `code`: the status the stream ended with (OK: with its summary),
  // CANCELLED when it was cancelled before the consumer answered. Any other
  // code counts as a refusal too.
  void StreamEnded(absl::StatusCode code);
  // A unary call answered with the error `code`.
  void CallRefused(absl::StatusCode code);

  v1::ConsumerStats Snapshot(absl::Time now) const;
  ConsumerTotals Totals() const;

 private:
  const absl::Time started_at_;
  mutable absl::Mutex mutex_;
  void CountRefusal(absl::StatusCode code)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  ConsumerTotals totals_ ABSL_GUARDED_BY(mutex_);
  LatencyHistogram latency_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_CONSUMER_STATS_H_
