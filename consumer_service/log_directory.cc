#include "consumer_service/log_directory.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace messaging {
namespace {

constexpr size_t kOffsetDigits = 20;
constexpr absl::string_view kSegmentSuffix = ".log";
constexpr absl::string_view kSnapshotSuffix = ".snapshot";
constexpr absl::string_view kTemporarySuffix = ".snapshot.tmp";

std::string OffsetName(uint64_t offset, absl::string_view suffix) {
  return absl::StrCat(absl::StrFormat("%020u", offset), suffix);
}

// The offset of a name of `kOffsetDigits` digits and then `suffix`.
bool ParseOffsetName(absl::string_view name, absl::string_view suffix,
                     uint64_t* offset) {
  if (name.size() != kOffsetDigits + suffix.size() ||
      !absl::EndsWith(name, suffix)) {
    return false;
  }
  const absl::string_view digits = name.substr(0, kOffsetDigits);
  return std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) &&
         absl::SimpleAtoi(digits, offset);
}

}  // namespace

std::string SegmentPath(absl::string_view directory, uint64_t base_offset) {
  return absl::StrCat(directory, "/", OffsetName(base_offset, kSegmentSuffix));
}

std::string SnapshotPath(absl::string_view directory, uint64_t offset) {
  return absl::StrCat(directory, "/", OffsetName(offset, kSnapshotSuffix));
}

absl::StatusOr<LogDirectory> ListLogDirectory(const std::string& directory) {
  DIR* dir = opendir(directory.c_str());
  if (dir == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot list ", directory, ": ", std::strerror(errno)));
  }
  LogDirectory files;
  while (const dirent* entry = readdir(dir)) {
    const absl::string_view name = entry->d_name;
    uint64_t offset = 0;
    if (ParseOffsetName(name, kSegmentSuffix, &offset)) {
      files.segments.push_back(offset);
    } else if (ParseOffsetName(name, kSnapshotSuffix, &offset)) {
      files.snapshots.push_back(offset);
    } else if (ParseOffsetName(name, kTemporarySuffix, &offset)) {
      files.temporary_files.push_back(absl::StrCat(directory, "/", name));
    } else if (name == kLegacyLogFileName) {
      files.has_legacy_log = true;
    }
  }
  closedir(dir);
  std::sort(files.segments.begin(), files.segments.end());
  std::sort(files.snapshots.begin(), files.snapshots.end());
  return files;
}

absl::Status SyncDirectory(const std::string& directory) {
  const int fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    const int error = errno;
    if (fd >= 0) close(fd);
    return absl::UnavailableError(absl::StrCat(
        "cannot sync the directory ", directory, ": ", std::strerror(error)));
  }
  close(fd);
  return absl::OkStatus();
}

}  // namespace messaging
