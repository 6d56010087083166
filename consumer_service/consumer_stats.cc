#include "consumer_service/consumer_stats.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include "consumer_service/consume_stream.h"
#include "google/protobuf/util/time_util.h"

namespace messaging {
namespace {

using google::protobuf::util::TimeUtil;

int Log2(uint64_t value) { return 63 - __builtin_clzll(value); }

// LatencyBuckets' bounds in nanoseconds, so that a sample is placed by
// integer comparisons.
constexpr int64_t kBucketBoundNanos[LatencyBuckets::kBounds] = {
    100'000,      250'000,      500'000,      1'000'000,
    2'500'000,    5'000'000,    10'000'000,   25'000'000,
    50'000'000,   100'000'000,  250'000'000,  500'000'000,
    1000'000'000, 2500'000'000, 5000'000'000, 10'000'000'000};

}  // namespace

const double LatencyBuckets::kUpperBoundSeconds[kBounds] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};

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
  // The first bound at least as large: Prometheus' `le`.
  const int64_t signed_nanos = static_cast<int64_t>(nanos);
  ++buckets_
        .counts[std::lower_bound(std::begin(kBucketBoundNanos),
                                 std::end(kBucketBoundNanos), signed_nanos) -
                std::begin(kBucketBoundNanos)];
  buckets_.sum_seconds += static_cast<double>(nanos) * 1e-9;
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
  ++totals_.streams_started;
  ++totals_.active_streams;
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
  totals_.messages_received += delta.messages;
  totals_.bytes_received += delta.bytes;
  totals_.duplicates_dropped += delta.duplicates;
  for (int64_t latency : delta.latency_nanos) latency_.Record(latency);
}

void ConsumerStatsRecorder::RecordDurable(uint64_t messages, uint64_t bytes) {
  absl::MutexLock lock(&mutex_);
  totals_.messages_received += messages;
  totals_.bytes_received += bytes;
}

void ConsumerStatsRecorder::StreamEnded(absl::StatusCode code) {
  absl::MutexLock lock(&mutex_);
  --totals_.active_streams;
  ++totals_.streams_ended[static_cast<int>(OutcomeOf(code))];
  CountRefusal(code);
}

void ConsumerStatsRecorder::CallRefused(absl::StatusCode code) {
  absl::MutexLock lock(&mutex_);
  CountRefusal(code);
}

void ConsumerStatsRecorder::CountRefusal(absl::StatusCode code) {
  const int index = static_cast<int>(code);
  if (code == absl::StatusCode::kOk || code == absl::StatusCode::kCancelled ||
      index < 0 || index >= ConsumerTotals::kStatusCodes) {
    return;
  }
  ++totals_.refusals[index];
}

v1::ConsumerStats ConsumerStatsRecorder::Snapshot(absl::Time now) const {
  v1::ConsumerStats stats;
  *stats.mutable_uptime() = TimeUtil::NanosecondsToDuration(
      absl::ToInt64Nanoseconds(now - started_at_));
  absl::MutexLock lock(&mutex_);
  const uint64_t completed =
      totals_.streams_ended[static_cast<int>(StreamOutcome::kCompleted)];
  uint64_t ended = 0;
  for (uint64_t streams : totals_.streams_ended) ended += streams;
  stats.set_active_streams(totals_.active_streams);
  stats.set_completed_streams(completed);
  stats.set_failed_streams(ended - completed);
  stats.set_messages_received(totals_.messages_received);
  stats.set_bytes_received(totals_.bytes_received);
  stats.set_duplicates_dropped(totals_.duplicates_dropped);
  *stats.mutable_end_to_end_latency() = latency_.Summary();
  return stats;
}

ConsumerTotals ConsumerStatsRecorder::Totals() const {
  absl::MutexLock lock(&mutex_);
  ConsumerTotals totals = totals_;
  totals.end_to_end_latency = latency_.buckets();
  return totals;
}

}  // namespace messaging
