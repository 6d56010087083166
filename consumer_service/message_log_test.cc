#include "consumer_service/message_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "consumer_service/log_directory.h"
#include "consumer_service/log_record.h"
#include "consumer_service/log_test_util.h"
#include "gtest/gtest.h"
#include "testing/mensajes.h"

namespace messaging {
namespace {

std::string NewDirectory() { return NewTestDirectory(); }

// Opens `directory`'s log and returns the sequences it replays.
absl::StatusOr<std::vector<uint64_t>> Replay(const std::string& directory,
                                             LogRecovery* recovery = nullptr) {
  std::vector<uint64_t> sequences;
  absl::StatusOr<std::unique_ptr<MessageLog>> log =
      MessageLog::Open({directory}, [&](const v1::Mensaje& message, uint64_t) {
        sequences.push_back(message.sequence());
      });
  if (!log.ok()) return log.status();
  if (recovery != nullptr) *recovery = (*log)->recovery();
  return sequences;
}

// Writes messages 0..count-1 to a new log; returns its directory.
std::string WriteLog(int count) {
  const std::string directory = NewDirectory();
  absl::StatusOr<std::unique_ptr<MessageLog>> log =
      MessageLog::Open({directory}, [](const v1::Mensaje&, uint64_t) {});
  EXPECT_TRUE(log.ok()) << log.status();
  for (int i = 0; i < count; ++i) {
    const v1::Mensaje message = DemoMensaje("producer", i);
    EXPECT_TRUE((*log)->Append({message.SerializeAsString()}).ok());
  }
  return directory;
}

// The only segment of a log shorter than a segment.
std::string LogPath(const std::string& directory) {
  return SegmentPath(directory, 0);
}

TEST(MessageLogTest, ReplaysAppendedMessagesInOrderAfterReopen) {
  const std::string directory = WriteLog(100);
  absl::StatusOr<std::vector<uint64_t>> sequences = Replay(directory);
  ASSERT_TRUE(sequences.ok()) << sequences.status();
  ASSERT_EQ(sequences->size(), 100u);
  for (uint64_t i = 0; i < 100; ++i) EXPECT_EQ((*sequences)[i], i);
}

TEST(MessageLogTest, ReplayReportsTheOffsetAfterEachRecord) {
  const std::string directory = WriteLog(3);
  std::vector<uint64_t> offsets;
  absl::StatusOr<std::unique_ptr<MessageLog>> log = MessageLog::Open(
      {directory},
      [&](const v1::Mensaje&, uint64_t offset) { offsets.push_back(offset); });
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(offsets, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ((*log)->recovery().end_offset, 3u);
  const v1::Mensaje message = DemoMensaje("producer", 3);
  EXPECT_EQ(*(*log)->Append({message.SerializeAsString()}), 4u);
}

TEST(MessageLogTest, WhenDurableAnswersAfterTheWriteAndAtOnceForOldPositions) {
  absl::StatusOr<std::unique_ptr<MessageLog>> log =
      MessageLog::Open({NewDirectory()}, [](const v1::Mensaje&, uint64_t) {});
  ASSERT_TRUE(log.ok());
  const v1::Mensaje message = DemoMensaje("producer", 0);
  absl::StatusOr<uint64_t> position =
      (*log)->Append({message.SerializeAsString()});
  ASSERT_TRUE(position.ok());
  absl::Notification durable;
  (*log)->WhenDurable(*position, [&](absl::Status status) {
    EXPECT_TRUE(status.ok());
    durable.Notify();
  });
  ASSERT_TRUE(durable.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(*position, 1u);
  EXPECT_EQ(LoggedSequences((*log)->path()), std::vector<uint64_t>{0});

  bool answered = false;
  (*log)->WhenDurable(*position, [&](absl::Status) { answered = true; });
  EXPECT_TRUE(answered);
}

TEST(MessageLogTest, AppendsWithinTheGroupDelayShareOneWriteAndSync) {
  for (const absl::Duration delay :
       {absl::ZeroDuration(), absl::Milliseconds(300)}) {
    CountingObserver observer;
    MessageLogOptions options{NewDirectory()};
    options.group_delay = delay;
    options.write_observer = &observer;
    absl::StatusOr<std::unique_ptr<MessageLog>> log =
        MessageLog::Open(options, [](const v1::Mensaje&, uint64_t) {});
    ASSERT_TRUE(log.ok()) << log.status();
    const std::string first = DemoMensaje("p", 0).SerializeAsString();
    ASSERT_TRUE((*log)->Append({first}).ok());
    absl::SleepFor(absl::Milliseconds(50));
    ASSERT_TRUE(AppendDurably(**log, DemoMensaje("p", 1).SerializeAsString()));
    // At once, the first append went alone, 50 ms before the second.
    EXPECT_EQ(observer.groups_written.load(),
              delay > absl::ZeroDuration() ? 1u : 2u)
        << delay;
    EXPECT_EQ(observer.syncs.load(), observer.groups_written.load());
  }
}

TEST(MessageLogTest, AFullGroupIsWrittenWithoutWaitingForTheDelay) {
  MessageLogOptions options{NewDirectory()};
  options.group_delay = absl::Seconds(60);
  absl::StatusOr<std::unique_ptr<MessageLog>> log =
      MessageLog::Open(options, [](const v1::Mensaje&, uint64_t) {});
  ASSERT_TRUE(log.ok()) << log.status();
  const std::string large(kFullGroupBytes, 'x');
  EXPECT_TRUE(AppendDurably(**log, large));
}

TEST(MessageLogTest, ConcurrentAppendsAreAllKeptWhole) {
  const std::string directory = NewDirectory();
  {
    absl::StatusOr<std::unique_ptr<MessageLog>> log =
        MessageLog::Open({directory}, [](const v1::Mensaje&, uint64_t) {});
    ASSERT_TRUE(log.ok());
    std::vector<std::thread> threads;
    std::atomic<int> durable{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 2500; ++i) {
          const v1::Mensaje message = DemoMensaje(absl::StrCat("p", t), i);
          absl::StatusOr<uint64_t> position =
              (*log)->Append({message.SerializeAsString()});
          ASSERT_TRUE(position.ok());
          (*log)->WhenDurable(*position, [&](absl::Status) { ++durable; });
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }  // Closing makes everything durable and answers every waiter.
  absl::StatusOr<std::vector<uint64_t>> sequences = Replay(directory);
  ASSERT_TRUE(sequences.ok());
  EXPECT_EQ(sequences->size(), 10'000u);
}

TEST(MessageLogTest, TornLastRecordAtEveryOffsetRecoversToTheLastWholeOne) {
  const std::string directory = WriteLog(3);
  const std::string whole = ReadAll(LogPath(directory));
  std::string two_records;
  for (int i = 0; i < 2; ++i) {
    AppendRecord(DemoMensaje("producer", i).SerializeAsString(), &two_records);
  }
  ASSERT_EQ(whole.substr(0, two_records.size()), two_records);

  for (size_t cut = two_records.size() + 1; cut < whole.size(); ++cut) {
    const std::string torn = NewDirectory();
    ASSERT_EQ(mkdir(torn.c_str(), 0750), 0);
    WriteAll(LogPath(torn), whole.substr(0, cut));

    LogRecovery recovery;
    absl::StatusOr<std::vector<uint64_t>> sequences = Replay(torn, &recovery);
    ASSERT_TRUE(sequences.ok())
        << "cut at " << cut << ": " << sequences.status();
    EXPECT_EQ(*sequences, (std::vector<uint64_t>{0, 1})) << "cut at " << cut;
    EXPECT_EQ(recovery.truncated_bytes, cut - two_records.size());
    EXPECT_EQ(ReadAll(LogPath(torn)), two_records) << "cut at " << cut;

    // New records follow the whole ones.
    {
      absl::StatusOr<std::unique_ptr<MessageLog>> log =
          MessageLog::Open({torn}, [](const v1::Mensaje&, uint64_t) {});
      ASSERT_TRUE(log.ok());
      const v1::Mensaje message = DemoMensaje("producer", 2);
      ASSERT_TRUE((*log)->Append({message.SerializeAsString()}).ok());
    }
    EXPECT_EQ(*Replay(torn), (std::vector<uint64_t>{0, 1, 2}));
  }
}

TEST(MessageLogTest, ZeroedTailIsCut) {
  const std::string directory = WriteLog(2);
  const std::string whole = ReadAll(LogPath(directory));
  WriteAll(LogPath(directory), whole + std::string(4096, '\0'));
  LogRecovery recovery;
  absl::StatusOr<std::vector<uint64_t>> sequences =
      Replay(directory, &recovery);
  ASSERT_TRUE(sequences.ok()) << sequences.status();
  EXPECT_EQ(sequences->size(), 2u);
  EXPECT_EQ(recovery.truncated_bytes, 4096u);
}

TEST(MessageLogTest, CorruptionFollowedByWholeRecordsRefusesToOpen) {
  const std::string directory = WriteLog(3);
  std::string contents = ReadAll(LogPath(directory));
  contents[kRecordHeaderBytes + 2] ^= 0x40;  // inside the first payload
  WriteAll(LogPath(directory), contents);
  absl::StatusOr<std::vector<uint64_t>> sequences = Replay(directory);
  EXPECT_EQ(sequences.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(sequences.status().message().find("corrupt record at byte 0"),
            std::string::npos)
      << sequences.status();
  // Nothing was cut: the file is left for a person to inspect.
  EXPECT_EQ(ReadAll(LogPath(directory)), contents);
}

// The bug this guards against: a flipped high bit of a middle record's
// length made its record look torn (bit 24: it runs past the end of the
// file; bit 31: a length no record has), and recovery cut it and
// everything after it.
TEST(MessageLogTest, HighBitOfAMiddleRecordsLengthRefusesToOpen) {
  for (const int bit : {24, 31}) {
    const std::string directory = WriteLog(5);
    std::string contents = ReadAll(LogPath(directory));
    std::string two_records;
    for (int i = 0; i < 2; ++i) {
      AppendRecord(DemoMensaje("producer", i).SerializeAsString(),
                   &two_records);
    }
    contents[two_records.size() + bit / 8] ^= static_cast<char>(1 << (bit % 8));
    WriteAll(LogPath(directory), contents);
    absl::StatusOr<std::vector<uint64_t>> sequences = Replay(directory);
    EXPECT_EQ(sequences.status().code(), absl::StatusCode::kFailedPrecondition)
        << "bit " << bit;
    EXPECT_NE(sequences.status().message().find(
                  absl::StrCat("corrupt record at byte ", two_records.size())),
              std::string::npos)
        << "bit " << bit << ": " << sequences.status();
  }
}

// Where each of the records of `WriteLog(count)` starts, and the end.
std::vector<size_t> RecordStarts(int count) {
  std::vector<size_t> starts = {0};
  std::string records;
  for (int i = 0; i < count; ++i) {
    AppendRecord(DemoMensaje("producer", i).SerializeAsString(), &records);
    starts.push_back(records.size());
  }
  return starts;
}

// The property recovery must have: whatever bit of a record's length or
// checksum field is flipped, the log either keeps every whole record
// written or refuses to open, leaving the file as it was.
void ExpectEveryHeaderBitFlipKeepsAllOrRefuses(const std::string& contents,
                                               size_t record_start,
                                               int whole_records) {
  for (int bit = 0; bit < 64; ++bit) {
    std::string damaged = contents;
    damaged[record_start + bit / 8] ^= static_cast<char>(1 << (bit % 8));
    const std::string directory = NewDirectory();
    ASSERT_EQ(mkdir(directory.c_str(), 0750), 0);
    WriteAll(LogPath(directory), damaged);
    absl::StatusOr<std::vector<uint64_t>> sequences = Replay(directory);
    if (sequences.ok()) {
      EXPECT_EQ(sequences->size(), static_cast<size_t>(whole_records))
          << "record at byte " << record_start << ", bit " << bit;
    } else {
      EXPECT_EQ(sequences.status().code(),
                absl::StatusCode::kFailedPrecondition);
      EXPECT_NE(sequences.status().message().find(
                    absl::StrCat("corrupt record at byte ", record_start)),
                std::string::npos)
          << "bit " << bit << ": " << sequences.status();
      EXPECT_EQ(ReadAll(LogPath(directory)), damaged) << "bit " << bit;
    }
  }
}

TEST(MessageLogTest, DamagedHeaderOfAMiddleRecordKeepsAllOrRefuses) {
  const std::string directory = WriteLog(5);
  ExpectEveryHeaderBitFlipKeepsAllOrRefuses(ReadAll(LogPath(directory)),
                                            RecordStarts(5)[2], 5);
}

TEST(MessageLogTest, DamagedHeaderOfTheFirstRecordKeepsAllOrRefuses) {
  const std::string directory = WriteLog(5);
  ExpectEveryHeaderBitFlipKeepsAllOrRefuses(ReadAll(LogPath(directory)), 0, 5);
}

TEST(MessageLogTest, DamagedHeaderOfTheLastWholeRecordKeepsAllOrRefuses) {
  const std::vector<size_t> starts = RecordStarts(6);
  const std::string directory = WriteLog(6);
  const std::string contents = ReadAll(LogPath(directory));
  // Every length of torn tail, from a byte of the last record's header to
  // all of it but one byte.
  for (size_t cut = starts[5] + 1; cut < starts[6]; ++cut) {
    SCOPED_TRACE(absl::StrCat("torn at ", cut));
    ExpectEveryHeaderBitFlipKeepsAllOrRefuses(contents.substr(0, cut),
                                              starts[4], 5);
  }
}

TEST(MessageLogTest, SecondOpenOfTheSameDirectoryIsRefused) {
  const std::string directory = NewDirectory();
  absl::StatusOr<std::unique_ptr<MessageLog>> first =
      MessageLog::Open({directory}, [](const v1::Mensaje&, uint64_t) {});
  ASSERT_TRUE(first.ok());
  absl::StatusOr<std::unique_ptr<MessageLog>> second =
      MessageLog::Open({directory}, [](const v1::Mensaje&, uint64_t) {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use by another process"),
            std::string::npos);
}

TEST(MessageLogTest, UnusableDirectoryNamesTheFlag) {
  absl::StatusOr<std::unique_ptr<MessageLog>> log = MessageLog::Open(
      {"/proc/no/such/dir"}, [](const v1::Mensaje&, uint64_t) {});
  EXPECT_EQ(log.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(log.status().message().find("--data_dir"), std::string::npos);
}

TEST(LogSyncFlagTest, ParsesAndUnparses) {
  LogSync sync;
  std::string error;
  ASSERT_TRUE(AbslParseFlag("none", &sync, &error));
  EXPECT_EQ(sync, LogSync::kNone);
  EXPECT_EQ(AbslUnparseFlag(sync), "none");
  ASSERT_TRUE(AbslParseFlag("group", &sync, &error));
  EXPECT_EQ(sync, LogSync::kGroupCommit);
  EXPECT_FALSE(AbslParseFlag("always", &sync, &error));
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace messaging
