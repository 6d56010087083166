// The consumer's append-only log of accepted messages, with group commit.
//
// Appends go to an in-memory buffer; one writer thread writes whatever has
// gathered and makes it durable with a single fdatasync, then tells the
// waiters. So a burst of messages from many streams costs one fsync, not
// one each. On open, the log replays its records and cuts a torn last
// record (a crash in the middle of a write) instead of misreading it.
//
// Usage:
//   absl::StatusOr<std::unique_ptr<MessageLog>> log = MessageLog::Open(
//       {.directory = "/var/lib/consumer"},
//       [&](const v1::Mensaje& message, uint64_t position) { ... });
//   absl::StatusOr<uint64_t> position =
//       (*log)->Append({message.SerializeAsString()});
//   (*log)->WhenDurable(*position, [](absl::Status durable) { ... });
#ifndef CONSUMER_SERVICE_MESSAGE_LOG_H_
#define CONSUMER_SERVICE_MESSAGE_LOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

enum class LogSync {
  // fdatasync after each group of writes: survives power loss.
  kGroupCommit,
  // Leave flushing to the kernel: survives a crash of the process, not of
  // the machine.
  kNone,
};

// Parses "group" or "none", for the --log_sync flag.
bool AbslParseFlag(absl::string_view text, LogSync* sync, std::string* error);
std::string AbslUnparseFlag(LogSync sync);

struct MessageLogOptions {
  // Holds messages.log; created if missing (its parent must exist).
  std::string directory;
  LogSync sync = LogSync::kGroupCommit;
};

// What Open found in an existing log.
struct LogRecovery {
  uint64_t records = 0;
  // Bytes of a torn last record that were cut off.
  uint64_t truncated_bytes = 0;
};

using ReplayFunction =
    std::function<void(const v1::Mensaje& message, uint64_t position)>;

class MessageLog {
 public:
  static constexpr absl::string_view kFileName = "messages.log";

  // Opens or creates the log, passes every whole record to `replay` in
  // order, and cuts a torn tail. FAILED_PRECONDITION when the directory
  // cannot be used, another process holds the log, or a corrupt record is
  // followed by more data (damage a crash cannot cause: the file must be
  // looked at, not silently cut).
  static absl::StatusOr<std::unique_ptr<MessageLog>> Open(
      const MessageLogOptions& options, const ReplayFunction& replay);

  // Makes everything appended durable, then closes the file.
  ~MessageLog();

  // Queues messages, given by their encodings, in order; returns the
  // position after the last, which is durable once WhenDurable says so.
  // UNAVAILABLE after a write error.
  absl::StatusOr<uint64_t> Append(
      absl::Span<const absl::string_view> encodings);

  // Calls `done` once everything up to `position` is durable, at once if
  // it already is; with UNAVAILABLE if writing failed. `done` runs on the
  // writer thread or the caller's, and must not call back into the log.
  void WhenDurable(uint64_t position, std::function<void(absl::Status)> done);

  const LogRecovery& recovery() const { return recovery_; }
  const std::string& path() const { return path_; }

 private:
  MessageLog(std::string path, int fd, LogSync sync, uint64_t size,
             LogRecovery recovery);

  void WriteLoop();

  const std::string path_;
  const int fd_;
  const LogSync sync_;
  const LogRecovery recovery_;

  absl::Mutex mutex_;
  std::string pending_ ABSL_GUARDED_BY(mutex_);
  uint64_t appended_position_ ABSL_GUARDED_BY(mutex_);
  uint64_t durable_position_ ABSL_GUARDED_BY(mutex_);
  absl::Status failure_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::multimap<uint64_t, std::function<void(absl::Status)>> waiters_
      ABSL_GUARDED_BY(mutex_);

  std::thread writer_;
};

// Reads the whole records of a log file, stopping at the first record that
// is not whole. For tools and tests; the consumer uses MessageLog::Open.
absl::StatusOr<LogRecovery> ReadMessageLog(const std::string& path,
                                           const ReplayFunction& replay);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_MESSAGE_LOG_H_
