#include "consumer_service/producer_ledger.h"

#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/wire/viewed_mensaje.h"
#include "testing/mensajes.h"

namespace messaging {
namespace {

using Verdict = ProducerLedger::Verdict;

// Judges and records `messages`, as the Acceptor does with no log; the
// refusal, if any.
absl::Status Admit(ProducerLedger& ledger,
                   absl::Span<const MensajeView> messages,
                   std::vector<Verdict>* verdicts) {
  const ProducerLedger::Admission admission = ledger.Judge(messages, verdicts);
  ledger.Record(admission);
  return admission.refused;
}

// Admits one message; its verdict, or the refusal.
absl::StatusOr<Verdict> AdmitOne(ProducerLedger& ledger,
                                 const v1::Mensaje& message) {
  std::vector<Verdict> verdicts;
  absl::Status admitted = Admit(ledger, {ViewedMensaje(message)}, &verdicts);
  if (!admitted.ok()) return admitted;
  return verdicts.at(0);
}

TEST(ProducerLedgerTest, NewProducerMayStartAnywhereThenGoesInOrder) {
  ProducerLedger ledger;
  EXPECT_FALSE(ledger.Lookup("p").known);
  EXPECT_EQ(*AdmitOne(ledger, DemoMensaje("p", 40)), Verdict::kAccepted);
  EXPECT_EQ(*AdmitOne(ledger, DemoMensaje("p", 41)), Verdict::kAccepted);
  const ProducerLedger::Standing standing = ledger.Lookup("p");
  EXPECT_TRUE(standing.known);
  EXPECT_EQ(standing.next_sequence, 42u);
}

TEST(ProducerLedgerTest, SequenceBelowTheNextIsADuplicate) {
  ProducerLedger ledger;
  for (uint64_t i = 0; i < 3; ++i)
    ASSERT_TRUE(AdmitOne(ledger, DemoMensaje("p", i)).ok());
  for (uint64_t old : {0, 1, 2}) {
    EXPECT_EQ(*AdmitOne(ledger, DemoMensaje("p", old)), Verdict::kDuplicate);
  }
  EXPECT_EQ(ledger.Lookup("p").next_sequence, 3u);
  v1::ConsumerStats stats;
  ledger.AddProducerStats(&stats);
  ASSERT_EQ(stats.producers_size(), 1);
  EXPECT_EQ(stats.producers(0).messages_received(), 3u);
  EXPECT_EQ(stats.producers(0).duplicates_dropped(), 3u);
  EXPECT_EQ(stats.producers(0).last_sequence(), 2u);
}

TEST(ProducerLedgerTest, NewProducerBeyondMaxProducersIsRefusedWhole) {
  ProducerLedger ledger(/*max_producers=*/2);
  ASSERT_TRUE(AdmitOne(ledger, DemoMensaje("a", 0)).ok());
  ASSERT_TRUE(AdmitOne(ledger, DemoMensaje("b", 0)).ok());
  std::vector<Verdict> verdicts;
  const absl::Status refused =
      Admit(ledger, {ViewedMensaje(DemoMensaje("c", 0))}, &verdicts);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.message(),
            "the consumer already tracks 2 producer ids (--max_producers); "
            "new producer id 'c' refused, the known ones go on");
  EXPECT_TRUE(verdicts.empty());
  EXPECT_FALSE(ledger.Lookup("c").known);
  EXPECT_EQ(*AdmitOne(ledger, DemoMensaje("a", 1)), Verdict::kAccepted);
  EXPECT_EQ(*AdmitOne(ledger, DemoMensaje("b", 0)), Verdict::kDuplicate);
}

TEST(ProducerLedgerTest, RestoredProducersCountAndAreAllKept) {
  ProducerLedger ledger(/*max_producers=*/1);
  ledger.Restore(DemoMensaje("a", 4), /*end_offset=*/10);
  ledger.Restore(DemoMensaje("b", 7), /*end_offset=*/20);
  EXPECT_EQ(ledger.Lookup("b").next_sequence, 8u);
  EXPECT_EQ(AdmitOne(ledger, DemoMensaje("c", 0)).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*AdmitOne(ledger, DemoMensaje("a", 5)), Verdict::kAccepted);
}

TEST(ProducerLedgerTest, GapIsRefusedAndChangesNothing) {
  ProducerLedger ledger;
  ASSERT_TRUE(AdmitOne(ledger, DemoMensaje("p", 0)).ok());
  absl::StatusOr<Verdict> gap = AdmitOne(ledger, DemoMensaje("p", 5));
  EXPECT_EQ(gap.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(gap.status().message().find("the consumer expects 1"),
            std::string::npos)
      << gap.status();
  EXPECT_EQ(ledger.Lookup("p").next_sequence, 1u);
}

TEST(ProducerLedgerTest, ProducersAreIndependent) {
  ProducerLedger ledger;
  ASSERT_TRUE(AdmitOne(ledger, DemoMensaje("a", 0)).ok());
  ASSERT_TRUE(AdmitOne(ledger, DemoMensaje("b", 9)).ok());
  EXPECT_EQ(*AdmitOne(ledger, DemoMensaje("a", 1)), Verdict::kAccepted);
  EXPECT_EQ(ledger.Lookup("b").next_sequence, 10u);
  v1::ConsumerStats stats;
  ledger.AddProducerStats(&stats);
  ASSERT_EQ(stats.producers_size(), 2);
  EXPECT_EQ(stats.producers(0).producer_id(), "a");
  EXPECT_EQ(stats.producers(1).producer_id(), "b");
}

TEST(ProducerLedgerTest, RestoreRebuildsTheStandingFromTheLog) {
  ProducerLedger ledger;
  ledger.Restore(DemoMensaje("p", 0), 10);
  ledger.Restore(DemoMensaje("p", 1), 20);
  const ProducerLedger::Standing standing = ledger.Lookup("p");
  EXPECT_TRUE(standing.known);
  EXPECT_EQ(standing.next_sequence, 2u);
  EXPECT_EQ(standing.log_position, 20u);
  EXPECT_EQ(*AdmitOne(ledger, DemoMensaje("p", 1)), Verdict::kDuplicate);
}

TEST(ProducerLedgerTest, BatchIsAdmittedInOrderUpToAGap) {
  ProducerLedger ledger;
  ASSERT_TRUE(AdmitOne(ledger, DemoMensaje("p", 0)).ok());
  const ViewedMensaje batch[] = {
      ViewedMensaje(DemoMensaje("p", 0)), ViewedMensaje(DemoMensaje("p", 1)),
      ViewedMensaje(DemoMensaje("p", 2)), ViewedMensaje(DemoMensaje("p", 9)),
      ViewedMensaje(DemoMensaje("p", 3))};
  std::vector<Verdict> verdicts;
  absl::Status admitted = Admit(
      ledger, {batch[0], batch[1], batch[2], batch[3], batch[4]}, &verdicts);
  EXPECT_EQ(admitted.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(verdicts,
            (std::vector<Verdict>{Verdict::kDuplicate, Verdict::kAccepted,
                                  Verdict::kAccepted}));
  EXPECT_EQ(ledger.Lookup("p").next_sequence, 3u);
}

TEST(ProducerLedgerTest, JudgingChangesNothingUntilRecorded) {
  ProducerLedger ledger;
  ASSERT_TRUE(AdmitOne(ledger, DemoMensaje("p", 0)).ok());
  const ViewedMensaje next(DemoMensaje("p", 1));
  std::vector<Verdict> verdicts;
  ProducerLedger::Admission admission = ledger.Judge({next}, &verdicts);
  EXPECT_EQ(verdicts, std::vector<Verdict>{Verdict::kAccepted});
  EXPECT_EQ(admission.next_sequence, 2u);
  EXPECT_EQ(ledger.Lookup("p").next_sequence, 1u);

  admission.log_position = 77;
  ledger.Record(admission);
  const ProducerLedger::Standing standing = ledger.Lookup("p");
  EXPECT_EQ(standing.next_sequence, 2u);
  EXPECT_EQ(standing.log_position, 77u);
}

TEST(ProducerLedgerTest, AnUnrecordedNewProducerLeavesNoTrace) {
  ProducerLedger ledger;
  std::vector<Verdict> verdicts;
  ledger.Judge({ViewedMensaje(DemoMensaje("p", 3))}, &verdicts);
  EXPECT_FALSE(ledger.Lookup("p").known);
  v1::ConsumerStats stats;
  ledger.AddProducerStats(&stats);
  EXPECT_EQ(stats.producers_size(), 0);
}

}  // namespace
}  // namespace messaging
