#include "consumer_service/stream_outcome.h"

namespace messaging {

StreamOutcome OutcomeOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return StreamOutcome::kCompleted;
    case absl::StatusCode::kInvalidArgument:
      return StreamOutcome::kInvalid;
    case absl::StatusCode::kFailedPrecondition:
      return StreamOutcome::kGap;
    case absl::StatusCode::kDeadlineExceeded:
      return StreamOutcome::kIdle;
    case absl::StatusCode::kResourceExhausted:
      return StreamOutcome::kRefused;
    case absl::StatusCode::kUnavailable:
      return StreamOutcome::kUnavailable;
    case absl::StatusCode::kCancelled:
      return StreamOutcome::kCancelled;
    default:
      return StreamOutcome::kFailed;
  }
}

absl::string_view StreamOutcomeName(StreamOutcome outcome) {
  switch (outcome) {
    case StreamOutcome::kCompleted:
      return "completed";
    case StreamOutcome::kInvalid:
      return "invalid";
    case StreamOutcome::kGap:
      return "gap";
    case StreamOutcome::kIdle:
      return "idle";
    case StreamOutcome::kRefused:
      return "refused";
    case StreamOutcome::kUnavailable:
      return "unavailable";
    case StreamOutcome::kCancelled:
      return "cancelled";
    case StreamOutcome::kFailed:
      break;
  }
  return "failed";
}

}  // namespace messaging
