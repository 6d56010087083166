// The files of a message log directory, Kafka style: segments named after
// the offset of their first record, producer-state snapshots after the
// offset they cover, each as 20 decimal digits so that names sort in
// offset order.
//
//   00000000000000000000.log       records 0 ...
//   00000000000001048576.log       records 1048576 ... (the active segment)
//   00000000000001048576.snapshot  producers' state before record 1048576
//
// A record's offset is its 0-based position in the whole log.
//
// Usage:
//   absl::StatusOr<LogDirectory> files = ListLogDirectory("/var/lib/c");
//   for (uint64_t base : files->segments) ... SegmentPath(dir, base) ...
#ifndef CONSUMER_SERVICE_LOG_DIRECTORY_H_
#define CONSUMER_SERVICE_LOG_DIRECTORY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace messaging {

// The single file of the log before it had segments; taken over as
// segment 0 on first start.
inline constexpr absl::string_view kLegacyLogFileName = "messages.log";

std::string SegmentPath(absl::string_view directory, uint64_t base_offset);
std::string SnapshotPath(absl::string_view directory, uint64_t offset);

struct LogDirectory {
  // Base offsets of the segments, ascending.
  std::vector<uint64_t> segments;
  // Offsets of the snapshots, ascending.
  std::vector<uint64_t> snapshots;
  // Snapshots a crash left half-written (temporary files), to delete.
  std::vector<std::string> temporary_files;
  bool has_legacy_log = false;
};

// Lists `directory`; names it does not know are left alone.
absl::StatusOr<LogDirectory> ListLogDirectory(const std::string& directory);

// Makes the directory's entries (files created, renamed, deleted) durable.
absl::Status SyncDirectory(const std::string& directory);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_LOG_DIRECTORY_H_
