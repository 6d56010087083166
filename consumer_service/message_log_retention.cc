// MessageLog's retention: which closed segments to delete, Kafka style (by
// total bytes and by age), on the writer thread after a roll and once a
// minute when idle. The choice itself is SegmentsToDelete (log_retention.h).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "consumer_service/log_directory.h"
#include "consumer_service/log_retention.h"
#include "consumer_service/message_log.h"

namespace messaging {

void MessageLog::ApplyRetention() {
  std::vector<ClosedSegment> closed;
  for (size_t i = 0; i + 1 < segments_.size(); ++i) {
    struct stat info;
    if (stat(SegmentPath(directory_, segments_[i]).c_str(), &info) != 0) break;
    closed.push_back({segments_[i], segments_[i + 1],
                      static_cast<uint64_t>(info.st_size),
                      absl::TimeFromTimespec(info.st_mtim)});
  }
  const uint64_t keep_from =
      kept_snapshots_.empty() ? 0 : kept_snapshots_.front();
  const size_t doomed = SegmentsToDelete(closed, active_file_bytes_, retention_,
                                         keep_from, absl::Now());
  size_t deleted = 0;
  uint64_t deleted_bytes = 0;
  for (; deleted < doomed; ++deleted) {
    const std::string path =
        SegmentPath(directory_, closed[deleted].base_offset);
    if (unlink(path.c_str()) != 0) {
      LogWarning(absl::StrCat("retention cannot delete ", path, ": ",
                              std::strerror(errno)));
      break;
    }
    deleted_bytes += closed[deleted].bytes;
    LogInfo(absl::StrCat("retention deleted ", path, " (",
                         closed[deleted].bytes, " bytes, offsets ",
                         closed[deleted].base_offset, " to ",
                         closed[deleted].end_offset - 1, ")"));
  }
  if (deleted == 0) return;
  segments_.erase(segments_.begin(), segments_.begin() + deleted);
  segments_deleted_ += deleted;
  disk_bytes_.fetch_sub(deleted_bytes, std::memory_order_relaxed);
  segment_count_.store(segments_.size(), std::memory_order_relaxed);
  if (absl::Status synced = SyncDirectory(directory_); !synced.ok()) {
    LogWarning(synced.message());
  }
}

}  // namespace messaging
