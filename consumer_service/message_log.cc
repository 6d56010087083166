#include "consumer_service/message_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "consumer_service/log_record.h"

namespace messaging {
namespace {

constexpr size_t kReadChunkBytes = 1 << 20;

std::string ErrnoText() { return std::strerror(errno); }

// Bytes of an all-zero tail Open checks for: a crash can leave a few
// zeroed pages at the end of a file.
constexpr uint64_t kMaxZeroTailBytes = 1 << 20;

// Where a scan of the log stopped.
struct ScanResult {
  LogRecovery recovery;
  // Bytes of whole records from the start of the file.
  uint64_t valid_bytes = 0;
  // The record after them is damaged (bad checksum, length or contents),
  // rather than merely cut short by the end of the file.
  bool damaged = false;
  // Where that damaged record claims to end; UINT64_MAX if its length is
  // not believable.
  uint64_t damaged_record_end = 0;
};

// A record the consumer could have written: a parsable Mensaje that names
// its producer. (An all-zero header decodes as an empty record.)
bool ParseLoggedMessage(absl::string_view payload, v1::Mensaje* message) {
  return message->ParseFromArray(payload.data(),
                                 static_cast<int>(payload.size())) &&
         !message->producer_id().empty();
}

absl::StatusOr<ScanResult> Scan(int fd, const std::string& path,
                                const ReplayFunction& replay) {
  ScanResult result;
  std::string buffer;
  size_t consumed = 0;  // of `buffer`
  bool end_of_file = false;
  v1::Mensaje message;
  while (true) {
    absl::string_view payload;
    size_t record_size = 0;
    const absl::string_view unread = absl::string_view(buffer).substr(consumed);
    const DecodeResult decoded = DecodeRecord(unread, &payload, &record_size);
    if (decoded == DecodeResult::kRecord &&
        ParseLoggedMessage(payload, &message)) {
      consumed += record_size;
      result.valid_bytes += record_size;
      ++result.recovery.records;
      replay(message, result.valid_bytes);
      continue;
    }
    if (decoded != DecodeResult::kIncomplete) {
      result.damaged = true;
      result.damaged_record_end =
          decoded == DecodeResult::kRecord
              ? result.valid_bytes + record_size
              : (unread.size() >= kRecordHeaderBytes &&
                         DecodeRecordLength(unread) <= kMaxRecordPayloadBytes
                     ? result.valid_bytes + kRecordHeaderBytes +
                           DecodeRecordLength(unread)
                     : UINT64_MAX);
      return result;
    }
    if (end_of_file) return result;
    buffer.erase(0, consumed);
    consumed = 0;
    const size_t old_size = buffer.size();
    buffer.resize(old_size + kReadChunkBytes);
    const ssize_t got = read(fd, buffer.data() + old_size, kReadChunkBytes);
    if (got < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot read ", path, ": ", ErrnoText()));
    }
    buffer.resize(old_size + static_cast<size_t>(got));
    end_of_file = got == 0;
  }
}

bool IsZeroFrom(int fd, uint64_t offset, uint64_t size) {
  if (size > kMaxZeroTailBytes) return false;
  std::string rest(size, '\1');
  if (pread(fd, rest.data(), size, static_cast<off_t>(offset)) !=
      static_cast<ssize_t>(size)) {
    return false;
  }
  return rest.find_first_not_of('\0') == std::string::npos;
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
  absl::StatusOr<ScanResult> scan = Scan(fd, path, replay);
  if (!scan.ok()) {
    close(fd);
    return scan.status();
  }
  const uint64_t file_size = static_cast<uint64_t>(lseek(fd, 0, SEEK_END));
  // A crash can only tear the last record (or leave zeros after it);
  // damage with whole data after it needs a person to look.
  const bool torn_tail =
      !scan->damaged || scan->damaged_record_end >= file_size ||
      IsZeroFrom(fd, scan->valid_bytes, file_size - scan->valid_bytes);
  if (!torn_tail) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        path, " has a corrupt record at byte ", scan->valid_bytes,
        " followed by more data, which a crash cannot cause; move the file "
        "aside and inspect it"));
  }
  if (file_size > scan->valid_bytes) {
    // A torn last record: cut it so new records follow whole ones.
    scan->recovery.truncated_bytes = file_size - scan->valid_bytes;
    if (ftruncate(fd, static_cast<off_t>(scan->valid_bytes)) != 0 ||
        fdatasync(fd) != 0) {
      close(fd);
      return absl::UnavailableError(
          absl::StrCat("cannot cut the torn end of ", path, ": ", ErrnoText()));
    }
  }
  lseek(fd, static_cast<off_t>(scan->valid_bytes), SEEK_SET);
  // Make the file's directory entry durable too, for a newly created log.
  if (const int directory = open(options.directory.c_str(), O_RDONLY);
      directory >= 0) {
    fsync(directory);
    close(directory);
  }
  return std::unique_ptr<MessageLog>(new MessageLog(
      path, fd, options.sync, scan->valid_bytes, scan->recovery));
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
  absl::StatusOr<ScanResult> scan = Scan(fd, path, replay);
  close(fd);
  if (!scan.ok()) return scan.status();
  return scan->recovery;
}

}  // namespace messaging
