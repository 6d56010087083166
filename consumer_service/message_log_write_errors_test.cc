// How the message log lives through failing writes: a full disk, a quota,
// a file size limit and I/O errors undo the write, make the log unhealthy
// and are retried until they succeed; a failed fdatasync stops confirming
// for good.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "consumer_service/acceptor.h"
#include "consumer_service/log_directory.h"
#include "consumer_service/log_file_ops.h"
#include "consumer_service/log_test_util.h"
#include "consumer_service/message_log.h"
#include "consumer_service/producer_ledger.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/wire/viewed_mensaje.h"
#include "testing/mensajes.h"

namespace messaging {
namespace {

using testing::HasSubstr;

// The real calls, failing with an errno on demand. A failing write first
// writes part of its data, as a filling disk does, so that the log must
// cut it back.
class FaultyFileOps : public LogFileOps {
 public:
  ssize_t Pwrite(int fd, const void* data, size_t size, off_t offset) override {
    absl::SleepFor(absl::Milliseconds(write_delay_ms.load()));
    if (const int error = write_errno.load(); error != 0) {
      if (pwrite(fd, data, size / 2, offset) < 0) return -1;
      errno = error;
      return -1;
    }
    return pwrite(fd, data, size, offset);
  }
  int Fdatasync(int fd) override {
    absl::SleepFor(absl::Milliseconds(sync_delay_ms.load()));
    if (const int error = sync_errno.load(); error != 0) {
      errno = error;
      return -1;
    }
    return fdatasync(fd);
  }
  int Ftruncate(int fd, off_t size) override {
    last_truncate.store(size);
    return ftruncate(fd, size);
  }
  int StartWriteback(int fd, off_t offset, off_t size) override {
    return sync_file_range(fd, offset, size, SYNC_FILE_RANGE_WRITE);
  }

