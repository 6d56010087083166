#include "consumer_service/producer_ledger.h"

#include <string>
#include <utility>
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

// Every producer of the ledger, in one page.
std::vector<v1::ProducerStats> AllProducers(const ProducerLedger& ledger) {
  google::protobuf::RepeatedPtrField<v1::ProducerStats> page;
  EXPECT_FALSE(ledger.ListProducers({.limit = 1000}, &page));
  return {page.begin(), page.end()};
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
  const std::vector<v1::ProducerStats> producers = AllProducers(ledger);
  ASSERT_EQ(producers.size(), 1u);
  EXPECT_EQ(producers[0].messages_received(), 3u);
  EXPECT_EQ(producers[0].duplicates_dropped(), 3u);
  EXPECT_EQ(producers[0].last_sequence(), 2u);
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
  const std::vector<v1::ProducerStats> producers = AllProducers(ledger);
  ASSERT_EQ(producers.size(), 2u);
  EXPECT_EQ(producers[0].producer_id(), "a");
  EXPECT_EQ(producers[1].producer_id(), "b");
  EXPECT_EQ(ledger.producer_count(), 2u);
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
  EXPECT_TRUE(AllProducers(ledger).empty());
  EXPECT_EQ(ledger.producer_count(), 0u);
}

// The ids of one ListProducers page, and whether more follow.
std::pair<std::vector<std::string>, bool> Page(
    const ProducerLedger& ledger, const ProducerLedger::ProducerRange& range) {
  google::protobuf::RepeatedPtrField<v1::ProducerStats> page;
  const bool more = ledger.ListProducers(range, &page);
  std::vector<std::string> ids;
  for (const v1::ProducerStats& producer : page) {
    ids.push_back(producer.producer_id());
  }
  return {ids, more};
}

TEST(ProducerLedgerTest, ListsARangeOfProducersInIdOrder) {
  ProducerLedger ledger;
  for (const char* id : {"b-2", "a-1", "b-1", "c-1", "b-3"}) {
    ASSERT_TRUE(AdmitOne(ledger, DemoMensaje(id, 0)).ok());
  }
  using Ids = std::vector<std::string>;
  EXPECT_EQ(Page(ledger, {.limit = 2}),
            std::make_pair(Ids{"a-1", "b-1"}, true));
  EXPECT_EQ(Page(ledger, {.after = "b-1", .limit = 2}),
            std::make_pair(Ids{"b-2", "b-3"}, true));
  EXPECT_EQ(Page(ledger, {.after = "b-3", .limit = 2}),
            std::make_pair(Ids{"c-1"}, false));
  // Exactly `limit` left: no next page.
  EXPECT_EQ(Page(ledger, {.after = "b-2", .limit = 2}),
            std::make_pair(Ids{"b-3", "c-1"}, false));
  // A prefix, from its start and after an id inside it.
  EXPECT_EQ(Page(ledger, {.prefix = "b-", .limit = 10}),
            std::make_pair(Ids{"b-1", "b-2", "b-3"}, false));
  EXPECT_EQ(Page(ledger, {.after = "b-1", .prefix = "b-", .limit = 1}),
            std::make_pair(Ids{"b-2"}, true));
  // `after` before the prefix's ids starts at the prefix.
  EXPECT_EQ(Page(ledger, {.after = "a-1", .prefix = "c", .limit = 10}),
            std::make_pair(Ids{"c-1"}, false));
  EXPECT_EQ(Page(ledger, {.prefix = "z", .limit = 10}),
            std::make_pair(Ids{}, false));
  EXPECT_EQ(ledger.producer_count(), 5u);
}

TEST(ProducerLedgerTest, CountsProducersRestoredFromASnapshotAndTheLog) {
  ProducerLedger ledger;
  ASSERT_TRUE(AdmitOne(ledger, DemoMensaje("gone", 0)).ok());
  consumer::v1::ProducerStateSnapshot snapshot;
  for (const char* id : {"a", "b"}) {
    snapshot.add_producers()->set_producer_id(id);
  }
  ledger.OnSnapshot(snapshot);  // replaces what the ledger held
  EXPECT_EQ(ledger.producer_count(), 2u);
  ledger.Restore(DemoMensaje("c", 0), 1);
  ledger.Restore(DemoMensaje("c", 1), 2);
  EXPECT_EQ(ledger.producer_count(), 3u);
}

}  // namespace
}  // namespace messaging
