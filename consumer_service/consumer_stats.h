// The consumer's running totals, shared by all its streams.
//
// Thread-safe: every reactor records into the one instance the service owns,
// and GetStats reads a consistent snapshot. Per-producer figures live in
// ProducerLedger.
//
// Usage:
//   ConsumerStatsRecorder stats(absl::Now());
//   stats.StreamStarted();
//   StatsDelta delta;
//   delta.Accepted(message, absl::Now());
//   stats.Record(delta);
//   stats.StreamEnded(/*completed=*/true);
//   v1::ConsumerStats snapshot = stats.Snapshot(absl::Now());
#ifndef CONSUMER_SERVICE_CONSUMER_STATS_H_
#define CONSUMER_SERVICE_CONSUMER_STATS_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "protos/messaging/v1/messaging.pb.h"
#include "protos/messaging/v1/wire/mensaje_view.h"

namespace messaging {

// A latency distribution in log-linear buckets: 16 per power of two of
// nanoseconds, so a percentile is off by at most 1/16 (6 %), in fixed
// memory however many samples come.
class LatencyHistogram {
 public:
  // A negative latency (clocks of two machines disagree) counts as 0.
  void Record(int64_t latency_nanos);
  v1::LatencySummary Summary() const;

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
  // `completed` is true when the stream ended with a summary, false when it
  // ended with an error or a cancellation.
  void StreamEnded(bool completed);

  v1::ConsumerStats Snapshot(absl::Time now) const;

 private:
  const absl::Time started_at_;
  mutable absl::Mutex mutex_;
  uint64_t active_streams_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t completed_streams_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t failed_streams_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t messages_received_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t bytes_received_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t duplicates_dropped_ ABSL_GUARDED_BY(mutex_) = 0;
  LatencyHistogram latency_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_CONSUMER_STATS_H_
