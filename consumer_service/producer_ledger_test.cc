#include "consumer_service/producer_ledger.h"

#include "gtest/gtest.h"

namespace messaging {
namespace {

using Verdict = ProducerLedger::Verdict;

v1::Mensaje Message(const std::string& producer_id, uint64_t sequence) {
  v1::Mensaje message;
  message.set_producer_id(producer_id);
  message.set_sequence(sequence);
  return message;
}

TEST(ProducerLedgerTest, NewProducerMayStartAnywhereThenGoesInOrder) {
  ProducerLedger ledger;
  EXPECT_FALSE(ledger.Lookup("p").known);
  EXPECT_EQ(ledger.Admit(Message("p", 40), nullptr)->verdict,
            Verdict::kAccepted);
  EXPECT_EQ(ledger.Admit(Message("p", 41), nullptr)->verdict,
            Verdict::kAccepted);
  const ProducerLedger::Standing standing = ledger.Lookup("p");
  EXPECT_TRUE(standing.known);
  EXPECT_EQ(standing.next_sequence, 42u);
}

TEST(ProducerLedgerTest, SequenceBelowTheNextIsADuplicate) {
  ProducerLedger ledger;
  for (uint64_t i = 0; i < 3; ++i)
    ASSERT_TRUE(ledger.Admit(Message("p", i), nullptr).ok());
  for (uint64_t old : {0, 1, 2}) {
    EXPECT_EQ(ledger.Admit(Message("p", old), nullptr)->verdict,
              Verdict::kDuplicate);
  }
  EXPECT_EQ(ledger.Lookup("p").next_sequence, 3u);
  v1::ConsumerStats stats;
  ledger.AddProducerStats(&stats);
  ASSERT_EQ(stats.producers_size(), 1);
  EXPECT_EQ(stats.producers(0).messages_received(), 3u);
  EXPECT_EQ(stats.producers(0).duplicates_dropped(), 3u);
  EXPECT_EQ(stats.producers(0).last_sequence(), 2u);
}

TEST(ProducerLedgerTest, GapIsRefusedAndChangesNothing) {
  ProducerLedger ledger;
  ASSERT_TRUE(ledger.Admit(Message("p", 0), nullptr).ok());
  absl::StatusOr<ProducerLedger::Admission> gap =
      ledger.Admit(Message("p", 5), nullptr);
  EXPECT_EQ(gap.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(gap.status().message().find("the consumer expects 1"),
            std::string::npos)
      << gap.status();
  EXPECT_EQ(ledger.Lookup("p").next_sequence, 1u);
}

TEST(ProducerLedgerTest, ProducersAreIndependent) {
  ProducerLedger ledger;
  ASSERT_TRUE(ledger.Admit(Message("a", 0), nullptr).ok());
  ASSERT_TRUE(ledger.Admit(Message("b", 9), nullptr).ok());
  EXPECT_EQ(ledger.Admit(Message("a", 1), nullptr)->verdict,
            Verdict::kAccepted);
  EXPECT_EQ(ledger.Lookup("b").next_sequence, 10u);
  v1::ConsumerStats stats;
  ledger.AddProducerStats(&stats);
  ASSERT_EQ(stats.producers_size(), 2);
  EXPECT_EQ(stats.producers(0).producer_id(), "a");
  EXPECT_EQ(stats.producers(1).producer_id(), "b");
}

TEST(ProducerLedgerTest, RestoreRebuildsTheStandingFromTheLog) {
  ProducerLedger ledger;
  ledger.Restore(Message("p", 0), 10);
  ledger.Restore(Message("p", 1), 20);
  const ProducerLedger::Standing standing = ledger.Lookup("p");
  EXPECT_TRUE(standing.known);
  EXPECT_EQ(standing.next_sequence, 2u);
  EXPECT_EQ(standing.log_position, 20u);
  EXPECT_EQ(ledger.Admit(Message("p", 1), nullptr)->verdict,
            Verdict::kDuplicate);
}

}  // namespace
}  // namespace messaging
