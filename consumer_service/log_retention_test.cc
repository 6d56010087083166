#include "consumer_service/log_retention.h"

#include "gtest/gtest.h"

namespace messaging {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'000'000);

// Four closed segments of 100 records and 1000 bytes, written a day apart,
// the last a day ago.
std::vector<ClosedSegment> FourSegments() {
  std::vector<ClosedSegment> closed;
  for (int i = 0; i < 4; ++i) {
    closed.push_back({uint64_t(i) * 100, uint64_t(i + 1) * 100, 1000,
                      kNow - absl::Hours(24 * (4 - i))});
  }
  return closed;
}

TEST(SegmentsToDeleteTest, KeepsEverythingByDefault) {
  EXPECT_EQ(SegmentsToDelete(FourSegments(), 500, {}, 400, kNow), 0u);
}

TEST(SegmentsToDeleteTest, DeletesTheOldestUntilTheLogFits) {
  // 4500 bytes in all; 2600 allowed: two segments go.
  EXPECT_EQ(SegmentsToDelete(FourSegments(), 500, {2600}, 400, kNow), 2u);
  EXPECT_EQ(SegmentsToDelete(FourSegments(), 500, {4500}, 400, kNow), 0u);
}

TEST(SegmentsToDeleteTest, DeletesSegmentsOlderThanTheRetentionTime) {
  RetentionPolicy policy;
  policy.time = absl::Hours(24 * 2) + absl::Minutes(1);
  // Written 4, 3, 2 and 1 days ago.
  EXPECT_EQ(SegmentsToDelete(FourSegments(), 500, policy, 400, kNow), 2u);
}

TEST(SegmentsToDeleteTest, NeverDeletesWhatTheOldestKeptSnapshotNeeds) {
  // The oldest kept snapshot is at 150, inside the second segment.
  EXPECT_EQ(SegmentsToDelete(FourSegments(), 500, {1}, 150, kNow), 1u);
  EXPECT_EQ(SegmentsToDelete(FourSegments(), 500, {1}, 0, kNow), 0u);
}

TEST(SegmentsToDeleteTest, OnlyAPrefixGoes) {
  std::vector<ClosedSegment> closed = FourSegments();
  closed[0].last_written = kNow;  // touched: the older ones after it stay
  RetentionPolicy policy;
  policy.time = absl::Hours(1);
  EXPECT_EQ(SegmentsToDelete(closed, 500, policy, 400, kNow), 0u);
}

}  // namespace
}  // namespace messaging
