// MessageLog's writes to its active segment, on the writer thread: through
// O_DIRECT where the file system allows it (direct_appender.h), otherwise
// through the page cache, whose writeback the writer starts early without
// group commit.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "consumer_service/log_directory.h"
#include "consumer_service/message_log.h"

namespace messaging {
namespace {

// Without group commit, the writer asks the kernel to start writing back
// each segment's records every this many bytes (see StartWriteback).
constexpr uint64_t kWritebackBytes = 1 << 20;

}  // namespace

void MessageLog::StartDirectWrites() {
  // Without group commit too: the writer has its own thread, so waiting for
  // the disk costs less than the page cache's copy and writeback (10 M
  // batched messages: 1.25-1.29 s against 1.51-1.76 s).
  direct_writes_ =
      direct_writes_wanted_ && direct_.Start(fd_, active_file_bytes_);
}

absl::Status MessageLog::TrimBlockPadding() {
  if (!direct_writes_) return absl::OkStatus();
  if (ops_.Ftruncate(fd_, static_cast<off_t>(active_file_bytes_)) == 0) {
    return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat(
      "cannot trim ", SegmentPath(directory_, active_base_),
      " to its last record: ", std::strerror(errno), " (retrying every ",
      absl::FormatDuration(retry_interval_), ")"));
}

absl::Status MessageLog::WriteChunk(absl::string_view data) {
  const absl::string_view out = direct_writes_ ? direct_.Stage(data) : data;
  const uint64_t at = direct_writes_ ? direct_.offset() : active_file_bytes_;
  for (size_t done = 0; done < out.size();) {
    ssize_t n = ops_.Pwrite(fd_, out.data() + done, out.size() - done,
                            static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL && direct_writes_) {
      // The file system took O_DIRECT but not these blocks: a device
      // whose logical block is larger than ours, or a file size limit that
      // cut the write to an unaligned length. This segment does without
      // it; the next one tries again.
      LogWarning(absl::StrCat("message log ",
                              SegmentPath(directory_, active_base_),
                              ": O_DIRECT refused a write (", strerror(EINVAL),
                              "); writing it through the page cache"));
      fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) & ~O_DIRECT);
      direct_writes_ = false;
      ops_.Ftruncate(fd_, static_cast<off_t>(active_file_bytes_));
      return WriteChunk(data);
    }
    // O_DIRECT goes on only from a block boundary: a write cut short in a
    // block writes that block again.
    if (n > 0 && direct_writes_) n -= (done + n) % DirectAppender::kBlockBytes;
    if (n <= 0) {
      const int error = n < 0 ? errno : EIO;
      // Cut the segment back to its last whole record: a retry writes the
      // same bytes there again, and a crash meanwhile leaves no half record
      // for recovery to judge.
      if (ops_.Ftruncate(fd_, static_cast<off_t>(active_file_bytes_)) != 0) {
        LogWarning(absl::StrCat("cannot cut back ",
                                SegmentPath(directory_, active_base_), ": ",
                                std::strerror(errno)));
      }
      return absl::UnavailableError(absl::StrCat(
          "cannot write the message log ",
          SegmentPath(directory_, active_base_), ": ", std::strerror(error),
          " (retrying every ", absl::FormatDuration(retry_interval_), ")"));
    }
    done += static_cast<size_t>(n);
  }
  if (direct_writes_) direct_.Commit();
  active_file_bytes_ += data.size();
  disk_bytes_.fetch_add(data.size(), std::memory_order_relaxed);
  return absl::OkStatus();
}

void MessageLog::StartWriteback() {
  // Nothing else syncs a segment before it is closed, and the kernel starts
  // writing dirty pages back only once they age or pile up: the fdatasync
  // at each roll waited for most of 64 MiB (about 30 ms on a virtio disk,
  // 16 times for 10 M messages), and every confirmation waited behind it.
  if (active_file_bytes_ - writeback_from_ < kWritebackBytes) return;
  // Only a hint: a failed writeback is what the next fdatasync reports.
  ops_.StartWriteback(fd_, static_cast<off_t>(writeback_from_),
                      static_cast<off_t>(active_file_bytes_ - writeback_from_));
  writeback_from_ = active_file_bytes_;
}

}  // namespace messaging
