// How a Consume or ConsumeBatches stream ended, told apart by the status it
// ended with: what GetStats sums into completed_streams and failed_streams,
// and what the consumer_streams_ended_total metric labels.
//
// Usage:
//   StreamOutcome outcome = OutcomeOf(absl::StatusCode::kFailedPrecondition);
//   StreamOutcomeName(outcome);  // "gap"
#ifndef CONSUMER_SERVICE_STREAM_OUTCOME_H_
#define CONSUMER_SERVICE_STREAM_OUTCOME_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace messaging {

enum class StreamOutcome {
  // OK: ended with its summary.
  kCompleted,
  // INVALID_ARGUMENT: a message broke a rule of Mensaje, or did not decode.
  kInvalid,
  // FAILED_PRECONDITION: a sequence left a gap.
  kGap,
  // DEADLINE_EXCEEDED: the producer sent nothing for the idle timeout.
  kIdle,
  // RESOURCE_EXHAUSTED: refused, too many streams were open.
  kRefused,
  // UNAVAILABLE: the log could not be written, or the consumer was stopping.
  kUnavailable,
  // CANCELLED: the call ended without the consumer's answer: the producer
  // cancelled it or went away, a gRPC limit cut it (a message larger than
  // --max_message_bytes), or shutdown's grace period ran out.
  kCancelled,
  // Any other status.
  kFailed,
};
inline constexpr int kStreamOutcomes = 8;

// The outcome of a stream that ended with `code`; CANCELLED for a call
// cancelled before the consumer answered it.
StreamOutcome OutcomeOf(absl::StatusCode code);

// Lower case, one word: "completed", "invalid", "gap", ...
absl::string_view StreamOutcomeName(StreamOutcome outcome);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_STREAM_OUTCOME_H_
