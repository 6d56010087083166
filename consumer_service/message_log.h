// The consumer's append-only log of accepted messages, with group commit,
// kept as segment files in one directory (see log_directory.h).
//
// Appends go to an in-memory buffer; one writer thread writes whatever has
// gathered, and a syncer thread behind it (log_syncer.h) makes it durable
// with a single fdatasync, then tells the waiters. So a burst of messages
// from many streams costs one fsync, not one each, and the next group is
// written while the last one syncs; those writes skip the page cache
// (O_DIRECT, see direct_appender.h). Positions are offsets: a record's 0-based
// place in the whole log; Append returns the offset after its last record and
// WhenDurable waits for every record below an offset.
//
// Its owner (the producer ledger) rolls it: when ShouldRoll() says the
// active segment is full, Roll() hands over the producers' state as of the
// records appended so far; the writer syncs those records, starts a new
// segment and writes the state as a snapshot. Start-up restores the newest
// valid snapshot and replays only the records after it, so it costs one
// segment, not the history. Retention deletes old closed segments.
//
// On open, a torn last record (a crash in the middle of a write) is cut;
// any other damage refuses to open (log_scan.h). A failed write is undone
// and retried until it succeeds (the log is unhealthy meanwhile); a failed
// fdatasync ends the process (see LogSyncFailureHandler).
//
// Usage:
//   absl::StatusOr<std::unique_ptr<MessageLog>> log = MessageLog::Open(
//       {.directory = "/var/lib/consumer"}, &ledger);  // a listener
//   absl::StatusOr<uint64_t> offset =
//       (*log)->Append({message.SerializeAsString()});
//   (*log)->WhenDurable(*offset, [](absl::Status durable) { ... });
#ifndef CONSUMER_SERVICE_MESSAGE_LOG_H_
#define CONSUMER_SERVICE_MESSAGE_LOG_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "consumer_service/direct_appender.h"
#include "consumer_service/log_file_ops.h"
#include "consumer_service/log_formats.pb.h"
#include "consumer_service/log_retention.h"
#include "consumer_service/log_syncer.h"
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

// Told when fdatasync fails, on the writer thread. After a failed
// fdatasync the kernel may have dropped the unsynced pages and cleared the
// error, so a retry could "succeed" without the data ever reaching the
// disk: the only safe course is to stop confirming and let recovery
// re-check the log after a restart. The default handler logs one line and
// exits the process (a supervisor restarts it); tests inject their own.
class LogSyncFailureHandler {
 public:
  virtual ~LogSyncFailureHandler() = default;
  virtual void OnSyncFailure(const absl::Status& error) = 0;
};

// Told, on the writer thread and with no lock of the log held, how the
// log's durability and health move; must not block or call into the log.
class LogEventListener {
 public:
  virtual ~LogEventListener() = default;
  // Every record below `offset` is durable now.
  virtual void OnDurable(uint64_t offset) = 0;
  // Writes started failing (`error` says why) or succeed again (OK).
  virtual void OnHealthChanged(const absl::Status& error) = 0;
};

// Told how long the log's file calls take, on its writer or syncer thread
// (see log_syncer.h), for latency metrics; must return at once.
class LogWriteObserver {
 public:
  virtual ~LogWriteObserver() = default;
  // One group of appended records written to the active segment (its
  // pwrite calls).
  virtual void OnGroupWritten(absl::Duration took) = 0;
  // One fdatasync of the active segment.
  virtual void OnSynced(absl::Duration took) = 0;
};

// A group this large is written without waiting for more: this VM's disk
// wrote 180 KiB groups, each synced (dd oflag=dsync), at 714 MB/s, and
// 512 KiB ones at 1.4 GB/s.
inline constexpr size_t kFullGroupBytes = 512 << 10;

struct MessageLogOptions {
  // Holds the segments; created if missing (its parent must exist).
  std::string directory;
  LogSync sync = LogSync::kGroupCommit;
  // The active segment is rolled once it holds this many bytes.
  uint64_t segment_bytes = uint64_t{64} << 20;
  // Kafka's default: a week of messages, whatever their size.
  RetentionPolicy retention = {0, absl::Hours(7 * 24)};
  // Null: the real file calls. Tests inject failures here.
  LogFileOps* file_ops = nullptr;
  // Null: log and exit the process.
  LogSyncFailureHandler* sync_failure_handler = nullptr;
  // Null: nobody is told. Must outlive the log.
  LogEventListener* event_listener = nullptr;
  // How often the writer retries after a failed write.
  absl::Duration write_retry_interval = absl::Milliseconds(200);
  // How long the writer waits, after the first append of a group, for more
  // to share its write and fdatasync, unless kFullGroupBytes gather first
  // (group commit delay); zero writes at once.
  absl::Duration group_delay = absl::Microseconds(200);
  // Null: nobody is told (and the writer reads no clock).
  LogWriteObserver* write_observer = nullptr;
  // Appended bytes not yet taken by the writer above which
  // WhenQueueHasRoom makes its callers wait: readers pause, so memory stays
  // bounded when producers outrun the disk.
  size_t max_queued_bytes = size_t{4} << 20;
  // Write the active segment with O_DIRECT where its file system allows,
  // skipping the page cache (see direct_appender.h).
  bool direct_writes = true;
};

