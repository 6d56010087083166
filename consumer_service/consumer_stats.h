// The consumer's running totals, shared by all its streams.
//
// Thread-safe: every reactor records into the one instance the service owns,
// and GetStats reads a consistent snapshot.
//
// Usage:
//   ConsumerStatsRecorder stats(absl::Now());
//   stats.StreamStarted();
//   stats.MessageAccepted(message);
//   stats.StreamEnded(/*completed=*/true);
//   messaging::v1::ConsumerStats snapshot = stats.Snapshot(absl::Now());
#ifndef CONSUMER_SERVICE_CONSUMER_STATS_H_
#define CONSUMER_SERVICE_CONSUMER_STATS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

class ConsumerStatsRecorder {
 public:
  explicit ConsumerStatsRecorder(absl::Time started_at)
      : started_at_(started_at) {}

  void StreamStarted();
  void MessageAccepted(const v1::Mensaje& message);
  // `completed` is true when the stream ended with a summary, false when it
  // ended with an error or a cancellation.
  void StreamEnded(bool completed);

  v1::ConsumerStats Snapshot(absl::Time now) const;

 private:
  struct PerProducer {
    uint64_t messages_received = 0;
    uint64_t last_sequence = 0;
  };

  const absl::Time started_at_;
  mutable absl::Mutex mutex_;
  uint64_t active_streams_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t completed_streams_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t failed_streams_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t messages_received_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t bytes_received_ ABSL_GUARDED_BY(mutex_) = 0;
  // Ordered, so that snapshots list producers by id.
  std::map<std::string, PerProducer> producers_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_CONSUMER_STATS_H_
