// MessageLog's rolls, on the writer thread: the new segment a marker starts,
// and the producer-state snapshot saved there once the records before it
// are on the disk (Kafka's segment roll and producer snapshot).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "consumer_service/log_directory.h"
#include "consumer_service/message_log.h"
#include "consumer_service/producer_snapshot.h"

namespace messaging {
namespace {

// Snapshots kept: the newest, and older ones to fall back to should it be
// damaged. Retention keeps every segment from the oldest one's offset on.
constexpr size_t kSnapshotsKept = 3;

}  // namespace

absl::Status MessageLog::StartSegment(uint64_t base_offset) {
  const std::string path = SegmentPath(directory_, base_offset);
  const int fd =
      open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot create the segment ", path, ": ", std::strerror(errno)));
  }
  // Without its directory entry a crash would lose the new segment with
  // every record confirmed from it.
  if (absl::Status synced = SyncDirectory(directory_); !synced.ok()) {
    close(fd);
    FailForGood(synced);
    return synced;
  }
  close(fd_);
  fd_ = fd;
  active_base_ = base_offset;
  active_file_bytes_ = 0;
  writeback_from_ = 0;
  StartDirectWrites();
  segments_.push_back(base_offset);
  segment_count_.store(segments_.size(), std::memory_order_relaxed);
  return absl::OkStatus();
}

void MessageLog::SaveSnapshot(consumer::v1::ProducerStateSnapshot state) {
  const uint64_t offset = state.offset();
  if (absl::Status written = WriteSnapshotFile(directory_, state, ops_);
      !written.ok()) {
    LogWarning(absl::StrCat(written.message(),
                            "; the next start replays from an older "
                            "snapshot"));
    return;
  }
  if (kept_snapshots_.empty() || kept_snapshots_.back() != offset) {
    kept_snapshots_.push_back(offset);
  }
  while (kept_snapshots_.size() > kSnapshotsKept) {
    unlink(SnapshotPath(directory_, kept_snapshots_.front()).c_str());
    kept_snapshots_.erase(kept_snapshots_.begin());
  }
}

}  // namespace messaging
