#include "consumer_service/log_test_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "consumer_service/log_reader.h"
#include "consumer_service/log_scan.h"
#include "gtest/gtest.h"

namespace messaging {

std::string NewTestDirectory() {
  static std::atomic<int> counter{0};
  const char* root = std::getenv("TEST_TMPDIR");
  return absl::StrCat(root != nullptr ? root : "/tmp", "/log_", getpid(), "_",
                      counter++);
}

bool AppendDurably(MessageLog& log, const std::string& message) {
  absl::StatusOr<uint64_t> position = log.Append({message});
  EXPECT_TRUE(position.ok()) << position.status();
  absl::Notification durable;
  log.WhenDurable(*position, [&](absl::Status) { durable.Notify(); });
  return durable.WaitForNotificationWithTimeout(absl::Seconds(10));
}

std::string ReadAll(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

uint64_t RecordBytes(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << path;
  absl::StatusOr<RecordScan> scan =
      ScanRecords(fd, path, 0, [](const v1::Mensaje&, uint64_t) {});
  close(fd);
  EXPECT_TRUE(scan.ok()) << scan.status();
  return scan.ok() ? scan->valid_bytes : 0;
}

void WriteAll(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
}

std::vector<uint64_t> LoggedSequences(const std::string& directory) {
  std::vector<uint64_t> sequences;
  absl::StatusOr<uint64_t> end =
      ReadLogDirectory(directory, [&](const v1::Mensaje& message, uint64_t) {
        sequences.push_back(message.sequence());
      });
  EXPECT_TRUE(end.ok()) << end.status();
  return sequences;
}

void CountingObserver::OnGroupWritten(absl::Duration took) {
  EXPECT_GE(took, absl::ZeroDuration());
  groups_written.fetch_add(1);
}

void CountingObserver::OnSynced(absl::Duration took) {
  EXPECT_GE(took, absl::ZeroDuration());
  syncs.fetch_add(1);
}

}  // namespace messaging
