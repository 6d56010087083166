#include "consumer_service/log_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "consumer_service/log_directory.h"
#include "consumer_service/log_scan.h"

namespace messaging {

LogReader::LogReader(std::string directory, uint64_t from_offset)
    : directory_(std::move(directory)), from_offset_(from_offset) {}

absl::StatusOr<uint64_t> LogReader::ReadAvailable(LogVisitor visit) {
  while (true) {
    // Listed before reading: a segment with a successor in this listing was
    // complete (written and synced) before the successor was created.
    absl::StatusOr<LogDirectory> files = ListLogDirectory(directory_);
    if (!files.ok()) return files.status();
    const std::vector<uint64_t>& segments = files->segments;
    if (segments.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(directory_, " holds no log segment (*.log)"));
    }
    if (!started_) {
      auto after =
          std::upper_bound(segments.begin(), segments.end(), from_offset_);
      base_ = after == segments.begin() ? segments.front() : *(after - 1);
      offset_ = base_;
      started_ = true;
    }
    auto current = std::lower_bound(segments.begin(), segments.end(), base_);
    if (current == segments.end() || *current != base_) {
      return absl::FailedPreconditionError(absl::StrCat(
          "retention deleted ", SegmentPath(directory_, base_),
          " before it was read; start again from offset ", segments.front()));
    }
    segment_path_ = SegmentPath(directory_, base_);
    const int fd = open(segment_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot open ", segment_path_, ": ", std::strerror(errno)));
    }
    absl::StatusOr<RecordScan> scan = ScanRecords(
        fd, segment_path_, byte_, [&](const v1::Mensaje& message, uint64_t) {
          visit(message, offset_++);
        });
    struct stat info;
    const bool stated = fstat(fd, &info) == 0;
    close(fd);
    if (!scan.ok()) return scan.status();
    byte_ = scan->valid_bytes;
    if (current + 1 == segments.end()) return offset_;
    if (!stated || static_cast<uint64_t>(info.st_size) != byte_) {
      return absl::DataLossError(absl::StrCat(segment_path_,
                                              " has a damaged record at byte ",
                                              byte_, " (a closed segment)"));
    }
    if (offset_ != *(current + 1)) {
      return absl::DataLossError(absl::StrCat(segment_path_, " ends at offset ",
                                              offset_,
                                              " but the next segment "
                                              "begins at ",
                                              *(current + 1)));
    }
    base_ = *(current + 1);
    byte_ = 0;
  }
}

absl::StatusOr<uint64_t> ReadLogDirectory(const std::string& directory,
                                          LogVisitor visit) {
  LogReader reader(directory, 0);
  return reader.ReadAvailable(visit);
}

}  // namespace messaging