  std::atomic<int> write_errno{0};
  std::atomic<int> write_delay_ms{0};
  std::atomic<int> sync_errno{0};
  std::atomic<int> sync_delay_ms{0};
  std::atomic<off_t> last_truncate{-1};
};

class RecordingSyncFailureHandler : public LogSyncFailureHandler {
 public:
  void OnSyncFailure(const absl::Status& error) override {
    ++calls;
    message = std::string(error.message());
  }
  std::atomic<int> calls{0};
  std::string message;
};

// What WhenDurable(offset) answers, waiting for it.
absl::Status Durability(MessageLog& log, uint64_t offset) {
  auto answer = std::make_shared<absl::Status>();
  auto answered = std::make_shared<absl::Notification>();
  log.WhenDurable(offset, [answer, answered](absl::Status status) {
    *answer = status;
    answered->Notify();
  });
  if (!answered->WaitForNotificationWithTimeout(absl::Seconds(30))) {
    return absl::DeadlineExceededError("WhenDurable never answered");
  }
  return *answer;
}

bool BecomesHealthy(MessageLog& log) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!log.healthy() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  return log.healthy();
}

absl::StatusOr<uint64_t> AppendMessage(MessageLog& log, uint64_t sequence) {
  const std::string encoding =
      DemoMensaje("producer", sequence).SerializeAsString();
  return log.Append({encoding});
}

// Opens the log in `directory`, its file calls through `ops` (the real ones
// if null) and a failed sync told to `handler` (the default if null).
absl::StatusOr<std::unique_ptr<MessageLog>> OpenLog(
    const std::string& directory, LogFileOps* ops,
    LogSyncFailureHandler* handler,
    size_t max_queued_bytes = MessageLogOptions().max_queued_bytes) {
  MessageLogOptions options;
  options.directory = directory;
  options.max_queued_bytes = max_queued_bytes;
  options.file_ops = ops;
  options.sync_failure_handler = handler;
  options.write_retry_interval = absl::Milliseconds(20);
  return MessageLog::Open(options, [](auto&, uint64_t) {});
}

class WriteErrorTest : public testing::TestWithParam<int> {};

INSTANTIATE_TEST_SUITE_P(FullDiskQuotaAndIoError, WriteErrorTest,
                         testing::Values(ENOSPC, EDQUOT, EIO));

TEST_P(WriteErrorTest, IsUndoneRefusesNewAppendsAndRetriesUntilItWorks) {
  const std::string directory = NewTestDirectory();
  FaultyFileOps ops;
  RecordingSyncFailureHandler handler;
  {
    absl::StatusOr<std::unique_ptr<MessageLog>> log =
        OpenLog(directory, &ops, &handler);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE(Durability(**log, *AppendMessage(**log, 0)).ok());
    const off_t first_record = RecordBytes(SegmentPath(directory, 0));

    ops.write_errno = GetParam();
    absl::StatusOr<uint64_t> queued = AppendMessage(**log, 1);
    ASSERT_TRUE(queued.ok());
    const absl::Status failed = Durability(**log, *queued);
    EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(failed.message(), HasSubstr(std::strerror(GetParam())));
    EXPECT_FALSE((*log)->healthy());
    // Cut back to the last whole record.
    EXPECT_EQ(ops.last_truncate.load(), first_record);
    // Refused while unhealthy, so that nothing more piles up in memory.
    absl::StatusOr<uint64_t> refused = AppendMessage(**log, 2);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(refused.status().message(),
                HasSubstr(std::strerror(GetParam())));

    // The first failure and any retry since; the file holds only the
    // whole record.
    EXPECT_GE((*log)->write_errors(), 1u);
    EXPECT_EQ((*log)->disk_bytes(), static_cast<uint64_t>(first_record));

    ops.write_errno = 0;  // space is back
    ASSERT_TRUE(BecomesHealthy(**log));
    const uint64_t errors = (*log)->write_errors();
    EXPECT_TRUE(Durability(**log, *queued).ok());
    ASSERT_TRUE(AppendMessage(**log, 2).ok());
    EXPECT_EQ((*log)->write_errors(), errors);
  }
  EXPECT_EQ(LoggedSequences(directory), (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(handler.calls.load(), 0);
}

TEST(WriteErrorTest, ReadersPausedForAFullQueueResumeWhenWritesFail) {
  FaultyFileOps ops;
  absl::StatusOr<std::unique_ptr<MessageLog>> log =
      OpenLog(NewTestDirectory(), &ops, nullptr, /*max_queued_bytes=*/1000);
  ASSERT_TRUE(log.ok()) << log.status();
  ops.write_delay_ms = 200;
  ops.write_errno = ENOSPC;  // the write in progress will fail
  ASSERT_TRUE(AppendMessage(**log, 0).ok());
  absl::SleepFor(absl::Milliseconds(50));  // the writer took it
  ASSERT_TRUE((*log)->Append({std::string(2000, 'q')}).ok());
  absl::Notification resumed;
  ASSERT_FALSE((*log)->WhenQueueHasRoom([&] { resumed.Notify(); }));
  // Not left paused until the disk has room: their next Append says why.
  EXPECT_TRUE(resumed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_FALSE((*log)->healthy());
  EXPECT_THAT(AppendMessage(**log, 1).status().message(),
              HasSubstr(std::strerror(ENOSPC)));
  ops.write_delay_ms = 0;
  ops.write_errno = 0;
  EXPECT_TRUE(BecomesHealthy(**log));
}

TEST(WriteErrorTest, TheAcceptorCountsNothingTheLogRefused) {
  FaultyFileOps ops;
  absl::StatusOr<std::unique_ptr<MessageLog>> log =
      OpenLog(NewTestDirectory(), &ops, nullptr);
  ASSERT_TRUE(log.ok());
  MessageLog& raw_log = **log;  // the acceptor owns it from here on
  ConsumerStatsRecorder stats(absl::Now());
  Acceptor acceptor(std::make_unique<ProducerLedger>(), std::move(*log), &stats,
                    /*console=*/nullptr);
  ConsumeStream stream;
  const ViewedMensaje first(DemoMensaje("producer", 0));
  ASSERT_TRUE(acceptor.Accept({first}, absl::Now(), &stream).ok());
  ASSERT_EQ(Durability(raw_log, 1).code(), absl::StatusCode::kOk);
  ops.write_errno = ENOSPC;
  const ViewedMensaje second(DemoMensaje("producer", 1));
  ASSERT_TRUE(acceptor.Accept({second}, absl::Now(), &stream).ok());  // queued
  EXPECT_EQ(Durability(raw_log, 2).code(), absl::StatusCode::kUnavailable);
  const ViewedMensaje third(DemoMensaje("producer", 2));
  EXPECT_EQ(acceptor.Accept({third}, absl::Now(), &stream).code(),
            absl::StatusCode::kUnavailable);
  // The queued message counts: it is written once the disk has room.
  EXPECT_EQ(acceptor.ledger().Lookup("producer").next_sequence, 2u);
  EXPECT_EQ(stream.Summary(2).messages_received(), 2u);
  ops.write_errno = 0;
  ASSERT_TRUE(BecomesHealthy(raw_log));
  EXPECT_TRUE(Durability(raw_log, 2).ok());
}

TEST(SyncErrorTest, StopsConfirmingForGoodAndTellsTheHandlerOnce) {
  FaultyFileOps ops;
  RecordingSyncFailureHandler handler;
  absl::StatusOr<std::unique_ptr<MessageLog>> log =
      OpenLog(NewTestDirectory(), &ops, &handler);
  ASSERT_TRUE(log.ok());
  ops.sync_errno = EIO;
  const absl::Status failed = Durability(**log, *AppendMessage(**log, 0));
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(failed.message(), HasSubstr("cannot sync"));
  EXPECT_THAT(failed.message(), HasSubstr(std::strerror(EIO)));
  EXPECT_EQ(handler.calls.load(), 1);
  EXPECT_THAT(handler.message, HasSubstr(std::strerror(EIO)));

  // Even once syncing works again nothing more is confirmed: the data of
  // the failed sync may never have reached the disk.
  ops.sync_errno = 0;
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE((*log)->healthy());
  EXPECT_EQ(AppendMessage(**log, 1).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Durability(**log, 1).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(handler.calls.load(), 1);
}

TEST(SyncErrorTest, ASnapshotAfterAFailedSyncConfirmsNothing) {
  const std::string directory = NewTestDirectory();
  FaultyFileOps ops;
  RecordingSyncFailureHandler handler;
  absl::StatusOr<std::unique_ptr<MessageLog>> log =
      OpenLog(directory, &ops, &handler);
  ASSERT_TRUE(log.ok());
  // The group's sync fails 50 ms on, while the writer waits for more.
  ops.sync_delay_ms = 50;
  ops.sync_errno = EIO;
  const absl::StatusOr<uint64_t> position = AppendMessage(**log, 0);
  ASSERT_TRUE(position.ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (handler.calls.load() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ(handler.calls.load(), 1);
  // A snapshot's own sync then succeeds, as one after a failure may
  // without the lost data: it must confirm nothing, nor be saved.
  ops.sync_delay_ms = 0;
  ops.sync_errno = 0;
  (*log)->WriteSnapshot(consumer::v1::ProducerStateSnapshot());
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(Durability(**log, *position).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_FALSE(std::filesystem::exists(SnapshotPath(directory, 1)));
}

TEST(SyncErrorTest, TheDefaultHandlerExitsTheProcessWithOneFatalLine) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        FaultyFileOps ops;
        ops.sync_errno = EIO;
        absl::StatusOr<std::unique_ptr<MessageLog>> log =
            OpenLog(NewTestDirectory(), &ops, nullptr);
        if (log.ok()) Durability(**log, *AppendMessage(**log, 0)).IgnoreError();
        std::fprintf(stderr, "still running\n");
        std::_Exit(0);
      },
      testing::ExitedWithCode(74), "FATAL cannot sync .*Input/output error");
}

// The real kernel path for EFBIG: a file size limit, with SIGXFSZ ignored
// so that the write fails instead of killing the process. In a child, as
// the limit is the process's.
TEST(FileSizeLimitTest, AWriteBeyondTheLimitIsUndoneAndRetriedOnceLifted) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string directory = NewTestDirectory();
  EXPECT_EXIT(
      {
        signal(SIGXFSZ, SIG_IGN);
        auto log = OpenLog(directory, nullptr, nullptr);
        if (!log.ok()) std::_Exit(2);
        if (!Durability(**log, *AppendMessage(**log, 0)).ok()) std::_Exit(3);
        const size_t size = RecordBytes(SegmentPath(directory, 0));
        rlimit limit;
        getrlimit(RLIMIT_FSIZE, &limit);
        const rlim_t unlimited = limit.rlim_cur;
        limit.rlim_cur = size + 10;  // less than a record more
        setrlimit(RLIMIT_FSIZE, &limit);
        v1::Mensaje big = DemoMensaje("producer", 1);
        big.set_payload(std::string(1000, 'x'));
        const std::string encoding = big.SerializeAsString();
        const absl::StatusOr<uint64_t> queued = (*log)->Append({encoding});
        const absl::Status failed = Durability(**log, *queued);
        const bool cut_back = ReadAll(SegmentPath(directory, 0)).size() == size;
        limit.rlim_cur = unlimited;
        setrlimit(RLIMIT_FSIZE, &limit);
        // Only now: the limit applies to stderr's file too.
        std::fprintf(stderr, "failed: %s\n", failed.ToString().c_str());
        if (!cut_back) std::_Exit(4);
        if (!BecomesHealthy(**log) || !Durability(**log, *queued).ok()) {
          std::_Exit(5);
        }
        log->reset();
        std::fprintf(stderr, "logged %zu\n", LoggedSequences(directory).size());
        std::_Exit(0);
      },
      testing::ExitedWithCode(0),
      "failed: UNAVAILABLE: cannot write .*File too large(.|\n)*logged 2");
}

}  // namespace
}  // namespace messaging
