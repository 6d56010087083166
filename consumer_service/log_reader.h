// Reads a message log directory in offset order without taking its lock,
// so also while a consumer writes it: for log_tool and tests.
//
// Usage:
//   LogReader reader(directory, /*from_offset=*/0);
//   absl::StatusOr<uint64_t> end = reader.ReadAvailable(
//       [](const v1::Mensaje& message, uint64_t offset) { ... });
//   // later, for what was appended since:
//   end = reader.ReadAvailable(...);
#ifndef CONSUMER_SERVICE_LOG_READER_H_
#define CONSUMER_SERVICE_LOG_READER_H_

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

using LogVisitor =
    absl::FunctionRef<void(const v1::Mensaje& message, uint64_t offset)>;

class LogReader {
 public:
  // Starts at the segment holding `from_offset` (the first kept one if
  // retention deleted it); records before it in that segment are visited
  // too, for the caller to skip.
  LogReader(std::string directory, uint64_t from_offset);

  // Visits every whole record from where the last call stopped to the end
  // of the active segment; returns the offset after the last. DATA_LOSS,
  // naming the file and byte, if a closed segment is damaged or records
  // are missing between segments; FAILED_PRECONDITION if there is no log,
  // or retention deleted records not yet read.
  absl::StatusOr<uint64_t> ReadAvailable(LogVisitor visit);

  // Where the last ReadAvailable stopped: the active segment and the byte
  // after its last whole record.
  const std::string& segment_path() const { return segment_path_; }
  uint64_t segment_bytes_read() const { return byte_; }

 private:
  const std::string directory_;
  const uint64_t from_offset_;
  bool started_ = false;
  uint64_t base_ = 0;    // of the segment being read
  uint64_t byte_ = 0;    // in it
  uint64_t offset_ = 0;  // of the next record
  std::string segment_path_;
};

// Visits every record of the log in `directory`; returns the end offset.
absl::StatusOr<uint64_t> ReadLogDirectory(const std::string& directory,
                                          LogVisitor visit);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_LOG_READER_H_
