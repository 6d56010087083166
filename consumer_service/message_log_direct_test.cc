// How the log writes its active segment with O_DIRECT: where the file
// system allows it, padded to whole blocks and trimmed back to the last
// record before a segment closes or the log does; and a crash leaves only
// zeros after the last durable record, which reopening cuts.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "consumer_service/direct_appender.h"
#include "consumer_service/log_directory.h"
#include "consumer_service/log_file_ops.h"
#include "consumer_service/log_test_util.h"
#include "consumer_service/message_log.h"
#include "gtest/gtest.h"
#include "testing/mensajes.h"

namespace messaging {
namespace {

constexpr size_t kBlock = DirectAppender::kBlockBytes;

// Whether a file of `directory` takes O_DIRECT: the log's choice to check.
bool TakesODirect(const std::string& directory) {
  const std::string probe = directory + "/probe";
  const int fd = open(probe.c_str(), O_RDWR | O_CREAT | O_DIRECT, 0600);
  if (fd >= 0) close(fd);
  unlink(probe.c_str());
  return fd >= 0;
}

// Whether this process holds `path` open with O_DIRECT, from /proc.
bool OpenWithODirect(const std::string& path) {
  for (int fd = 0; fd < 1024; ++fd) {
    char target[4096];
    const std::string link = absl::StrCat("/proc/self/fd/", fd);
    const ssize_t n = readlink(link.c_str(), target, sizeof(target));
    if (n <= 0 || std::string(target, n) != path) continue;
    return (fcntl(fd, F_GETFL) & O_DIRECT) != 0;
  }
  ADD_FAILURE() << path << " is not open";
  return false;
}

uint64_t FileSize(const std::string& path) {
  struct stat info;
  EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
  return static_cast<uint64_t>(info.st_size);
}

std::unique_ptr<MessageLog> Open(const MessageLogOptions& options,
                                 LogRecovery* recovery = nullptr) {
  absl::StatusOr<std::unique_ptr<MessageLog>> log =
      MessageLog::Open(options, [](const v1::Mensaje&, uint64_t) {});
  EXPECT_TRUE(log.ok()) << log.status();
  if (!log.ok()) return nullptr;
  if (recovery != nullptr) *recovery = (*log)->recovery();
  return std::move(*log);
}

// Appends messages 0..count-1, of payloads growing by 97 bytes, so that
// groups end anywhere in a block and some span several.
void AppendOddSizes(MessageLog& log, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    v1::Mensaje message = DemoMensaje("producer", i);
    message.set_payload(std::string(97 * i % 9000, 'p'));
    ASSERT_TRUE(AppendDurably(log, message.SerializeAsString()));
  }
}

// Appends messages 0..count-1 of 1,000-byte payloads, each durable before
// the next, rolling whenever the segment is full.
void AppendKibibytesRolling(MessageLog& log, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    if (log.ShouldRoll()) log.Roll({});
    v1::Mensaje message = DemoMensaje("producer", i);
    message.set_payload(std::string(1000, 'k'));
    ASSERT_TRUE(AppendDurably(log, message.SerializeAsString()));
  }
}

std::vector<uint64_t> Sequences(uint64_t count) {
  std::vector<uint64_t> sequences;
  for (uint64_t i = 0; i < count; ++i) sequences.push_back(i);
  return sequences;
}

TEST(DirectWritesTest, BothSyncModesWriteThroughODirectUnlessTold) {
  for (const LogSync sync : {LogSync::kGroupCommit, LogSync::kNone}) {
    for (const bool wanted : {true, false}) {
      MessageLogOptions options{NewTestDirectory()};
      options.sync = sync;
      options.direct_writes = wanted;
      std::unique_ptr<MessageLog> log = Open(options);
      ASSERT_NE(log, nullptr);
      ASSERT_TRUE(AppendDurably(*log, DemoMensaje("p", 0).SerializeAsString()));
      const bool expected = wanted && TakesODirect(options.directory);
      EXPECT_EQ(OpenWithODirect(SegmentPath(options.directory, 0)), expected)
          << AbslUnparseFlag(sync) << " wanted " << wanted;
    }
  }
}

