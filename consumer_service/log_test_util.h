// Helpers for the message log's tests: fresh directories and files.
//
// Usage:
//   const std::string directory = NewTestDirectory();
//   WriteAll(SegmentPath(directory, 0), records);
//   std::vector<uint64_t> sequences = LoggedSequences(directory);
#ifndef CONSUMER_SERVICE_LOG_TEST_UTIL_H_
#define CONSUMER_SERVICE_LOG_TEST_UTIL_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "consumer_service/message_log.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

// A path for a new directory under TEST_TMPDIR, different at each call
// (not created).
std::string NewTestDirectory();

std::string ReadAll(const std::string& path);
// The bytes of the whole records at the start of the segment file `path`:
// its size but for the zeros that pad an active segment under O_DIRECT.
uint64_t RecordBytes(const std::string& path);
void WriteAll(const std::string& path, const std::string& contents);

// The sequences of the records in the log in `directory`, read with
// LogReader; fails the test on a read error.
std::vector<uint64_t> LoggedSequences(const std::string& directory);

// Appends `message` and waits until it is durable; false after 10 s.
bool AppendDurably(MessageLog& log, const std::string& message);

// Counts what the log's writer says it did; checks each duration.
class CountingObserver : public LogWriteObserver {
 public:
  void OnGroupWritten(absl::Duration took) override;
  void OnSynced(absl::Duration took) override;
  std::atomic<uint64_t> groups_written{0};
  std::atomic<uint64_t> syncs{0};
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_LOG_TEST_UTIL_H_
