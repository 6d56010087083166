#include "consumer_service/consumer_stats.h"

#include <algorithm>
#include <cmath>

#include "consumer_service/consume_stream.h"
#include "google/protobuf/util/time_util.h"

namespace messaging {
namespace {

using google::protobuf::util::TimeUtil;

int Log2(uint64_t value) { return 63 - __builtin_clzll(value); }

}  // namespace

int LatencyHistogram::BucketOf(uint64_t nanos) {
  if (nanos < kSubBuckets) return static_cast<int>(nanos);
  const int exponent = Log2(nanos);
  // The kSubBuckets values below the leading bit pick the sub-bucket.
  const int sub =
      static_cast<int>((nanos >> (exponent - 4)) & (kSubBuckets - 1));
  return (exponent - 3) * kSubBuckets + sub;
}

uint64_t LatencyHistogram::UpperBound(int bucket) {
  if (bucket < kSubBuckets) return static_cast<uint64_t>(bucket);
  const int exponent = bucket / kSubBuckets + 3;
  const uint64_t sub = bucket % kSubBuckets;
  const uint64_t base = (uint64_t{1} << exponent) + (sub << (exponent - 4));
  return base + (uint64_t{1} << (exponent - 4)) - 1;
}

void LatencyHistogram::Record(int64_t latency_nanos) {
  const uint64_t nanos =
      static_cast<uint64_t>(std::max<int64_t>(0, latency_nanos));
  ++counts_[std::min(BucketOf(nanos), kBuckets - 1)];
  ++samples_;
  max_nanos_ = std::max(max_nanos_, nanos);
}

uint64_t LatencyHistogram::Percentile(double fraction) const {
  const uint64_t rank = static_cast<uint64_t>(
      std::ceil(fraction * static_cast<double>(samples_)));
  uint64_t seen = 0;
  for (int bucket = 0; bucket < kBuckets; ++bucket) {
    seen += counts_[bucket];
    if (seen >= std::max<uint64_t>(rank, 1)) {
      return std::min(UpperBound(bucket), max_nanos_);
    }
  }
  return max_nanos_;
}

v1::LatencySummary LatencyHistogram::Summary() const {
  v1::LatencySummary summary;
  summary.set_samples(samples_);
  if (samples_ == 0) return summary;
  *summary.mutable_p50() = TimeUtil::NanosecondsToDuration(Percentile(0.5));
  *summary.mutable_p99() = TimeUtil::NanosecondsToDuration(Percentile(0.99));
  *summary.mutable_p999() = TimeUtil::NanosecondsToDuration(Percentile(0.999));
  *summary.mutable_max() = TimeUtil::NanosecondsToDuration(max_nanos_);
  return summary;
}

void ConsumerStatsRecorder::StreamStarted() {
  absl::MutexLock lock(&mutex_);
  ++active_streams_;
}

void StatsDelta::Accepted(const MensajeView& message, absl::Time accepted_at) {
  ++messages;
  bytes += CountedBytes(message);
  if (!message.has_created_at) return;
  if (accepted_at != accepted_at_) {
    accepted_at_ = accepted_at;
    accepted_nanos_ = absl::ToUnixNanos(accepted_at);
  }
  // Any int64 may arrive in created_at.seconds: whatever overflows is no
  // time a clock gives, and no sample.
  int64_t created_nanos;
  int64_t latency;
  if (__builtin_mul_overflow(message.created_at_seconds, int64_t{1'000'000'000},
                             &created_nanos) ||
      __builtin_add_overflow(created_nanos, int64_t{message.created_at_nanos},
                             &created_nanos) ||
      __builtin_sub_overflow(accepted_nanos_, created_nanos, &latency)) {
    return;
  }
  latency_nanos.push_back(latency);
}

void StatsDelta::Clear() {
  messages = 0;
  bytes = 0;
  duplicates = 0;
  latency_nanos.clear();
}

void ConsumerStatsRecorder::Record(const StatsDelta& delta) {
  absl::MutexLock lock(&mutex_);
  messages_received_ += delta.messages;
  bytes_received_ += delta.bytes;
  duplicates_dropped_ += delta.duplicates;
  for (int64_t latency : delta.latency_nanos) latency_.Record(latency);
}

void ConsumerStatsRecorder::RecordDurable(uint64_t messages, uint64_t bytes) {
  absl::MutexLock lock(&mutex_);
  messages_received_ += messages;
  bytes_received_ += bytes;
}

void ConsumerStatsRecorder::StreamEnded(bool completed) {
  absl::MutexLock lock(&mutex_);
  --active_streams_;
  ++(completed ? completed_streams_ : failed_streams_);
}

v1::ConsumerStats ConsumerStatsRecorder::Snapshot(absl::Time now) const {
  v1::ConsumerStats stats;
  *stats.mutable_uptime() = TimeUtil::NanosecondsToDuration(
      absl::ToInt64Nanoseconds(now - started_at_));
  absl::MutexLock lock(&mutex_);
  stats.set_active_streams(active_streams_);
  stats.set_completed_streams(completed_streams_);
  stats.set_failed_streams(failed_streams_);
  stats.set_messages_received(messages_received_);
  stats.set_bytes_received(bytes_received_);
  stats.set_duplicates_dropped(duplicates_dropped_);
  *stats.mutable_end_to_end_latency() = latency_.Summary();
  return stats;
}

}  // namespace messaging
