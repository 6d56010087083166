#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "consumer_service/log_file_ops.h"
#include "consumer_service/log_test_util.h"
#include "consumer_service/message_log.h"
#include "gtest/gtest.h"

// How the log's writer uses the disk: the writeback it starts without group
// commit, the syncs it leaves to its syncer with group commit, and the
// readers it pauses while its queue is full.
namespace messaging {
namespace {

// The real calls, and the ranges whose writeback the log started.
class WritebackRecordingOps : public LogFileOps {
 public:
  ssize_t Pwrite(int fd, const void* data, size_t size, off_t offset) override {
    return PosixLogFileOps().Pwrite(fd, data, size, offset);
  }
  int Fdatasync(int fd) override { return PosixLogFileOps().Fdatasync(fd); }
  int Ftruncate(int fd, off_t size) override {
    return PosixLogFileOps().Ftruncate(fd, size);
  }
  int StartWriteback(int fd, off_t offset, off_t size) override {
    absl::MutexLock lock(&mutex);
    ranges.push_back({offset, size});
    return PosixLogFileOps().StartWriteback(fd, offset, size);
  }

  absl::Mutex mutex;
  std::vector<std::pair<off_t, off_t>> ranges ABSL_GUARDED_BY(mutex);
};

// Writes 4 MiB in 64 KiB appends, each durable before the next.
void AppendFourMebibytes(MessageLog& log) {
  const std::string record(64 << 10, 'x');
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(AppendDurably(log, record));
}

// A new log on `ops`, synced as `sync`; null if it did not open.
std::unique_ptr<MessageLog> OpenLog(
    LogFileOps& ops, LogSync sync,
    size_t max_queued_bytes = MessageLogOptions().max_queued_bytes,
    bool direct_writes = true) {
  MessageLogOptions options{NewTestDirectory()};
  options.sync = sync;
  options.max_queued_bytes = max_queued_bytes;
  options.direct_writes = direct_writes;
  options.file_ops = &ops;
  absl::StatusOr<std::unique_ptr<MessageLog>> log =
      MessageLog::Open(options, [](const v1::Mensaje&, uint64_t) {});
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? std::move(*log) : nullptr;
}

// The writeback ranges a log synced as `sync`, through the page cache or
// not, starts while 4 MiB are appended to it.
std::vector<std::pair<off_t, off_t>> WritebackOfFourMebibytes(
    LogSync sync, bool direct_writes) {
  WritebackRecordingOps ops;
  std::unique_ptr<MessageLog> log =
      OpenLog(ops, sync, MessageLogOptions().max_queued_bytes, direct_writes);
  if (log == nullptr) return {};
  AppendFourMebibytes(*log);
  absl::MutexLock lock(&ops.mutex);
  return ops.ranges;
}

TEST(MessageLogTest, WithoutGroupCommitStartsWritebackOfEachMebibyte) {
  const std::vector<std::pair<off_t, off_t>> ranges =
      WritebackOfFourMebibytes(LogSync::kNone, /*direct_writes=*/false);
  // Back to back from the start of the segment, each at least 1 MiB, so
  // that the sync at the segment's close finds little left to write.
  ASSERT_GE(ranges.size(), 3u);
  off_t next = 0;
  for (const auto& [offset, size] : ranges) {
    EXPECT_EQ(offset, next);
    EXPECT_GE(size, off_t{1} << 20);
    next = offset + size;
  }
  EXPECT_GE(next, off_t{3} << 20);
}

TEST(MessageLogTest, WithGroupCommitLeavesWritebackToItsSyncs) {
  EXPECT_TRUE(WritebackOfFourMebibytes(LogSync::kGroupCommit,
                                       /*direct_writes=*/false)
                  .empty());
}

TEST(MessageLogTest, WithODirectLeavesNothingToWriteBack) {
  EXPECT_TRUE(
      WritebackOfFourMebibytes(LogSync::kNone, /*direct_writes=*/true).empty());
}

// The real calls, with every fdatasync taking 100 ms more, and a count of
// the writes made while one runs.
class SlowSyncOps : public LogFileOps {
 public:
  ssize_t Pwrite(int fd, const void* data, size_t size, off_t offset) override {
    if (syncing.load()) ++writes_during_sync;
    return PosixLogFileOps().Pwrite(fd, data, size, offset);
  }
  int Fdatasync(int fd) override {
    syncing.store(true);
    ++syncs_started;
    absl::SleepFor(absl::Milliseconds(100));
    const int result = PosixLogFileOps().Fdatasync(fd);
    syncing.store(false);
    return result;
  }
  int Ftruncate(int fd, off_t size) override {
    return PosixLogFileOps().Ftruncate(fd, size);
  }
  int StartWriteback(int fd, off_t offset, off_t size) override {
    return PosixLogFileOps().StartWriteback(fd, offset, size);
  }

