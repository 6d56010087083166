#include "consumer_service/log_retention.h"

namespace messaging {

size_t SegmentsToDelete(const std::vector<ClosedSegment>& closed,
                        uint64_t active_bytes, const RetentionPolicy& policy,
                        uint64_t keep_from, absl::Time now) {
  uint64_t total = active_bytes;
  for (const ClosedSegment& segment : closed) total += segment.bytes;
  size_t doomed = 0;
  for (const ClosedSegment& segment : closed) {
    if (segment.end_offset > keep_from) break;
    const bool too_big = policy.bytes > 0 && total > policy.bytes;
    const bool too_old = now - segment.last_written > policy.time;
    if (!too_big && !too_old) break;
    total -= segment.bytes;
    ++doomed;
  }
  return doomed;
}

}  // namespace messaging
