#include "producer_service/producer_options.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace messaging {
namespace {

// Far above any sensible payload, well below gRPC's own hard limits.
constexpr int64_t kMaxPayloadBytes = 64 * 1024 * 1024;
constexpr int64_t kMaxBatchSize = 65536;
constexpr int kMaxStreams = 10000;
// Stands for the producer's consumer shard in --target.
constexpr char kShardPlaceholder[] = "{shard}";

}  // namespace

absl::Status ValidateProducerOptions(const ProducerOptions& options) {
  if (options.target.empty()) {
    return absl::InvalidArgumentError(
        "--target is empty; give the consumer's address, e.g. "
        "localhost:50051");
  }
  const bool has_placeholder =
      options.target.find(kShardPlaceholder) != std::string::npos;
  if (options.consumer_shards < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--consumer_shards=", options.consumer_shards, " must be at least 1"));
  }
  if (has_placeholder != (options.consumer_shards > 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--target='", options.target,
        "' and --consumer_shards=", options.consumer_shards,
        " disagree: with more than one shard the "
        "target must contain ",
        kShardPlaceholder,
        " (e.g. dns:///consumer-{shard}.consumer-headless:50051), and only "
        "then"));
  }
  if (options.count < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--count=", options.count, " is negative; use 0 or more"));
  }
  if (options.rate < 0 ||
      (options.rate > 0 && options.interval > absl::ZeroDuration())) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rate=", options.rate,
                     " must be 0 or more, and not used together "
                     "with --interval: pace by one or the other"));
  }
  if (options.payload_bytes < 0 || options.payload_bytes > kMaxPayloadBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--payload_bytes=", options.payload_bytes,
                     " is out of range; use 0 to ", kMaxPayloadBytes));
  }
  if (options.producer_id.empty()) {
    return absl::InvalidArgumentError(
        "--producer_id is empty; give this producer a name");
  }
  if (options.batch_size < 1 || options.batch_size > kMaxBatchSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--batch_size=", options.batch_size,
        " is out of range; use 1 (no batches) to ", kMaxBatchSize));
  }
  if (options.streams < 1 || options.streams > kMaxStreams) {
    return absl::InvalidArgumentError(
        absl::StrCat("--streams=", options.streams,
                     " is out of range; use 1 to ", kMaxStreams));
  }
  if (options.channels < 1 || options.channels > kMaxStreams) {
    return absl::InvalidArgumentError(
        absl::StrCat("--channels=", options.channels,
                     " is out of range; use 1 to ", kMaxStreams));
  }
  if (options.max_unconfirmed < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_unconfirmed=", options.max_unconfirmed, " must be at least 1"));
  }
  const struct {
    const char* flag;
    absl::Duration value;
    bool zero_allowed;
  } durations[] = {
      {"interval", options.interval, true},
      {"batch_delay", options.batch_delay, true},
      {"connect_timeout", options.connect_timeout, false},
      {"deadline", options.deadline, false},
      {"initial_backoff", options.initial_backoff, false},
      {"max_backoff", options.max_backoff, false},
  };
  for (const auto& duration : durations) {
    if (duration.value < absl::ZeroDuration() ||
        (duration.value == absl::ZeroDuration() && !duration.zero_allowed)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", duration.flag, "=", absl::FormatDuration(duration.value),
          duration.zero_allowed ? " is negative; use 0 or more, e.g. 100ms"
                                : " must be positive, e.g. 10s"));
    }
  }
  if (options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError(
        "--max_backoff must not be below --initial_backoff");
  }
  return absl::OkStatus();
}

int ConsumerShard(absl::string_view producer_id, int shards) {
  uint64_t hash = 14695981039346656037u;  // FNV-1a, 64 bits
  for (char c : producer_id) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211u;
  }
  return static_cast<int>(hash % static_cast<uint64_t>(shards));
}

std::string ResolveTarget(const ProducerOptions& options) {
  if (options.consumer_shards <= 1) return options.target;
  return absl::StrReplaceAll(
      options.target, {{kShardPlaceholder,
                        absl::StrCat(ConsumerShard(options.producer_id,
                                                   options.consumer_shards))}});
}

}  // namespace messaging
