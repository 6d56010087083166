#include "producer_service/producer.h"

#include "gtest/gtest.h"
#include "producer_service/run_summary.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {
namespace {

TEST(FormatSummaryTest, DescribesMessagesAndSequences) {
  v1::ConsumeSummary summary;
  summary.set_producer_id("p");
  summary.set_messages_received(5);
  summary.set_bytes_received(45);
  summary.set_first_sequence(0);
  summary.set_last_sequence(4);
  summary.mutable_duration()->set_nanos(250'000'000);
  EXPECT_EQ(FormatSummary(summary),
            "Consumer summary: 5 messages, 45 bytes, producer p, "
            "sequences 0..4 in 250ms");
}

TEST(FormatSummaryTest, MentionsDuplicatesWhenThereAreAny) {
  v1::ConsumeSummary summary;
  summary.set_duplicates_dropped(3);
  EXPECT_EQ(FormatSummary(summary),
            "Consumer summary: 0 messages, 0 bytes, 3 duplicates dropped");
}

TEST(FormatSummaryTest, EmptyStreamHasNoSequences) {
  EXPECT_EQ(FormatSummary(v1::ConsumeSummary()),
            "Consumer summary: 0 messages, 0 bytes");
}

TEST(IsRetryableTest, RetriesOnlyWhatMaySucceedLater) {
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kUnavailable, false));
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kCancelled, false));
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kDeadlineExceeded, false));
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kResourceExhausted, true));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kResourceExhausted, false));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kInvalidArgument, true));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kFailedPrecondition, false));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kPermissionDenied, false));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kUnauthenticated, false));
}

}  // namespace
}  // namespace messaging