// What Open found in an existing log.
struct LogRecovery {
  // Records replayed (those after the snapshot restored, if any).
  uint64_t records = 0;
  // Bytes of a torn last record that were cut off.
  uint64_t truncated_bytes = 0;
  // The snapshot restored, if any.
  bool restored_snapshot = false;
  uint64_t snapshot_offset = 0;
  uint64_t snapshot_producers = 0;
  // The offset the next record gets.
  uint64_t end_offset = 0;
};

// Told what start-up recovers, in order, on the thread calling Open.
class LogRecoveryListener {
 public:
  virtual ~LogRecoveryListener() = default;
  // First, if a snapshot is restored: the producers' state as of exactly
  // the records before snapshot.offset().
  virtual void OnSnapshot(
      const consumer::v1::ProducerStateSnapshot& snapshot) = 0;
  // Then each record after it, with the offset after the record.
  virtual void OnRecord(const v1::Mensaje& message, uint64_t end_offset) = 0;
};

using ReplayFunction =
    std::function<void(const v1::Mensaje& message, uint64_t end_offset)>;

class MessageLog : private LogSyncer::Callbacks {
 public:
  // Opens or creates the log, restores the newest valid snapshot into
  // `listener` and replays the records after it, and cuts a torn tail.
  // FAILED_PRECONDITION when the directory cannot be used, another process
  // holds it, a record is corrupt in a way a crash cannot cause (naming
  // the file and byte: it must be looked at, not silently cut), or
  // retention deleted records no valid snapshot covers.
  static absl::StatusOr<std::unique_ptr<MessageLog>> Open(
      const MessageLogOptions& options, LogRecoveryListener* listener);

  // Like the above, but replays every record from offset 0 and ignores
  // snapshots: FAILED_PRECONDITION once retention has deleted any.
  static absl::StatusOr<std::unique_ptr<MessageLog>> Open(
      const MessageLogOptions& options, const ReplayFunction& replay);

  // Makes everything appended durable (writes queued snapshots), then
  // closes the files.
  ~MessageLog();

  // Queues messages, given by their encodings, in order; returns the
  // offset after the last, which is durable once WhenDurable says so.
  // UNAVAILABLE, with the OS error, while writes fail (see healthy()).
  absl::StatusOr<uint64_t> Append(
      absl::Span<const absl::string_view> encodings);

  // Calls `done` once every record below `offset` is durable, at once if
  // it already is; with UNAVAILABLE if writing failed. `done` runs on the
  // writer thread or the caller's, and must not call back into the log.
  void WhenDurable(uint64_t offset, std::function<void(absl::Status)> done);

  // True when fewer than max_queued_bytes wait for the writer (or appends
  // fail): the caller may append more at once. Otherwise keeps `resume`
  // and calls it once the writer has taken the queue, or writes fail, on
  // the writer thread with no lock of the log held; `resume` must not
  // block or call into the log.
  bool WhenQueueHasRoom(std::function<void()> resume);

  // Whether the active segment is full, so that the next Append should
  // follow a Roll.
  bool ShouldRoll();
  // Starts a new segment at the current end of the log, and snapshots
  // `state` there: the caller must pass the state as of exactly the
  // records appended so far (its own lock must order its Appends). The
  // snapshot is written once those records are durable.
  void Roll(consumer::v1::ProducerStateSnapshot state);
  // Snapshots `state` at the current end, like Roll without a new segment:
  // for a clean shutdown, so the next start replays almost nothing.
  void WriteSnapshot(consumer::v1::ProducerStateSnapshot state);

  // False while writes fail; the writer retries on its own.
  bool healthy();
  // Closed segments deleted by retention since open.
  uint64_t segments_deleted() const { return segments_deleted_.load(); }
  // Bytes of the records in the segment files (written, not those still
  // queued; under O_DIRECT the active file also holds the zeros to the end
  // of its last block), and how many files there are, the active one
  // included.
  uint64_t disk_bytes() const {
    return disk_bytes_.load(std::memory_order_relaxed);
  }
  uint64_t segment_count() const {
    return segment_count_.load(std::memory_order_relaxed);
  }
  // Failed write or sync attempts since open (each retry counts).
  uint64_t write_errors() const {
    return write_errors_.load(std::memory_order_relaxed);
  }
  const RetentionPolicy& retention() const { return retention_; }

  const LogRecovery& recovery() const { return recovery_; }
  // The directory of the segments.
  const std::string& path() const { return directory_; }

 private:
  // A Roll or WriteSnapshot waiting in the queue.
  struct Marker {
    size_t at = 0;  // bytes of the queued buffer before it
    uint64_t offset = 0;
    bool roll = false;
    consumer::v1::ProducerStateSnapshot state;
  };

