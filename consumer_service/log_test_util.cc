#include "consumer_service/log_test_util.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "consumer_service/log_reader.h"
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