  std::atomic<bool> syncing{false};
  std::atomic<int> syncs_started{0};
  std::atomic<int> writes_during_sync{0};
};

// Opens a group-commit log on `ops`, appends one small record and returns
// once its sync has started.
std::unique_ptr<MessageLog> LogSyncingItsFirstRecord(
    SlowSyncOps& ops,
    size_t max_queued_bytes = MessageLogOptions().max_queued_bytes) {
  std::unique_ptr<MessageLog> log =
      OpenLog(ops, LogSync::kGroupCommit, max_queued_bytes);
  if (log == nullptr) return nullptr;
  EXPECT_TRUE(log->Append({std::string(100, 'a')}).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (ops.syncs_started.load() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(ops.syncs_started.load(), 1);
  return log;
}

TEST(MessageLogTest, WithGroupCommitAFullGroupIsWrittenWhileTheLastSyncs) {
  SlowSyncOps ops;
  std::unique_ptr<MessageLog> log = LogSyncingItsFirstRecord(ops);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(AppendDurably(*log, std::string(kFullGroupBytes, 'b')));
  EXPECT_EQ(ops.writes_during_sync.load(), 1);
}

TEST(MessageLogTest, WithGroupCommitASmallGroupWaitsForTheSyncInProgress) {
  SlowSyncOps ops;
  std::unique_ptr<MessageLog> log = LogSyncingItsFirstRecord(ops);
  ASSERT_NE(log, nullptr);
  // Two appends 20 ms apart, both during the first sync: one write after
  // it, and one sync for both.
  ASSERT_TRUE(log->Append({std::string(100, 'b')}).ok());
  absl::SleepFor(absl::Milliseconds(20));
  ASSERT_TRUE(AppendDurably(*log, std::string(100, 'c')));
  EXPECT_EQ(ops.writes_during_sync.load(), 0);
  EXPECT_EQ(ops.syncs_started.load(), 2);
}

TEST(MessageLogTest, AFullQueueResumesItsReaderOnceTheWriterTakesIt) {
  SlowSyncOps ops;
  std::unique_ptr<MessageLog> log =
      LogSyncingItsFirstRecord(ops, /*max_queued_bytes=*/1000);
  ASSERT_NE(log, nullptr);
  std::atomic<int> resumed{0};
  EXPECT_TRUE(log->WhenQueueHasRoom([&] { ++resumed; }));
  // Queued behind the 100 ms sync, as a small group waits for it.
  ASSERT_TRUE(log->Append({std::string(2000, 'q')}).ok());
  EXPECT_FALSE(log->WhenQueueHasRoom([&] { ++resumed; }));
  EXPECT_EQ(resumed.load(), 0);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (resumed.load() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(resumed.load(), 1);
  EXPECT_GE(ops.syncs_started.load(), 1);
  EXPECT_TRUE(log->WhenQueueHasRoom([&] { ++resumed; }));
  EXPECT_EQ(resumed.load(), 1);  // only the paused reader was called
}

}  // namespace
}  // namespace messaging
