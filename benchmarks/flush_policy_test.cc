#include "benchmarks/flush_policy.h"

#include <cstdint>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

// Whether `flush` holds the write of one message that takes a stream from
// `before` messages, made `after_start` after kStart.
bool HoldsMessage(FlushPolicy& flush, int64_t before,
                  absl::Duration after_start) {
  return flush.OptionsOfWrite(before, before + 1, kStart + after_start)
      .get_buffer_hint();
}

TEST(FlushPolicyTest, SendsEachWriteThatReachesTheCount) {
  FlushPolicy flush(4, absl::InfiniteDuration());
  for (int64_t i = 0; i < 12; ++i) {
    EXPECT_EQ(HoldsMessage(flush, i, absl::ZeroDuration()), (i + 1) % 4 != 0)
        << "write " << i;
  }
}

TEST(FlushPolicyTest, SendsAWriteOnceTheFirstHeldHasWaitedTheDelay) {
  FlushPolicy flush(256, absl::Microseconds(250));
  EXPECT_TRUE(HoldsMessage(flush, 0, absl::ZeroDuration()));
  EXPECT_TRUE(HoldsMessage(flush, 1, absl::Microseconds(249)));
  EXPECT_FALSE(HoldsMessage(flush, 2, absl::Microseconds(250)));
  // The wait starts again with the next write held, at 5 ms.
  EXPECT_TRUE(HoldsMessage(flush, 3, absl::Microseconds(5000)));
  EXPECT_TRUE(HoldsMessage(flush, 4, absl::Microseconds(5100)));
  EXPECT_FALSE(HoldsMessage(flush, 5, absl::Microseconds(5300)));
}

TEST(FlushPolicyTest, AWriteSentForTheCountRestartsTheWait) {
  FlushPolicy flush(3, absl::Microseconds(250));
  EXPECT_TRUE(HoldsMessage(flush, 0, absl::ZeroDuration()));
  EXPECT_TRUE(HoldsMessage(flush, 1, absl::Microseconds(200)));
  EXPECT_FALSE(HoldsMessage(flush, 2, absl::Microseconds(220)));
  // Held from 300 µs on, not from the start: 100 µs waited at 400.
  EXPECT_TRUE(HoldsMessage(flush, 3, absl::Microseconds(300)));
  EXPECT_TRUE(HoldsMessage(flush, 4, absl::Microseconds(400)));
}

TEST(FlushPolicyTest, BatchesAtLeastTheCountAreAllSent) {
  FlushPolicy flush(256, absl::Microseconds(250));
  for (int64_t batch = 0; batch < 3; ++batch) {
    EXPECT_FALSE(flush.OptionsOfWrite(batch * 256, (batch + 1) * 256, kStart)
                     .get_buffer_hint());
  }
}

TEST(FlushPolicyTest, WithoutADelayOnlyTheCountSends) {
  FlushPolicy flush(1000, absl::InfiniteDuration());
  EXPECT_TRUE(HoldsMessage(flush, 0, absl::ZeroDuration()));
  EXPECT_TRUE(HoldsMessage(flush, 1, absl::Hours(1)));
}

}  // namespace
}  // namespace messaging
