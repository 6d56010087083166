#include "producer_service/backoff.h"

#include "gtest/gtest.h"

namespace messaging {
namespace {

TEST(BackoffTest, DoublesUpToTheMaximumWithinTheJitter) {
  Backoff backoff(absl::Milliseconds(100), absl::Milliseconds(350));
  const absl::Duration expected[] = {
      absl::Milliseconds(100), absl::Milliseconds(200), absl::Milliseconds(350),
      absl::Milliseconds(350)};
  for (absl::Duration nominal : expected) {
    const absl::Duration delay = backoff.Next();
    EXPECT_GE(delay, nominal * 0.8);
    EXPECT_LE(delay, nominal * 1.2);
  }
}

TEST(BackoffTest, ResetStartsAgainFromTheInitialPause) {
  Backoff backoff(absl::Milliseconds(100), absl::Seconds(5));
  for (int i = 0; i < 5; ++i) backoff.Next();
  backoff.Reset();
  EXPECT_LE(backoff.Next(), absl::Milliseconds(120));
}

TEST(BackoffTest, JitterSpreadsTheRetries) {
  Backoff first(absl::Seconds(1), absl::Seconds(1));
  Backoff second(absl::Seconds(1), absl::Seconds(1));
  bool differ = false;
  for (int i = 0; i < 10 && !differ; ++i)
    differ = first.Next() != second.Next();
  EXPECT_TRUE(differ);
}

}  // namespace
}  // namespace messaging
