// Opening a MessageLog: taking over a legacy single-file log, restoring the
// newest valid producer-state snapshot, replaying the records after it and
// judging the damage at the end of the last segment.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "consumer_service/log_directory.h"
#include "consumer_service/log_scan.h"
#include "consumer_service/message_log.h"
#include "consumer_service/producer_snapshot.h"

namespace messaging {
namespace {

std::string ErrnoText() { return std::strerror(errno); }

// Closes a descriptor unless released, for the error paths of Open.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Replays every record, for the Open that takes a function.
class ReplayEverything : public LogRecoveryListener {
 public:
  explicit ReplayEverything(const ReplayFunction& replay) : replay_(replay) {}
  void OnSnapshot(const consumer::v1::ProducerStateSnapshot&) override {}
  void OnRecord(const v1::Mensaje& message, uint64_t end_offset) override {
    replay_(message, end_offset);
  }

 private:
  const ReplayFunction& replay_;
};

absl::Status CorruptRecordError(const std::string& path, uint64_t at,
                                absl::string_view reason, uint64_t size) {
  return absl::FailedPreconditionError(absl::StrCat(
      path, " has a corrupt record at byte ", at, " (", reason, ") with ",
      size - at,
      " bytes from there to its end, which a crash cannot cause; "
      "nothing was cut: stop, copy the directory aside and inspect it "
      "(log_tool verify)"));
}

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

// Replays the records of the segment `fd` (first offset `base`) from
// offset `from` on, and returns how many it holds. Damage at the end of the
// last segment may be a torn write, cut here; anywhere else it refuses.
absl::StatusOr<uint64_t> ReplaySegment(int fd, const std::string& path,
                                       uint64_t base, bool last, uint64_t from,
                                       LogRecoveryListener* listener,
                                       LogRecovery* recovery) {
  uint64_t offset = base;
  absl::StatusOr<RecordScan> scan =
      ScanRecords(fd, path, 0, [&](const v1::Mensaje& message, uint64_t) {
        if (offset >= from) {
          listener->OnRecord(message, offset + 1);
          ++recovery->records;
        }
        ++offset;
      });
  if (!scan.ok()) return scan.status();
  struct stat info;
  if (fstat(fd, &info) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot stat ", path, ": ", ErrnoText()));
  }
  const uint64_t size = static_cast<uint64_t>(info.st_size);
  if (size == scan->valid_bytes) return scan->records;
  if (!last) {
    return CorruptRecordError(path, scan->valid_bytes,
                              "in a closed segment, synced before the next "
                              "began, so no crash can have torn it",
                              size);
  }
  absl::StatusOr<TailVerdict> verdict =
      JudgeTail(fd, path, scan->valid_bytes, size);
  if (!verdict.ok()) return verdict.status();
  if (!verdict->torn) {
    return CorruptRecordError(path, scan->valid_bytes, verdict->reason, size);
  }
  // A torn last record: cut it so new records follow whole ones.
  if (ftruncate(fd, static_cast<off_t>(scan->valid_bytes)) != 0 ||
      fdatasync(fd) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot cut the torn end of ", path, ": ", ErrnoText()));
  }
  recovery->truncated_bytes = size - scan->valid_bytes;
  if (verdict->zeros) {
    // What every crash under O_DIRECT leaves: no record was cut.
    LogInfo(absl::StrCat(
        "message log ", path, ": cut ", recovery->truncated_bytes,
        " bytes of zeros after its last record, at byte ", scan->valid_bytes));
  } else {
    LogWarning(absl::StrCat(
        "message log ", path, ": cut ", recovery->truncated_bytes,
        " bytes of a torn last record at byte ", scan->valid_bytes));
  }
  return scan->records;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MessageLog>> MessageLog::Open(
    const MessageLogOptions& options, LogRecoveryListener* listener) {
  return OpenLog(options, listener, /*restore_snapshot=*/true);
}

absl::StatusOr<std::unique_ptr<MessageLog>> MessageLog::Open(
    const MessageLogOptions& options, const ReplayFunction& replay) {
  ReplayEverything listener(replay);
  return OpenLog(options, &listener, /*restore_snapshot=*/false);
}

absl::StatusOr<std::unique_ptr<MessageLog>> MessageLog::OpenLog(
    const MessageLogOptions& options, LogRecoveryListener* listener,
    bool restore_snapshot) {
  const std::string& directory = options.directory;
  if (mkdir(directory.c_str(), 0750) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the data directory ", directory, ": ",
                     ErrnoText(), " (check --data_dir)"));
  }
  ScopedFd lock(open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (lock.get() < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot open ", directory, ": ", ErrnoText(), " (check --data_dir)"));
  }
  if (flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(directory,
                     " is in use by another process; give each "
                     "consumer its own --data_dir"));
  }
  absl::StatusOr<LogDirectory> files = ListLogDirectory(directory);
  if (!files.ok()) return files.status();
  for (const std::string& temporary : files->temporary_files) {
    unlink(temporary.c_str());  // a snapshot a crash left half-written
  }
  const std::string legacy_path =
      absl::StrCat(directory, "/", kLegacyLogFileName);
  if (files->has_legacy_log && !files->segments.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        directory, " holds both ", kLegacyLogFileName,
        " and segment files, so it is unclear which is the log; move one "
        "aside"));
  }
  if (files->segments.empty()) {
    if (!files->snapshots.empty() && !files->has_legacy_log) {
      return absl::FailedPreconditionError(absl::StrCat(
          directory,
          " holds producer-state snapshots but no segment: the log was "
          "deleted; restore it, or move the directory aside to start empty"));
    }
    files->segments.push_back(0);  // the legacy log, or a new log
  }
  std::vector<uint64_t>& segments = files->segments;
  std::vector<uint64_t>& snapshots = files->snapshots;

  // Snapshots older than the first segment are of no use: the records
  // after them are gone.
  while (!snapshots.empty() && snapshots.front() < segments.front()) {
    unlink(SnapshotPath(directory, snapshots.front()).c_str());
    snapshots.erase(snapshots.begin());
  }
  // The newest snapshot that is whole. Damaged ones are set aside (for a
  // person, never read again).
  LogRecovery recovery;
  consumer::v1::ProducerStateSnapshot snapshot;
  while (restore_snapshot && !snapshots.empty() &&
         !recovery.restored_snapshot) {
    const uint64_t offset = snapshots.back();
    const std::string path = SnapshotPath(directory, offset);
    absl::StatusOr<consumer::v1::ProducerStateSnapshot> read =
        ReadSnapshotFile(directory, offset);
    if (read.ok()) {
      snapshot = std::move(*read);
      recovery = {0, 0, true, offset,
                  static_cast<uint64_t>(snapshot.producers_size())};
    } else {
      LogWarning(absl::StrCat(read.status().message(),
                              "; set aside as .damaged, falling back to an "
                              "older snapshot"));
      rename(path.c_str(), (path + ".damaged").c_str());
      snapshots.pop_back();
    }
  }
  if (segments.front() > 0 && !recovery.restored_snapshot) {
    return absl::FailedPreconditionError(absl::StrCat(
        directory, ": retention deleted the records before offset ",
        segments.front(),
        restore_snapshot
            ? " and no valid producer-state snapshot from there on remains, "
              "so the producers' sequences cannot be rebuilt; restore the "
              "*.snapshot files from a backup, or move the directory aside "
              "to start an empty log (losing de-duplication of old messages)"
            : ", so a full replay is impossible; open it with a "
              "LogRecoveryListener, which restores snapshots"));
  }
  if (recovery.restored_snapshot) listener->OnSnapshot(snapshot);

  // Replay from the segment holding the snapshot's offset.
  const uint64_t from = recovery.snapshot_offset;
  size_t first = segments.size() - 1;
  while (segments[first] > from) --first;
  for (size_t i = first; i + 1 < segments.size(); ++i) {
    const std::string path = SegmentPath(directory, segments[i]);
    ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot open ", path, ": ", ErrnoText()));
    }
    absl::StatusOr<uint64_t> records = ReplaySegment(
        fd.get(), path, segments[i], /*last=*/false, from, listener, &recovery);
    if (!records.ok()) return records.status();
    if (segments[i] + *records != segments[i + 1]) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " holds ", *records,
                       " records but the next segment begins "
                       "at offset ",
                       segments[i + 1],
                       ": records are missing; inspect the "
                       "directory (log_tool verify)"));
    }
  }
  const uint64_t active_base = segments.back();
  const bool take_over = files->has_legacy_log;
  const std::string active_path =
      take_over ? legacy_path : SegmentPath(directory, active_base);
  ScopedFd fd(open(active_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
  if (fd.get() < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot open ", active_path, ": ", ErrnoText(), " (check --data_dir)"));
  }
  absl::StatusOr<uint64_t> records =
      ReplaySegment(fd.get(), active_path, active_base, /*last=*/true, from,
                    listener, &recovery);
  if (!records.ok()) return records.status();
  recovery.end_offset = active_base + *records;
  if (recovery.snapshot_offset > recovery.end_offset) {
    return absl::FailedPreconditionError(absl::StrCat(
        SnapshotPath(directory, recovery.snapshot_offset),
        " describes the records before offset ", recovery.snapshot_offset,
        " but the log ends at ", recovery.end_offset,
        ": records that were synced are missing; inspect the directory"));
  }
  if (take_over) {
    // Checked above like any last segment; now it becomes segment 0.
    if (rename(legacy_path.c_str(), SegmentPath(directory, 0).c_str()) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot rename ", legacy_path, ": ", ErrnoText()));
    }
    LogInfo(absl::StrCat("message log: took over ", legacy_path, " as ",
                         SegmentPath(directory, 0)));
  }
  // Make a new segment's (or the renamed one's) directory entry durable.
  if (absl::Status synced = SyncDirectory(directory); !synced.ok()) {
    return synced;
  }
  struct stat info;
  fstat(fd.get(), &info);
  OpenedLog opened{lock.release(),
                   fd.release(),
                   active_base,
                   static_cast<uint64_t>(info.st_size),
                   std::move(segments),
                   std::move(snapshots),
                   recovery};
  return std::unique_ptr<MessageLog>(
      new MessageLog(options, std::move(opened)));
}

}  // namespace messaging
