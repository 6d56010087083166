#include "consumer_service/idle_reaper.h"

#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

constexpr absl::Duration kTimeout = absl::Milliseconds(40);

// A stream whose last activity the test sets, and that counts OnIdle.
class FakeStream final : public IdleStream {
 public:
  explicit FakeStream(absl::Time last_activity)
      : last_activity_(last_activity) {}

  absl::Time LastActivity() const override { return last_activity_; }
  void OnIdle(const absl::Status& status) override {
    absl::MutexLock lock(&mutex_);
    ++calls_;
    status_ = status;
  }

  // Waits up to a few seconds for a first OnIdle; the calls so far.
  int AwaitCalls() {
    absl::MutexLock lock(&mutex_);
    mutex_.AwaitWithTimeout(absl::Condition(this, &FakeStream::Called),
                            absl::Seconds(5));
    return calls_;
  }
  int calls() {
    absl::MutexLock lock(&mutex_);
    return calls_;
  }
  absl::Status status() {
    absl::MutexLock lock(&mutex_);
    return status_;
  }

 private:
  bool Called() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return calls_ > 0;
  }

  const absl::Time last_activity_;
  absl::Mutex mutex_;
  int calls_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::Status status_ ABSL_GUARDED_BY(mutex_);
};

TEST(IdleReaperTest, EndsAStreamIdleTooLongNamingTheFlag) {
  IdleReaper reaper(kTimeout);
  FakeStream idle(absl::Now() - kTimeout);
  FakeStream active(absl::InfiniteFuture());
  reaper.Register(&idle);
  reaper.Register(&active);

  ASSERT_GT(idle.AwaitCalls(), 0);
  EXPECT_EQ(idle.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(idle.status().message().find("--stream_idle_timeout"),
            std::string::npos)
      << idle.status();
  // A few more rounds of the reaper leave the active stream alone.
  absl::SleepFor(4 * kTimeout);
  EXPECT_EQ(active.calls(), 0);

  reaper.Unregister(&idle);
  reaper.Unregister(&active);
}

TEST(IdleReaperTest, AnUnregisteredStreamIsNotCalledAgain) {
  IdleReaper reaper(kTimeout);
  FakeStream idle(absl::InfinitePast());
  reaper.Register(&idle);
  ASSERT_GT(idle.AwaitCalls(), 0);
  reaper.Unregister(&idle);
  const int calls = idle.calls();
  absl::SleepFor(4 * kTimeout);
  EXPECT_EQ(idle.calls(), calls);
}

}  // namespace
}  // namespace messaging