TEST(DirectWritesTest, RecordsOfAnySizeReadBackWholeAndTheFileEndsAtTheLast) {
  MessageLogOptions options{NewTestDirectory()};
  const std::string segment = SegmentPath(options.directory, 0);
  {
    std::unique_ptr<MessageLog> log = Open(options);
    ASSERT_NE(log, nullptr);
    AppendOddSizes(*log, 60);
    // While open, the file may run on to the end of its last block.
    const uint64_t records = RecordBytes(segment);
    EXPECT_GE(FileSize(segment), records);
    EXPECT_LT(FileSize(segment), records + kBlock);
  }
  EXPECT_EQ(FileSize(segment), RecordBytes(segment));  // trimmed at close
  EXPECT_EQ(LoggedSequences(options.directory), Sequences(60));

  // Reopened, it goes on from the partial block it found.
  LogRecovery recovery;
  {
    std::unique_ptr<MessageLog> log = Open(options, &recovery);
    ASSERT_NE(log, nullptr);
    v1::Mensaje message = DemoMensaje("producer", 60);
    ASSERT_TRUE(AppendDurably(*log, message.SerializeAsString()));
  }
  EXPECT_EQ(recovery.truncated_bytes, 0u);
  EXPECT_EQ(LoggedSequences(options.directory), Sequences(61));
}

TEST(DirectWritesTest, ClosedSegmentsEndAtTheirLastRecord) {
  MessageLogOptions options{NewTestDirectory()};
  options.segment_bytes = 3 * kBlock + 100;
  {
    std::unique_ptr<MessageLog> log = Open(options);
    ASSERT_NE(log, nullptr);
    AppendKibibytesRolling(*log, 40);
    absl::StatusOr<LogDirectory> files = ListLogDirectory(options.directory);
    ASSERT_TRUE(files.ok());
    ASSERT_GE(files->segments.size(), 3u);
    for (size_t i = 0; i + 1 < files->segments.size(); ++i) {
      const std::string path =
          SegmentPath(options.directory, files->segments[i]);
      EXPECT_EQ(FileSize(path), RecordBytes(path)) << path;
    }
  }
  EXPECT_EQ(LoggedSequences(options.directory), Sequences(40));
}

TEST(DirectWritesTest, ACrashLeavesZerosAfterTheLastRecordWhichReopeningCuts) {
  MessageLogOptions options{NewTestDirectory()};
  const std::string segment = SegmentPath(options.directory, 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::unique_ptr<MessageLog> log = Open(options);
    if (log == nullptr) std::_Exit(2);
    for (uint64_t i = 0; i < 25; ++i) {
      v1::Mensaje message = DemoMensaje("producer", i);
      message.set_payload(std::string(300, 'c'));
      if (!AppendDurably(*log, message.SerializeAsString())) std::_Exit(3);
    }
    std::_Exit(0);  // no destructor: as if killed once all is durable
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  const uint64_t size = FileSize(segment);
  const uint64_t records = RecordBytes(segment);
  if (TakesODirect(options.directory)) {
    EXPECT_EQ(size % kBlock, 0u);
    EXPECT_GT(size, records);
  }

  LogRecovery recovery;
  ASSERT_NE(Open(options, &recovery), nullptr);
  EXPECT_EQ(recovery.truncated_bytes, size - records);
  EXPECT_EQ(recovery.end_offset, 25u);
  EXPECT_EQ(FileSize(segment), records);
  EXPECT_EQ(LoggedSequences(options.directory), Sequences(25));
}

// The real calls, but O_DIRECT writes fail as on a device whose logical
// block is larger than the log's: EINVAL.
class RefusingDirectWrites : public LogFileOps {
 public:
  ssize_t Pwrite(int fd, const void* data, size_t size, off_t offset) override {
    if ((fcntl(fd, F_GETFL) & O_DIRECT) != 0) {
      ++refused;
      errno = EINVAL;
      return -1;
    }
    return PosixLogFileOps().Pwrite(fd, data, size, offset);
  }
  int Fdatasync(int fd) override { return PosixLogFileOps().Fdatasync(fd); }
  int Ftruncate(int fd, off_t size) override {
    return PosixLogFileOps().Ftruncate(fd, size);
  }
  int StartWriteback(int fd, off_t offset, off_t size) override {
    return PosixLogFileOps().StartWriteback(fd, offset, size);
  }
  std::atomic<int> refused{0};
};

TEST(DirectWritesTest, ASegmentWhoseDirectWritesFailIsWrittenThroughTheCache) {
  RefusingDirectWrites ops;
  MessageLogOptions options{NewTestDirectory()};
  options.file_ops = &ops;
  options.segment_bytes = 2500;  // three records
  uint64_t segments = 0;
  {
    std::unique_ptr<MessageLog> log = Open(options);
    ASSERT_NE(log, nullptr);
    AppendKibibytesRolling(*log, 12);
    EXPECT_EQ(log->write_errors(), 0u);
    segments = log->segment_count();
    EXPECT_EQ(segments, 4u);
  }
  // Each segment tried O_DIRECT once, then did without.
  if (TakesODirect(options.directory)) {
    EXPECT_EQ(ops.refused.load(), static_cast<int>(segments));
  }
  EXPECT_EQ(LoggedSequences(options.directory), Sequences(12));
}

}  // namespace
}  // namespace messaging
