#include "consumer_service/message_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "consumer_service/log_record.h"
#include "consumer_service/log_scan.h"

namespace messaging {
namespace {

std::string ErrnoText() { return std::strerror(errno); }

// Judges the bytes of `fd` from `from` to `size`, which follow its last
// whole record. Mapped rather than read: after damage early in a large
// file they can be most of it.
absl::StatusOr<TailVerdict> JudgeTail(int fd, const std::string& path,
                                      uint64_t from, uint64_t size) {
  void* mapped = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (mapped == MAP_FAILED) {
    return absl::UnavailableError(
        absl::StrCat("cannot read ", path, ": ", ErrnoText()));
  }
  const TailVerdict verdict = ClassifyTail(
      absl::string_view(static_cast<const char*>(mapped) + from, size - from));
  munmap(mapped, size);
  return verdict;
}

}  // namespace

bool AbslParseFlag(absl::string_view text, LogSync* sync, std::string* error) {
  if (text == "group") {
    *sync = LogSync::kGroupCommit;
    return true;
  }
  if (text == "none") {
    *sync = LogSync::kNone;
    return true;
  }
  *error = "expected 'group' (fdatasync per group commit) or 'none'";
  return false;
}

std::string AbslUnparseFlag(LogSync sync) {
  return sync == LogSync::kGroupCommit ? "group" : "none";
}

absl::StatusOr<std::unique_ptr<MessageLog>> MessageLog::Open(
    const MessageLogOptions& options, const ReplayFunction& replay) {
  if (mkdir(options.directory.c_str(), 0750) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the data directory ", options.directory,
                     ": ", ErrnoText(), " (check --data_dir)"));
  }
  const std::string path = absl::StrCat(options.directory, "/", kFileName);
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot open ", path, ": ", ErrnoText(), " (check --data_dir)"));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat(path,
                     " is in use by another process; give each "
                     "consumer its own --data_dir"));
  }
  absl::StatusOr<RecordScan> scan = ScanRecords(fd, path, 0, replay);
  if (!scan.ok()) {
    close(fd);
    return scan.status();
  }
  LogRecovery recovery{scan->records, 0};
  const uint64_t file_size = static_cast<uint64_t>(lseek(fd, 0, SEEK_END));
  if (file_size > scan->valid_bytes) {
    absl::StatusOr<TailVerdict> verdict =
        JudgeTail(fd, path, scan->valid_bytes, file_size);
    if (!verdict.ok() || !verdict->torn) {
      close(fd);
      if (!verdict.ok()) return verdict.status();
      return absl::FailedPreconditionError(absl::StrCat(
          path, " has a corrupt record at byte ", scan->valid_bytes, " (",
          verdict->reason, ") with ", file_size - scan->valid_bytes,
          " bytes from there to the end, which a crash cannot cause; "
          "nothing was cut: stop, copy the directory aside and inspect it"));
    }
    // A torn last record: cut it so new records follow whole ones.
    recovery.truncated_bytes = file_size - scan->valid_bytes;
    if (ftruncate(fd, static_cast<off_t>(scan->valid_bytes)) != 0 ||
        fdatasync(fd) != 0) {
      close(fd);
      return absl::UnavailableError(
          absl::StrCat("cannot cut the torn end of ", path, ": ", ErrnoText()));
    }
    LogWarning(absl::StrCat(
        "message log ", path, ": cut ", recovery.truncated_bytes,
        " bytes of a torn last record at byte ", scan->valid_bytes));
  }
  lseek(fd, static_cast<off_t>(scan->valid_bytes), SEEK_SET);
  // Make the file's directory entry durable too, for a newly created log.
  if (const int directory = open(options.directory.c_str(), O_RDONLY);
      directory >= 0) {
    fsync(directory);
    close(directory);
  }
  return std::unique_ptr<MessageLog>(
      new MessageLog(path, fd, options.sync, scan->valid_bytes, recovery));
}

MessageLog::MessageLog(std::string path, int fd, LogSync sync, uint64_t size,
                       LogRecovery recovery)
    : path_(std::move(path)),
      fd_(fd),
      sync_(sync),
      recovery_(recovery),
      appended_position_(size),
      durable_position_(size),
      writer_([this] { WriteLoop(); }) {}

MessageLog::~MessageLog() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  writer_.join();
  close(fd_);
}

absl::StatusOr<uint64_t> MessageLog::Append(
    absl::Span<const absl::string_view> encodings) {
  absl::MutexLock lock(&mutex_);
  if (!failure_.ok()) return failure_;
  for (const absl::string_view encoding : encodings) {
    AppendRecord(encoding, &pending_);
    appended_position_ += kRecordHeaderBytes + encoding.size();
  }
  return appended_position_;
}

void MessageLog::WhenDurable(uint64_t position,
                             std::function<void(absl::Status)> done) {
  absl::Status status;
  {
    absl::MutexLock lock(&mutex_);
    if (failure_.ok() && position > durable_position_) {
      waiters_.emplace(position, std::move(done));
      return;
    }
    status = failure_;
  }
  done(status);
}

void MessageLog::WriteLoop() {
  std::string writing;
  while (true) {
    uint64_t end;
    {
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(
          +[](MessageLog* log) ABSL_EXCLUSIVE_LOCKS_REQUIRED(log->mutex_) {
            return !log->pending_.empty() || log->stopping_;
          },
          this));
      if (pending_.empty()) return;  // stopping, nothing left
      writing.swap(pending_);
      end = appended_position_;
    }

    absl::Status written;
    for (size_t offset = 0; offset < writing.size() && written.ok();) {
      const ssize_t n =
          write(fd_, writing.data() + offset, writing.size() - offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        written = absl::UnavailableError(
            absl::StrCat("cannot write ", path_, ": ", ErrnoText()));
      } else {
        offset += static_cast<size_t>(n);
      }
    }
    if (written.ok() && sync_ == LogSync::kGroupCommit && fdatasync(fd_) != 0) {
      written = absl::UnavailableError(
          absl::StrCat("cannot sync ", path_, ": ", ErrnoText()));
    }
    writing.clear();

    std::vector<std::function<void(absl::Status)>> ready;
    {
      absl::MutexLock lock(&mutex_);
      if (!written.ok()) failure_ = written;
      if (written.ok()) durable_position_ = end;
      auto last = written.ok() ? waiters_.upper_bound(end) : waiters_.end();
      for (auto it = waiters_.begin(); it != last; ++it) {
        ready.push_back(std::move(it->second));
      }
      waiters_.erase(waiters_.begin(), last);
    }
    for (auto& done : ready) done(written);
  }
}

absl::StatusOr<LogRecovery> ReadMessageLog(const std::string& path,
                                           const ReplayFunction& replay) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", path, ": ", ErrnoText()));
  }
  absl::StatusOr<RecordScan> scan = ScanRecords(fd, path, 0, replay);
  close(fd);
  if (!scan.ok()) return scan.status();
  return LogRecovery{scan->records, 0};
}

}  // namespace messaging
