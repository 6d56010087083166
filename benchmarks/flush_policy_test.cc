#include "benchmarks/flush_policy.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

bool Held(const grpc::WriteOptions& options) {
  return options.get_buffer_hint();
}

TEST(FlushPolicyTest, SendsEachWriteThatReachesTheCount) {
  FlushPolicy flush(4, absl::InfiniteDuration());
  for (int64_t i = 0; i < 12; ++i) {
    EXPECT_EQ(Held(flush.OptionsOfWrite(i, i + 1, kStart)), (i + 1) % 4 != 0)
        << "write " << i;
  }
}

TEST(FlushPolicyTest, SendsAWriteOnceTheFirstHeldHasWaitedTheDelay) {
  FlushPolicy flush(256, absl::Microseconds(250));
  EXPECT_TRUE(Held(flush.OptionsOfWrite(0, 1, kStart)));
  EXPECT_TRUE(
      Held(flush.OptionsOfWrite(1, 2, kStart + absl::Microseconds(249))));
  EXPECT_FALSE(
      Held(flush.OptionsOfWrite(2, 3, kStart + absl::Microseconds(250))));
  // The wait starts again with the next write held.
  const absl::Time later = kStart + absl::Milliseconds(5);
  EXPECT_TRUE(Held(flush.OptionsOfWrite(3, 4, later)));
  EXPECT_TRUE(
      Held(flush.OptionsOfWrite(4, 5, later + absl::Microseconds(100))));
  EXPECT_FALSE(
      Held(flush.OptionsOfWrite(5, 6, later + absl::Microseconds(300))));
}

TEST(FlushPolicyTest, AWriteSentForTheCountRestartsTheWait) {
  FlushPolicy flush(3, absl::Microseconds(250));
  EXPECT_TRUE(Held(flush.OptionsOfWrite(0, 1, kStart)));
  EXPECT_TRUE(
      Held(flush.OptionsOfWrite(1, 2, kStart + absl::Microseconds(200))));
  EXPECT_FALSE(
      Held(flush.OptionsOfWrite(2, 3, kStart + absl::Microseconds(220))));
  // Held from 300 µs on, not from the start: 100 µs waited at 400.
  EXPECT_TRUE(
      Held(flush.OptionsOfWrite(3, 4, kStart + absl::Microseconds(300))));
  EXPECT_TRUE(
      Held(flush.OptionsOfWrite(4, 5, kStart + absl::Microseconds(400))));
}

TEST(FlushPolicyTest, BatchesAtLeastTheCountAreAllSent) {
  FlushPolicy flush(256, absl::Microseconds(250));
  for (int64_t batch = 0; batch < 3; ++batch) {
    EXPECT_FALSE(
        Held(flush.OptionsOfWrite(batch * 256, (batch + 1) * 256, kStart)));
  }
}

TEST(FlushPolicyTest, WithoutADelayOnlyTheCountSends) {
  FlushPolicy flush(1000, absl::InfiniteDuration());
  EXPECT_TRUE(Held(flush.OptionsOfWrite(0, 1, kStart)));
  EXPECT_TRUE(Held(flush.OptionsOfWrite(1, 2, kStart + absl::Hours(1))));
}

}  // namespace
}  // namespace messaging
