#include "consumer_service/log_syncer.h"

#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

// Records the syncs; the first one waits for `release` when `hold_first`.
class RecordingCallbacks : public LogSyncer::Callbacks {
 public:
  bool SyncSegment(int fd) override {
    if (hold_first && first_started.HasBeenNotified() == false) {
      first_started.Notify();
      release.WaitForNotification();
    }
    absl::MutexLock lock(&mutex);
    synced_fds.push_back(fd);
    return !fail;
  }
  void OnSynced(uint64_t offset) override {
    absl::MutexLock lock(&mutex);
    confirmed.push_back(offset);
  }
  std::vector<uint64_t> Confirmed() {
    absl::MutexLock lock(&mutex);
    return confirmed;
  }

  bool hold_first = false;
  bool fail = false;
  absl::Notification first_started;
  absl::Notification release;
  absl::Mutex mutex;
  std::vector<int> synced_fds ABSL_GUARDED_BY(mutex);
  std::vector<uint64_t> confirmed ABSL_GUARDED_BY(mutex);
};

TEST(LogSyncerTest, ConfirmsEachRequestOnceItsSyncIsDone) {
  RecordingCallbacks callbacks;
  LogSyncer syncer(&callbacks);
  syncer.Request(7, 10);
  syncer.WaitIdle();
  EXPECT_EQ(callbacks.Confirmed(), std::vector<uint64_t>{10});
  syncer.Request(7, 25);
  syncer.WaitIdle();
  EXPECT_EQ(callbacks.Confirmed(), (std::vector<uint64_t>{10, 25}));
}

TEST(LogSyncerTest, RequestsMadeDuringASyncShareTheNextOne) {
  RecordingCallbacks callbacks;
  callbacks.hold_first = true;
  LogSyncer syncer(&callbacks);
  syncer.Request(7, 1);
  callbacks.first_started.WaitForNotification();
  // The writer goes on while the disk syncs: three more groups.
  syncer.Request(7, 2);
  syncer.Request(7, 3);
  syncer.Request(7, 4);
  callbacks.release.Notify();
  syncer.WaitIdle();
  EXPECT_EQ(callbacks.Confirmed(), (std::vector<uint64_t>{1, 4}));
  absl::MutexLock lock(&callbacks.mutex);
  EXPECT_EQ(callbacks.synced_fds.size(), 2u);
}

TEST(LogSyncerTest, ConfirmsNothingMoreAfterAFailedSync) {
  RecordingCallbacks callbacks;
  callbacks.fail = true;
  LogSyncer syncer(&callbacks);
  syncer.Request(7, 5);
  syncer.WaitIdle();
  syncer.Request(7, 9);
  syncer.WaitIdle();
  EXPECT_TRUE(callbacks.Confirmed().empty());
  absl::MutexLock lock(&callbacks.mutex);
  // The second request was never tried: a later fdatasync can succeed
  // without the data the failed one lost.
  EXPECT_EQ(callbacks.synced_fds.size(), 1u);
}

TEST(LogSyncerTest, DestructionSyncsWhatWasRequested) {
  RecordingCallbacks callbacks;
  {
    LogSyncer syncer(&callbacks);
    syncer.Request(7, 42);
  }
  EXPECT_EQ(callbacks.Confirmed(), std::vector<uint64_t>{42});
}

}  // namespace
}  // namespace messaging
