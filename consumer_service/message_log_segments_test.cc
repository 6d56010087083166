// Segments, producer-state snapshots and retention of the message log.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "consumer_service/log_directory.h"
#include "consumer_service/log_formats.pb.h"
#include "consumer_service/log_record.h"
#include "consumer_service/log_test_util.h"
#include "consumer_service/message_log.h"
#include "gtest/gtest.h"
#include "testing/mensajes.h"

namespace messaging {
namespace {

using consumer::v1::ProducerStateSnapshot;

// Each record of DemoMensaje("producer", i) takes 8 + 22 or 23 bytes: a segment
// of 100 bytes holds 4.
constexpr uint64_t kSmallSegment = 100;

MessageLogOptions SmallSegments(const std::string& directory) {
  MessageLogOptions options;
  options.directory = directory;
  options.segment_bytes = kSmallSegment;
  return options;
}

// The state an owner of the log would snapshot after `count` messages.
ProducerStateSnapshot StateAfter(uint64_t count) {
  ProducerStateSnapshot state;
  consumer::v1::ProducerState* producer = state.add_producers();
  producer->set_producer_id("producer");
  producer->set_next_sequence(count);
  return state;
}

// Appends messages first..end-1 one by one, rolling like the ledger does.
void AppendRolling(MessageLog& log, uint64_t first, uint64_t end) {
  for (uint64_t i = first; i < end; ++i) {
    if (log.ShouldRoll()) log.Roll(StateAfter(i));
    const v1::Mensaje message = DemoMensaje("producer", i);
    ASSERT_TRUE(log.Append({message.SerializeAsString()}).ok());
  }
}

// Records what recovery hands over.
class RecordingListener : public LogRecoveryListener {
 public:
  void OnSnapshot(const ProducerStateSnapshot& snapshot) override {
    snapshots.push_back(snapshot);
  }
  void OnRecord(const v1::Mensaje& message, uint64_t end_offset) override {
    sequences.push_back(message.sequence());
    end_offsets.push_back(end_offset);
  }
  std::vector<ProducerStateSnapshot> snapshots;
  std::vector<uint64_t> sequences;
  std::vector<uint64_t> end_offsets;
};

std::vector<uint64_t> Range(uint64_t first, uint64_t end) {
  std::vector<uint64_t> range;
  for (uint64_t i = first; i < end; ++i) range.push_back(i);
  return range;
}

TEST(MessageLogSegmentsTest, RollsIntoSegmentsNamedByTheirFirstOffset) {
  const std::string directory = NewTestDirectory();
  {
    absl::StatusOr<std::unique_ptr<MessageLog>> log =
        MessageLog::Open(SmallSegments(directory), [](auto&, uint64_t) {});
    ASSERT_TRUE(log.ok()) << log.status();
    AppendRolling(**log, 0, 10);
  }
  absl::StatusOr<LogDirectory> files = ListLogDirectory(directory);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->segments, (std::vector<uint64_t>{0, 4, 8}));
  EXPECT_EQ(files->snapshots, (std::vector<uint64_t>{4, 8}));
  struct stat info;
  EXPECT_EQ(stat((directory + "/00000000000000000004.log").c_str(), &info), 0);
  EXPECT_EQ(stat((directory + "/00000000000000000008.snapshot").c_str(), &info),
            0);
  EXPECT_EQ(LoggedSequences(directory), Range(0, 10));

