#include "producer_service/write_coalescer.h"

#include "gtest/gtest.h"

namespace messaging {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

absl::Time At(int micros) { return kStart + absl::Microseconds(micros); }

TEST(WriteCoalescerTest, HoldsWhileTheNextWriteIsDueBeforeTheDeadline) {
  WriteCoalescer coalescer(absl::Microseconds(250));
  EXPECT_TRUE(coalescer.Hold(At(0), At(100)));
  EXPECT_TRUE(coalescer.Hold(At(100), At(200)));
  // The deadline counts from the first held write, not the last.
  EXPECT_FALSE(coalescer.Hold(At(200), At(300)));
}

TEST(WriteCoalescerTest, SendsAWriteWhoseSuccessorIsDueTooLate) {
  WriteCoalescer coalescer(absl::Microseconds(250));
  EXPECT_FALSE(coalescer.Hold(At(0), At(250)));
  EXPECT_FALSE(coalescer.Hold(At(0), absl::InfiniteFuture()));
}

TEST(WriteCoalescerTest, WritesThatFollowAtOnceAreSentAtTheDeadline) {
  WriteCoalescer coalescer(absl::Microseconds(250));
  EXPECT_TRUE(coalescer.Hold(At(0), At(0)));
  EXPECT_TRUE(coalescer.Hold(At(249), At(249)));
  EXPECT_FALSE(coalescer.Hold(At(250), At(250)));
  // A new deadline starts with the next write.
  EXPECT_TRUE(coalescer.Hold(At(260), At(260)));
  EXPECT_TRUE(coalescer.Hold(At(500), At(500)));
  EXPECT_FALSE(coalescer.Hold(At(510), At(510)));
}

TEST(WriteCoalescerTest, WritesDueBeforeTheDeadlineGoOutTogetherAfterIt) {
  // A paced writer holds the message due at 0, sleeps until the deadline
  // and then writes the ones due at 100 and 200 at once, sending with the
  // last one due before the deadline.
  WriteCoalescer coalescer(absl::Microseconds(250));
  EXPECT_TRUE(coalescer.Hold(At(0), At(100)));
  EXPECT_TRUE(coalescer.Hold(At(260), At(200)));
  EXPECT_FALSE(coalescer.Hold(At(261), At(300)));
}

TEST(WriteCoalescerTest, WithNoDelaySendsEveryWrite) {
  WriteCoalescer coalescer(absl::ZeroDuration());
  EXPECT_FALSE(coalescer.Hold(At(0), At(0)));
  EXPECT_FALSE(coalescer.Hold(At(1), At(1)));
}

TEST(WriteCoalescerTest, ResumesWhenTheHeldWritesMustGo) {
  WriteCoalescer coalescer(absl::Microseconds(250));
  EXPECT_EQ(coalescer.ResumeAt(At(40)), At(40));
  ASSERT_TRUE(coalescer.Hold(At(0), At(40)));
  EXPECT_EQ(coalescer.ResumeAt(At(40)), At(250));
  EXPECT_EQ(coalescer.ResumeAt(At(400)), At(400));
  ASSERT_FALSE(coalescer.Hold(At(250), At(290)));
  EXPECT_EQ(coalescer.ResumeAt(At(290)), At(290));
}

}  // namespace
}  // namespace messaging
