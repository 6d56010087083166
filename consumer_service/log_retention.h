// Which closed segments of the message log retention deletes.
//
// Whole segments only, oldest first and only a prefix of them, so the log
// never has a hole; never the active segment; and never a segment a kept
// producer-state snapshot needs: start-up (or its fallback to an older
// snapshot) replays from a snapshot's offset, so every segment from the
// oldest kept snapshot's offset on stays.
//
// Usage:
//   size_t doomed = SegmentsToDelete(closed, policy, oldest_snapshot, now);
//   // delete closed[0 .. doomed)
#ifndef CONSUMER_SERVICE_LOG_RETENTION_H_
#define CONSUMER_SERVICE_LOG_RETENTION_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"

namespace messaging {

struct RetentionPolicy {
  // Delete the oldest segments while the log (all segments) is larger; 0
  // keeps any size.
  uint64_t bytes = 0;
  // Delete segments last written longer ago; InfiniteDuration keeps all.
  absl::Duration time = absl::InfiniteDuration();
};

struct ClosedSegment {
  uint64_t base_offset = 0;
  // The base offset of the segment after it.
  uint64_t end_offset = 0;
  uint64_t bytes = 0;
  absl::Time last_written;
};

// How many of `closed` (ascending, all before the active segment) to
// delete, from the first. `active_bytes` counts toward the log's size;
// segments ending after `keep_from` (the oldest kept snapshot's offset)
// are kept whatever the policy.
size_t SegmentsToDelete(const std::vector<ClosedSegment>& closed,
                        uint64_t active_bytes, const RetentionPolicy& policy,
                        uint64_t keep_from, absl::Time now);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_LOG_RETENTION_H_