  std::vector<uint64_t> offsets;
  absl::StatusOr<std::unique_ptr<MessageLog>> log = MessageLog::Open(
      SmallSegments(directory),
      [&](auto&, uint64_t offset) { offsets.push_back(offset); });
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(offsets, Range(1, 11));  // a full replay, across segments
}

TEST(MessageLogSegmentsTest, StartUpRestoresTheNewestSnapshotAndReplaysAfter) {
  const std::string directory = NewTestDirectory();
  {
    auto log =
        MessageLog::Open(SmallSegments(directory), [](auto&, uint64_t) {});
    ASSERT_TRUE(log.ok());
    AppendRolling(**log, 0, 10);
  }
  RecordingListener listener;
  auto log = MessageLog::Open(SmallSegments(directory), &listener);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(listener.snapshots.size(), 1u);
  EXPECT_EQ(listener.snapshots[0].offset(), 8u);
  EXPECT_EQ(listener.snapshots[0].producers(0).next_sequence(), 8u);
  EXPECT_EQ(listener.sequences, Range(8, 10));
  EXPECT_EQ(listener.end_offsets, Range(9, 11));
  EXPECT_EQ((*log)->recovery().records, 2u);
  EXPECT_EQ((*log)->recovery().snapshot_offset, 8u);
  // Appending goes on at the end of the last segment.
  AppendRolling(**log, 10, 11);
  log->reset();
  EXPECT_EQ(LoggedSequences(directory), Range(0, 11));
}

TEST(MessageLogSegmentsTest, ADamagedSnapshotFallsBackToTheOneBefore) {
  const std::string directory = NewTestDirectory();
  {
    auto log =
        MessageLog::Open(SmallSegments(directory), [](auto&, uint64_t) {});
    ASSERT_TRUE(log.ok());
    AppendRolling(**log, 0, 10);
  }
  const std::string newest = SnapshotPath(directory, 8);
  std::string contents = ReadAll(newest);
  contents[contents.size() - 1] ^= 1;
  WriteAll(newest, contents);

  RecordingListener listener;
  auto log = MessageLog::Open(SmallSegments(directory), &listener);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(listener.snapshots.size(), 1u);
  EXPECT_EQ(listener.snapshots[0].offset(), 4u);
  EXPECT_EQ(listener.sequences, Range(4, 10));
  // Set aside for a person, never read again.
  EXPECT_EQ(ReadAll(newest + ".damaged"), contents);
}

TEST(MessageLogSegmentsTest, WithoutAValidSnapshotAWholeLogReplaysFully) {
  const std::string directory = NewTestDirectory();
  {
    auto log =
        MessageLog::Open(SmallSegments(directory), [](auto&, uint64_t) {});
    ASSERT_TRUE(log.ok());
    AppendRolling(**log, 0, 10);
  }
  for (uint64_t offset : {4, 8}) WriteAll(SnapshotPath(directory, offset), "");
  RecordingListener listener;
  auto log = MessageLog::Open(SmallSegments(directory), &listener);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_TRUE(listener.snapshots.empty());
  EXPECT_EQ(listener.sequences, Range(0, 10));
}

TEST(MessageLogSegmentsTest, ACleanShutdownSnapshotLeavesNothingToReplay) {
  const std::string directory = NewTestDirectory();
  {
    auto log =
        MessageLog::Open(SmallSegments(directory), [](auto&, uint64_t) {});
    ASSERT_TRUE(log.ok());
    AppendRolling(**log, 0, 6);
    (*log)->WriteSnapshot(StateAfter(6));
  }
  RecordingListener listener;
  auto log = MessageLog::Open(SmallSegments(directory), &listener);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(listener.snapshots.size(), 1u);
  EXPECT_EQ(listener.snapshots[0].offset(), 6u);
  EXPECT_TRUE(listener.sequences.empty());
  EXPECT_EQ((*log)->recovery().end_offset, 6u);
}

TEST(MessageLogSegmentsTest, KeepsTheThreeNewestSnapshots) {
  const std::string directory = NewTestDirectory();
  {
    auto log =
        MessageLog::Open(SmallSegments(directory), [](auto&, uint64_t) {});
    ASSERT_TRUE(log.ok());
    AppendRolling(**log, 0, 30);
  }
  absl::StatusOr<LogDirectory> files = ListLogDirectory(directory);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->snapshots, (std::vector<uint64_t>{20, 24, 28}));
  EXPECT_EQ(files->segments.size(), 8u);  // retention is off by default
}

TEST(MessageLogSegmentsTest, TakesOverALegacyMessagesLogAsSegmentZero) {
  const std::string directory = NewTestDirectory();
  ASSERT_EQ(mkdir(directory.c_str(), 0750), 0);
  std::string records;
  for (int i = 0; i < 3; ++i) {
    AppendRecord(DemoMensaje("producer", i).SerializeAsString(), &records);
  }
  const std::string legacy = absl::StrCat(directory, "/", kLegacyLogFileName);
  WriteAll(legacy, records + std::string("\x10\0\0", 3));  // torn record
  {
    RecordingListener listener;
    auto log = MessageLog::Open(SmallSegments(directory), &listener);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ(listener.sequences, Range(0, 3));
    EXPECT_EQ((*log)->recovery().truncated_bytes, 3u);
    AppendRolling(**log, 3, 5);
  }
  struct stat info;
  EXPECT_NE(stat(legacy.c_str(), &info), 0);
  EXPECT_EQ(LoggedSequences(directory), Range(0, 5));
}

