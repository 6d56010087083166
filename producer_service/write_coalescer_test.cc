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

TEST(WriteCoalescerTest, NeverHoldsPastTheDeadlineEvenWithMoreToWrite) {
  WriteCoalescer coalescer(absl::Microseconds(250));
  EXPECT_TRUE(coalescer.Hold(At(0), absl::InfinitePast()));
  EXPECT_TRUE(coalescer.Hold(At(249), absl::InfinitePast()));
  EXPECT_FALSE(coalescer.Hold(At(250), absl::InfinitePast()));
  // A new deadline starts with the next write.
  EXPECT_TRUE(coalescer.Hold(At(260), absl::InfinitePast()));
  EXPECT_TRUE(coalescer.Hold(At(500), absl::InfinitePast()));
}

TEST(WriteCoalescerTest, WithNoDelaySendsEveryWrite) {
  WriteCoalescer coalescer(absl::ZeroDuration());
  EXPECT_FALSE(coalescer.Hold(At(0), absl::InfinitePast()));
  EXPECT_FALSE(coalescer.Hold(At(1), absl::InfinitePast()));
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