  // What OpenLog found and opened, for the constructor.
  struct OpenedLog {
    int lock_fd = -1;
    int fd = -1;  // the active segment, positioned nowhere (pwrite)
    uint64_t active_base = 0;
    uint64_t active_bytes = 0;
    std::vector<uint64_t> segments;
    std::vector<uint64_t> snapshots;
    LogRecovery recovery;
  };
  static absl::StatusOr<std::unique_ptr<MessageLog>> OpenLog(
      const MessageLogOptions& options, LogRecoveryListener* listener,
      bool restore_snapshot);
  MessageLog(const MessageLogOptions& options, OpenedLog opened);

  void WriteLoop();
  // Waits up to group_delay_ for GroupFull(), and then while the syncer
  // syncs, unless the group is full; with mutex_ held.
  void GatherGroup() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // kFullGroupBytes gathered, or a marker, or the stop.
  bool GroupFull() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Writes and syncs the taken work up to its end; UNAVAILABLE on a
  // failed write (undone, to retry).
  absl::Status WriteWork();
  absl::Status WriteChunk(absl::string_view data);
  // Switches the active segment to O_DIRECT, if wanted and allowed.
  void StartDirectWrites();
  // Under O_DIRECT, cuts the zeros after the segment's last record.
  absl::Status TrimBlockPadding();
  // A failed sync is fatal (FailForGood).
  absl::Status Sync(int fd, absl::string_view what);
  absl::Status StartSegment(uint64_t base_offset);
  void SaveSnapshot(consumer::v1::ProducerStateSnapshot state);
  void ApplyRetention();
  void MarkDurable(uint64_t offset);
  // Answers every waiter with `error`, and resumes those waiting for room
  // (their next Append fails with it), unlocking meanwhile.
  void FailWaiters(const absl::Status& error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Tells the event listener, unlocking meanwhile.
  void TellHealth(const absl::Status& error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // After a failed sync: tells the handler, and confirms nothing more.
  void FailForGood(const absl::Status& error);
  // The failure FailForGood recorded, or OK.
  absl::Status FatalFailure();
  // LogSyncer::Callbacks, under group commit: syncs and confirms behind
  // the writer.
  bool SyncSegment(int fd) override;
  void OnSynced(uint64_t offset) override;
  // Without group commit or O_DIRECT: has the kernel start writing back
  // what was written since the last call, once that is kWritebackBytes or
  // more.
  void StartWriteback();

  const std::string directory_;
  const LogSync sync_;
  const uint64_t segment_bytes_;
  const RetentionPolicy retention_;
  LogFileOps& ops_;
  LogSyncFailureHandler& sync_failure_handler_;
  LogEventListener* const event_listener_;
  const absl::Duration retry_interval_;
  const absl::Duration group_delay_;
  const LogRecovery recovery_;
  const int lock_fd_;  // of the directory, locked
  LogWriteObserver* const write_observer_;
  const bool direct_writes_wanted_;
  std::atomic<uint64_t> segments_deleted_{0};
  // Written by the writer thread only; read by anyone.
  std::atomic<uint64_t> disk_bytes_{0};
  std::atomic<uint64_t> segment_count_{0};
  std::atomic<uint64_t> write_errors_{0};

  absl::Mutex mutex_;
  std::string pending_ ABSL_GUARDED_BY(mutex_);
  std::deque<Marker> markers_ ABSL_GUARDED_BY(mutex_);
  uint64_t appended_offset_ ABSL_GUARDED_BY(mutex_);
  // Bytes appended to the active segment (counting the queued ones).
  uint64_t active_appended_bytes_ ABSL_GUARDED_BY(mutex_);
  uint64_t durable_offset_ ABSL_GUARDED_BY(mutex_);
  // Not OK while writes fail, or for good after a failed sync.
  absl::Status failure_ ABSL_GUARDED_BY(mutex_);
  bool fatal_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::multimap<uint64_t, std::function<void(absl::Status)>> waiters_
      ABSL_GUARDED_BY(mutex_);
  const size_t max_queued_bytes_;
  std::vector<std::function<void()>> room_waiters_ ABSL_GUARDED_BY(mutex_);

  // Only the writer thread touches these once it runs.
  int fd_;  // the active segment
  uint64_t active_base_;
  uint64_t active_file_bytes_;   // whole records in the file
  uint64_t writeback_from_ = 0;  // what StartWriteback has not yet covered
  bool direct_writes_ = false;   // fd_ has O_DIRECT, written by direct_
  DirectAppender direct_;
  std::vector<uint64_t> segments_;        // base offsets, the active last
  std::vector<uint64_t> kept_snapshots_;  // offsets, ascending
  std::string work_;                      // taken from pending_
  size_t work_done_ = 0;                  // bytes of it written
  std::deque<Marker> work_markers_;
  uint64_t work_end_ = 0;  // the offset after work_

  // Under group commit, the stage after the writer; null without it. Made
  // before the writer starts and destroyed after it stops.
  std::unique_ptr<LogSyncer> syncer_;
  std::thread writer_;
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_MESSAGE_LOG_H_