TEST(MessageLogSegmentsTest, ACorruptLegacyLogIsNotTakenOver) {
  const std::string directory = NewTestDirectory();
  ASSERT_EQ(mkdir(directory.c_str(), 0750), 0);
  std::string records;
  for (int i = 0; i < 3; ++i) {
    AppendRecord(DemoMensaje("producer", i).SerializeAsString(), &records);
  }
  records[kRecordHeaderBytes + 3] ^= 1;
  const std::string legacy = absl::StrCat(directory, "/", kLegacyLogFileName);
  WriteAll(legacy, records);
  auto log = MessageLog::Open(SmallSegments(directory), [](auto&, uint64_t) {});
  EXPECT_EQ(log.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(log.status().message().find(legacy + " has a corrupt record at "
                                                 "byte 0"),
            std::string::npos)
      << log.status();
  EXPECT_EQ(ReadAll(legacy), records);
  struct stat info;
  EXPECT_NE(stat(SegmentPath(directory, 0).c_str(), &info), 0);
}

TEST(MessageLogSegmentsTest, DamageInAClosedSegmentRefusesEvenAtItsEnd) {
  const std::string directory = NewTestDirectory();
  {
    auto log =
        MessageLog::Open(SmallSegments(directory), [](auto&, uint64_t) {});
    ASSERT_TRUE(log.ok());
    AppendRolling(**log, 0, 10);
  }
  const std::string closed = SegmentPath(directory, 4);
  const std::string contents = ReadAll(closed);
  WriteAll(closed, contents.substr(0, contents.size() - 1));
  unlink(SnapshotPath(directory, 8).c_str());  // replay from offset 4
  auto log = MessageLog::Open(SmallSegments(directory), [](auto&, uint64_t) {});
  EXPECT_EQ(log.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(log.status().message().find(closed + " has a corrupt record"),
            std::string::npos)
      << log.status();
}

MessageLogOptions SmallRetention(const std::string& directory) {
  MessageLogOptions options = SmallSegments(directory);
  options.retention.bytes = 3 * kSmallSegment;
  return options;
}

TEST(MessageLogRetentionTest, DeletesOldSegmentsButWhatSnapshotsNeed) {
  const std::string directory = NewTestDirectory();
  {
    auto log =
        MessageLog::Open(SmallRetention(directory), [](auto&, uint64_t) {});
    ASSERT_TRUE(log.ok());
    AppendRolling(**log, 0, 30);
    // Snapshots 20, 24 and 28 are kept: segments from 20 on stay, though
    // they are more than 300 bytes.
    log->reset();
  }
  absl::StatusOr<LogDirectory> files = ListLogDirectory(directory);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->segments, (std::vector<uint64_t>{20, 24, 28}));
  EXPECT_EQ(LoggedSequences(directory), Range(20, 30));

  RecordingListener listener;
  auto log = MessageLog::Open(SmallRetention(directory), &listener);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(listener.snapshots.at(0).offset(), 28u);
  EXPECT_EQ(listener.sequences, Range(28, 30));
}

TEST(MessageLogRetentionTest, CountsTheSegmentsItDeletes) {
  const std::string directory = NewTestDirectory();
  auto log =
      MessageLog::Open(SmallRetention(directory), [](auto&, uint64_t) {});
  ASSERT_TRUE(log.ok());
  AppendRolling(**log, 0, 30);
  log->reset();  // waits for the writer
  RecordingListener listener;
  log = MessageLog::Open(SmallRetention(directory), &listener);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->segments_deleted(), 0u);
  AppendRolling(**log, 30, 38);
  absl::StatusOr<LogDirectory> files;
  for (int i = 0; i < 1000; ++i) {  // the writer deletes after rolling
    files = ListLogDirectory(directory);
    if (files->segments.front() == 28) break;
    usleep(5000);
  }
  EXPECT_EQ(files->segments.front(), 28u);
  EXPECT_EQ((*log)->segments_deleted(), 2u);
}

