// The writing side of MessageLog: the queue and the writer thread, and its
// syncer's callbacks. Its file writes are in message_log_write.cc, opening
// and recovery in message_log_open.cc, rolls in message_log_roll.cc,
// retention in message_log_retention.cc.
#include "consumer_service/message_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "consumer_service/log_directory.h"
#include "consumer_service/log_record.h"

namespace messaging {
namespace {

// How often an idle writer applies time-based retention.
constexpr absl::Duration kRetentionCheckInterval = absl::Minutes(1);

class ExitOnSyncFailure : public LogSyncFailureHandler {
 public:
  void OnSyncFailure(const absl::Status& error) override {
    LogError(absl::StrCat(
        "FATAL ", error.message(),
        "; exiting without confirming more, so that a restart re-checks the "
        "log (after a failed fdatasync the data may never reach the disk)"));
    // No destructors: they would try to flush the log.
    std::_Exit(EX_IOERR);
  }
};

LogSyncFailureHandler& ExitOnSyncFailureHandler() {
  static ExitOnSyncFailure* const handler = new ExitOnSyncFailure();
  return *handler;
}

// Bytes of the segments before the active one, as the files are now.
uint64_t ClosedSegmentBytes(const std::string& directory,
                            const std::vector<uint64_t>& segments) {
  uint64_t bytes = 0;
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    struct stat info;
    if (stat(SegmentPath(directory, segments[i]).c_str(), &info) == 0) {
      bytes += static_cast<uint64_t>(info.st_size);
    }
  }
  return bytes;
}

// How long since `start`, on a clock that never goes back.
absl::Duration Since(std::chrono::steady_clock::time_point start) {
  return absl::FromChrono(std::chrono::steady_clock::now() - start);
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

MessageLog::MessageLog(const MessageLogOptions& options, OpenedLog opened)
    : directory_(options.directory),
      sync_(options.sync),
      segment_bytes_(options.segment_bytes),
      retention_(options.retention),
      ops_(options.file_ops != nullptr ? *options.file_ops : PosixLogFileOps()),
      sync_failure_handler_(options.sync_failure_handler != nullptr
                                ? *options.sync_failure_handler
                                : ExitOnSyncFailureHandler()),
      event_listener_(options.event_listener),
      retry_interval_(options.write_retry_interval),
      group_delay_(options.group_delay),
      recovery_(opened.recovery),
      lock_fd_(opened.lock_fd),
      write_observer_(options.write_observer),
      direct_writes_wanted_(options.direct_writes),
      disk_bytes_(ClosedSegmentBytes(options.directory, opened.segments) +
                  opened.active_bytes),
      segment_count_(opened.segments.size()),
      max_queued_bytes_(options.max_queued_bytes),
      appended_offset_(opened.recovery.end_offset),
      active_appended_bytes_(opened.active_bytes),
      durable_offset_(opened.recovery.end_offset),
      fd_(opened.fd),
      active_base_(opened.active_base),
      active_file_bytes_(opened.active_bytes),
      segments_(std::move(opened.segments)),
      kept_snapshots_(std::move(opened.snapshots)),
      syncer_(options.sync == LogSync::kGroupCommit
                  ? std::make_unique<LogSyncer>(
                        static_cast<LogSyncer::Callbacks*>(this))
                  : nullptr),
      writer_([this] { WriteLoop(); }) {}

MessageLog::~MessageLog() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  writer_.join();
  syncer_.reset();  // syncs what the writer wrote last
  // Left untrimmed, the zeros are cut by the next open (an INFO line).
  TrimBlockPadding().IgnoreError();
  close(fd_);
  close(lock_fd_);
}

absl::StatusOr<uint64_t> MessageLog::Append(
    absl::Span<const absl::string_view> encodings) {
  absl::MutexLock lock(&mutex_);
  // Refused while unhealthy, so that memory stays bounded and the caller
  // does not count what may never be written.
  if (!failure_.ok()) return failure_;
  for (const absl::string_view encoding : encodings) {
    AppendRecord(encoding, &pending_);
    active_appended_bytes_ += kRecordHeaderBytes + encoding.size();
  }
  appended_offset_ += encodings.size();
  return appended_offset_;
}

void MessageLog::WhenDurable(uint64_t offset,
                             std::function<void(absl::Status)> done) {
  absl::Status status;
  {
    absl::MutexLock lock(&mutex_);
    if (offset > durable_offset_) {
      if (failure_.ok()) {
        waiters_.emplace(offset, std::move(done));
        return;
      }
      status = failure_;
    }
  }
  done(status);
}

bool MessageLog::WhenQueueHasRoom(std::function<void()> resume) {
  absl::MutexLock lock(&mutex_);
  if (pending_.size() < max_queued_bytes_ || !failure_.ok()) return true;
  room_waiters_.push_back(std::move(resume));
  return false;
}

bool MessageLog::ShouldRoll() {
  absl::MutexLock lock(&mutex_);
  return failure_.ok() && active_appended_bytes_ >= segment_bytes_;
}

void MessageLog::Roll(consumer::v1::ProducerStateSnapshot state) {
  absl::MutexLock lock(&mutex_);
  markers_.push_back(
      {pending_.size(), appended_offset_, true, std::move(state)});
  active_appended_bytes_ = 0;
}

void MessageLog::WriteSnapshot(consumer::v1::ProducerStateSnapshot state) {
  absl::MutexLock lock(&mutex_);
  markers_.push_back(
      {pending_.size(), appended_offset_, false, std::move(state)});
}

bool MessageLog::healthy() {
  absl::MutexLock lock(&mutex_);
  return failure_.ok();
}

void MessageLog::WriteLoop() {
  StartDirectWrites();
  ApplyRetention();
  while (true) {
    bool final_attempt = false;
    bool check_retention = false;
    std::vector<std::function<void()>> resume;  // the queue has room now
    {
      absl::MutexLock lock(&mutex_);
      if (fatal_) {
        mutex_.Await(absl::Condition(&stopping_));
        return;
      }
      if (work_done_ == work_.size() && work_markers_.empty()) {
        work_.clear();
        work_done_ = 0;
        const absl::Condition has_work(
            +[](MessageLog* log) ABSL_EXCLUSIVE_LOCKS_REQUIRED(log->mutex_) {
              return !log->pending_.empty() || !log->markers_.empty() ||
                     log->stopping_;
            },
            this);
        if (retention_.time == absl::InfiniteDuration()) {
          mutex_.Await(has_work);
        } else {
          check_retention =
              !mutex_.AwaitWithTimeout(has_work, kRetentionCheckInterval);
        }
        if (!check_retention) {
          GatherGroup();
          if (pending_.empty() && markers_.empty()) return;  // stopping
          work_.swap(pending_);
          work_markers_.swap(markers_);
          work_end_ = appended_offset_;
          resume.swap(room_waiters_);
        }
      }
      final_attempt = stopping_;
    }
    for (auto& reader : resume) reader();
    if (check_retention) {
      ApplyRetention();
      continue;
    }
    const absl::Status written = WriteWork();
    absl::MutexLock lock(&mutex_);
    if (fatal_) continue;
    if (written.ok()) {
      if (!failure_.ok()) {
        LogInfo(
            absl::StrCat("message log ", directory_,
                         ": writes succeed again after: ", failure_.message()));
        failure_ = absl::OkStatus();
        TellHealth(failure_);
      }
      continue;
    }
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    const bool was_healthy = failure_.ok();
    failure_ = written;
    if (was_healthy) {
      LogError(written.message());
      TellHealth(written);
    }
    FailWaiters(written);
    if (final_attempt) {
      LogError(absl::StrCat("message log ", directory_, ": shutting down with ",
                            work_.size() - work_done_ + pending_.size(),
                            " bytes of unconfirmed messages unwritten (",
                            written.message(),
                            "); their producers will send them again"));
      return;
    }
    mutex_.AwaitWithTimeout(absl::Condition(&stopping_), retry_interval_);
  }
}

bool MessageLog::GroupFull() const {
  return pending_.size() >= kFullGroupBytes || !markers_.empty() || stopping_;
}

void MessageLog::GatherGroup() {
  if (group_delay_ > absl::ZeroDuration()) {
    mutex_.AwaitWithTimeout(absl::Condition(this, &MessageLog::GroupFull),
                            group_delay_);
  }
  if (syncer_ == nullptr) return;
  // While the disk syncs the last group the next one gathers on: written
  // now, it would wait for that sync all the same, and small groups (a
  // message a read) cost one write per sync, as before the syncer. A full
  // group is written at once, its write overlapping the sync. The syncer
  // clears syncing() before it takes mutex_ to confirm, which wakes this.
  mutex_.Await(absl::Condition(
      +[](MessageLog* log) ABSL_EXCLUSIVE_LOCKS_REQUIRED(log->mutex_) {
        return log->GroupFull() || !log->syncer_->syncing();
      },
      this));
}

absl::Status MessageLog::WriteWork() {
  while (true) {
    const bool at_marker = !work_markers_.empty();
    const size_t chunk_end =
        at_marker ? work_markers_.front().at : work_.size();
    if (work_done_ < chunk_end) {
      const auto start = std::chrono::steady_clock::now();
      absl::Status written = WriteChunk(
          absl::string_view(work_).substr(work_done_, chunk_end - work_done_));
      if (!written.ok()) return written;
      if (write_observer_ != nullptr) {
        write_observer_->OnGroupWritten(Since(start));
      }
      work_done_ = chunk_end;
      if (sync_ == LogSync::kNone && !direct_writes_) StartWriteback();
    }
    if (!at_marker) {
      if (syncer_ != nullptr) {
        syncer_->Request(fd_, work_end_);  // which confirms them once synced
      } else {
        MarkDurable(work_end_);
      }
      return absl::OkStatus();
    }
    // A snapshot must never claim records that are not on the disk, so they
    // are synced before one even without group commit; and the segment may
    // be closed next, so the syncer must be done with it.
    if (syncer_ != nullptr) {
      syncer_->WaitIdle();
      // If a sync failed there, this one may succeed without the data that
      // one lost: nothing may be confirmed or snapshotted from here on.
      if (absl::Status failed = FatalFailure(); !failed.ok()) return failed;
    }
    // The segment may be closed next: it must end at its last record.
    if (absl::Status trimmed = TrimBlockPadding(); !trimmed.ok()) {
      return trimmed;
    }
    if (absl::Status synced = Sync(fd_, SegmentPath(directory_, active_base_));
        !synced.ok()) {
      return synced;
    }
    MarkDurable(work_markers_.front().offset);
    Marker& marker = work_markers_.front();
    if (marker.roll && marker.offset != active_base_) {
      if (absl::Status started = StartSegment(marker.offset); !started.ok()) {
        return started;
      }
    }
    marker.state.set_offset(marker.offset);
    SaveSnapshot(std::move(marker.state));
    work_markers_.pop_front();
    ApplyRetention();
  }
}

absl::Status MessageLog::Sync(int fd, absl::string_view what) {
  const auto start = std::chrono::steady_clock::now();
  if (ops_.Fdatasync(fd) == 0) {
    if (write_observer_ != nullptr) write_observer_->OnSynced(Since(start));
    return absl::OkStatus();
  }
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  const absl::Status error = absl::UnavailableError(
      absl::StrCat("cannot sync ", what, ": ", std::strerror(errno)));
  FailForGood(error);
  return error;
}

bool MessageLog::SyncSegment(int fd) {
  return Sync(fd, SegmentPath(directory_, active_base_)).ok();
}

void MessageLog::OnSynced(uint64_t offset) { MarkDurable(offset); }

absl::Status MessageLog::FatalFailure() {
  absl::MutexLock lock(&mutex_);
  return fatal_ ? failure_ : absl::OkStatus();
}

void MessageLog::MarkDurable(uint64_t offset) {
  std::vector<std::function<void(absl::Status)>> ready;
  {
    absl::MutexLock lock(&mutex_);
    if (fatal_) return;  // after a failed sync, nothing is confirmed
    if (offset > durable_offset_) durable_offset_ = offset;
    auto last = waiters_.upper_bound(durable_offset_);
    for (auto it = waiters_.begin(); it != last; ++it) {
      ready.push_back(std::move(it->second));
    }
    waiters_.erase(waiters_.begin(), last);
  }
  for (auto& done : ready) done(absl::OkStatus());
  if (event_listener_ != nullptr) event_listener_->OnDurable(offset);
}

void MessageLog::TellHealth(const absl::Status& error) {
  if (event_listener_ == nullptr) return;
  // Not called back under the lock, as for the waiters.
  mutex_.Unlock();
  event_listener_->OnHealthChanged(error);
  mutex_.Lock();
}

void MessageLog::FailWaiters(const absl::Status& error) {
  // Not called back under the lock: `done` may take other locks.
  std::multimap<uint64_t, std::function<void(absl::Status)>> waiting;
  waiting.swap(waiters_);
  std::vector<std::function<void()>> resume;
  resume.swap(room_waiters_);
  mutex_.Unlock();
  for (auto& [offset, done] : waiting) done(error);
  // Rather than wait for the writes to succeed, their Appends fail too.
  for (auto& reader : resume) reader();
  mutex_.Lock();
}

void MessageLog::FailForGood(const absl::Status& error) {
  sync_failure_handler_.OnSyncFailure(error);
  absl::MutexLock lock(&mutex_);
  failure_ = error;
  fatal_ = true;
  FailWaiters(error);
}

}  // namespace messaging
