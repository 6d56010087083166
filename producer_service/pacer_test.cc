#include "producer_service/pacer.h"

#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

TEST(PacerTest, RunsCallbacksInTimeOrderNotBefore) {
  Pacer pacer;
  absl::Mutex mutex;
  std::vector<int> order;
  std::vector<absl::Duration> early;
  absl::Notification all_ran;
  const absl::Time start = absl::Now();
  int owners[3];
  auto record = [&](int id, absl::Time when) {
    return [&, id, when] {
      absl::MutexLock lock(&mutex);
      early.push_back(when - absl::Now());
      order.push_back(id);
      if (order.size() == 3) all_ran.Notify();
    };
  };
  const absl::Time late = start + absl::Milliseconds(30);
  const absl::Time soon = start + absl::Milliseconds(10);
  const absl::Time middle = start + absl::Milliseconds(20);
  pacer.RunAt(&owners[0], late, record(0, late));
  pacer.RunAt(&owners[1], soon, record(1, soon));
  pacer.RunAt(&owners[2], middle, record(2, middle));
  ASSERT_TRUE(all_ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::MutexLock lock(&mutex);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 0}));
  for (absl::Duration before_time : early) {
    EXPECT_LE(before_time, absl::ZeroDuration());
  }
}

TEST(PacerTest, AnOwnerHasOnePendingCallbackTheLastOne) {
  Pacer pacer;
  int owner;
  absl::Notification second_ran;
  bool first_ran = false;
  pacer.RunAt(&owner, absl::Now() + absl::Milliseconds(5),
              [&] { first_ran = true; });
  pacer.RunAt(&owner, absl::Now() + absl::Milliseconds(20),
              [&] { second_ran.Notify(); });
  ASSERT_TRUE(second_ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_FALSE(first_ran);
}

TEST(PacerTest, AdvanceRunsThePendingCallbackAtOnce) {
  Pacer pacer;
  int owner;
  absl::Notification ran;
  pacer.RunAt(&owner, absl::Now() + absl::Hours(1), [&] { ran.Notify(); });
  pacer.Advance(&owner);
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  pacer.Advance(&owner);  // nothing pending: nothing happens
}

TEST(PacerTest, ACallbackMayScheduleItsOwnNextOne) {
  Pacer pacer;
  int owner;
  int runs = 0;
  absl::Notification done;
  std::function<void()> tick = [&] {
    if (++runs == 5) {
      done.Notify();
    } else {
      pacer.RunAt(&owner, absl::Now() + absl::Microseconds(100), tick);
    }
  };
  pacer.RunAt(&owner, absl::Now(), tick);
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(runs, 5);
}

TEST(PacerTest, CancelDropsWhatIsPending) {
  Pacer pacer;
  int owner;
  bool ran = false;
  pacer.RunAt(&owner, absl::Now() + absl::Milliseconds(20),
              [&] { ran = true; });
  pacer.Cancel(&owner);
  absl::SleepFor(absl::Milliseconds(50));
  pacer.Cancel(&owner);  // nothing pending: nothing happens
  EXPECT_FALSE(ran);
}

TEST(PacerTest, CancelWaitsForTheCallbackRunningNow) {
  Pacer pacer;
  int owner;
  absl::Notification started;
  absl::Mutex mutex;
  bool finished = false;
  pacer.RunAt(&owner, absl::Now(), [&] {
    started.Notify();
    absl::SleepFor(absl::Milliseconds(50));
    absl::MutexLock lock(&mutex);
    finished = true;
  });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  pacer.Cancel(&owner);
  absl::MutexLock lock(&mutex);
  EXPECT_TRUE(finished);
}

TEST(PacerTest, DestroyingDropsWhatIsPending) {
  bool ran = false;
  {
    Pacer pacer;
    int owner;
    pacer.RunAt(&owner, absl::Now() + absl::Hours(1), [&] { ran = true; });
  }
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace messaging