// The segment files of `directory`, and the bytes of their records: the
// closed ones' sizes, which hold nothing else.
std::pair<size_t, uint64_t> SegmentFiles(const std::string& directory) {
  absl::StatusOr<LogDirectory> files = ListLogDirectory(directory);
  EXPECT_TRUE(files.ok()) << files.status();
  uint64_t bytes = 0;
  for (uint64_t base : files->segments) {
    const std::string path = SegmentPath(directory, base);
    struct stat info;
    EXPECT_EQ(stat(path.c_str(), &info), 0);
    if (base != files->segments.back()) {
      bytes += static_cast<uint64_t>(info.st_size);
    } else {
      bytes += RecordBytes(path);
    }
  }
  return {files->segments.size(), bytes};
}

// Counts what the writer says it did.
class CountingObserver : public LogWriteObserver {
 public:
  void OnGroupWritten(absl::Duration took) override {
    EXPECT_GE(took, absl::ZeroDuration());
    groups_written.fetch_add(1);
  }
  void OnSynced(absl::Duration took) override {
    EXPECT_GE(took, absl::ZeroDuration());
    syncs.fetch_add(1);
  }
  std::atomic<uint64_t> groups_written{0};
  std::atomic<uint64_t> syncs{0};
};

TEST(MessageLogRetentionTest, KnowsTheCountAndBytesOfItsSegmentFiles) {
  const std::string directory = NewTestDirectory();
  {
    auto log =
        MessageLog::Open(SmallRetention(directory), [](auto&, uint64_t) {});
    ASSERT_TRUE(log.ok());
    AppendRolling(**log, 0, 30);
  }
  CountingObserver observer;
  MessageLogOptions options = SmallRetention(directory);
  options.write_observer = &observer;
  RecordingListener listener;
  auto log = MessageLog::Open(options, &listener);
  ASSERT_TRUE(log.ok());
  // As found at open, closed segments included.
  EXPECT_EQ(std::make_pair(static_cast<size_t>((*log)->segment_count()),
                           (*log)->disk_bytes()),
            SegmentFiles(directory));

  AppendRolling(**log, 30, 38);
  absl::Notification durable;
  (*log)->WhenDurable(38, [&](absl::Status) { durable.Notify(); });
  durable.WaitForNotification();
  for (int i = 0; i < 1000 && (*log)->segments_deleted() < 2; ++i) {
    usleep(5000);  // the writer deletes after rolling
  }
  ASSERT_EQ((*log)->segments_deleted(), 2u);
  // After rolls and retention's deletions.
  EXPECT_EQ(std::make_pair(static_cast<size_t>((*log)->segment_count()),
                           (*log)->disk_bytes()),
            SegmentFiles(directory));
  EXPECT_GT(observer.groups_written.load(), 0u);
  EXPECT_GT(observer.syncs.load(), 0u);  // group commit is the default
  EXPECT_EQ((*log)->write_errors(), 0u);
}

TEST(MessageLogRetentionTest,
     RefusesToStartWhenNoSnapshotCoversDeletedRecords) {
  const std::string directory = NewTestDirectory();
  {
    auto log =
        MessageLog::Open(SmallRetention(directory), [](auto&, uint64_t) {});
    ASSERT_TRUE(log.ok());
    AppendRolling(**log, 0, 30);
  }
  for (uint64_t offset : {20, 24, 28}) {
    WriteAll(SnapshotPath(directory, offset), "damaged");
  }
  RecordingListener listener;
  auto log = MessageLog::Open(SmallRetention(directory), &listener);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(log.status().message().find(
                "retention deleted the records before offset 20 and no valid "
                "producer-state snapshot"),
            std::string::npos)
      << log.status();
  // The replaying Open cannot rebuild the state either, and says so.
  auto replaying =
      MessageLog::Open(SmallRetention(directory), [](auto&, uint64_t) {});
  EXPECT_NE(replaying.status().message().find("a full replay is impossible"),
            std::string::npos)
      << replaying.status();
}

}  // namespace
}  // namespace messaging
