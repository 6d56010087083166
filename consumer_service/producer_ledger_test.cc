#include "consumer_service/producer_ledger.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "absl/time/clock.h"
#include "consumer_service/log_reader.h"
#include "consumer_service/producer_snapshot.h"
#include "consumer_service/viewed_mensaje.h"
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

// Admits one message; its verdict, or the refusal.
absl::StatusOr<Verdict> AdmitOne(ProducerLedger& ledger,
                                 const v1::Mensaje& message) {
  std::vector<Verdict> verdicts;
  absl::Status admitted =
      ledger.Admit({ViewedMensaje(message)}, nullptr, &verdicts);
  if (!admitted.ok()) return admitted;
  return verdicts.at(0);
}

TEST(ProducerLedgerTest, NewProducerMayStartAnywhereThenGoesInOrder) {
  ProducerLedger ledger;
  EXPECT_FALSE(ledger.Lookup("p").known);
  EXPECT_EQ(*AdmitOne(ledger, Message("p", 40)), Verdict::kAccepted);
  EXPECT_EQ(*AdmitOne(ledger, Message("p", 41)), Verdict::kAccepted);
  const ProducerLedger::Standing standing = ledger.Lookup("p");
  EXPECT_TRUE(standing.known);
  EXPECT_EQ(standing.next_sequence, 42u);
}

TEST(ProducerLedgerTest, SequenceBelowTheNextIsADuplicate) {
  ProducerLedger ledger;
  for (uint64_t i = 0; i < 3; ++i)
    ASSERT_TRUE(AdmitOne(ledger, Message("p", i)).ok());
  for (uint64_t old : {0, 1, 2}) {
    EXPECT_EQ(*AdmitOne(ledger, Message("p", old)), Verdict::kDuplicate);
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
  ASSERT_TRUE(AdmitOne(ledger, Message("p", 0)).ok());
  absl::StatusOr<Verdict> gap = AdmitOne(ledger, Message("p", 5));
  EXPECT_EQ(gap.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(gap.status().message().find("the consumer expects 1"),
            std::string::npos)
      << gap.status();
  EXPECT_EQ(ledger.Lookup("p").next_sequence, 1u);
}

TEST(ProducerLedgerTest, ProducersAreIndependent) {
  ProducerLedger ledger;
  ASSERT_TRUE(AdmitOne(ledger, Message("a", 0)).ok());
  ASSERT_TRUE(AdmitOne(ledger, Message("b", 9)).ok());
  EXPECT_EQ(*AdmitOne(ledger, Message("a", 1)), Verdict::kAccepted);
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
  EXPECT_EQ(*AdmitOne(ledger, Message("p", 1)), Verdict::kDuplicate);
}

TEST(ProducerLedgerTest, BatchIsAdmittedInOrderUpToAGap) {
  ProducerLedger ledger;
  ASSERT_TRUE(AdmitOne(ledger, Message("p", 0)).ok());
  const ViewedMensaje batch[] = {
      ViewedMensaje(Message("p", 0)), ViewedMensaje(Message("p", 1)),
      ViewedMensaje(Message("p", 2)), ViewedMensaje(Message("p", 9)),
      ViewedMensaje(Message("p", 3))};
  std::vector<Verdict> verdicts;
  absl::Status admitted = ledger.Admit(
      {batch[0], batch[1], batch[2], batch[3], batch[4]}, nullptr, &verdicts);
  EXPECT_EQ(admitted.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(verdicts,
            (std::vector<Verdict>{Verdict::kDuplicate, Verdict::kAccepted,
                                  Verdict::kAccepted}));
  EXPECT_EQ(ledger.Lookup("p").next_sequence, 3u);
}

TEST(ProducerLedgerTest, AcceptedMessagesGoToTheLogInOrder) {
  const std::string directory =
      std::string(std::getenv("TEST_TMPDIR")) + "/ledger_log";
  {
    absl::StatusOr<std::unique_ptr<MessageLog>> log =
        MessageLog::Open({directory}, [](const v1::Mensaje&, uint64_t) {});
    ASSERT_TRUE(log.ok());
    ProducerLedger ledger;
    const ViewedMensaje batch[] = {ViewedMensaje(Message("p", 0)),
                                   ViewedMensaje(Message("p", 1)),
                                   ViewedMensaje(Message("p", 0))};
    std::vector<Verdict> verdicts;
    ASSERT_TRUE(
        ledger.Admit({batch[0], batch[1], batch[2]}, log->get(), &verdicts)
            .ok());
    EXPECT_GT(ledger.Lookup("p").log_position, 0u);
  }
  std::vector<uint64_t> logged;
  ASSERT_TRUE(
      ReadLogDirectory(directory, [&](const v1::Mensaje& message, uint64_t) {
        logged.push_back(message.sequence());
      }).ok());
  EXPECT_EQ(logged, (std::vector<uint64_t>{0, 1}));
}

// Admits `sequences` of `producer_id` one at a time into `log`.
void AdmitAll(ProducerLedger& ledger, MessageLog* log,
              const std::string& producer_id, uint64_t first, uint64_t end) {
  for (uint64_t sequence = first; sequence < end; ++sequence) {
    std::vector<Verdict> verdicts;
    ASSERT_TRUE(ledger
                    .Admit({ViewedMensaje(Message(producer_id, sequence))}, log,
                           &verdicts)
                    .ok());
  }
}

TEST(ProducerLedgerTest, DeduplicatesProducersWhoseRecordsRetentionDeleted) {
  MessageLogOptions options;
  options.directory = std::string(std::getenv("TEST_TMPDIR")) + "/retained";
  options.segment_bytes = 200;
  options.retention.bytes = 1;  // delete all that the snapshots allow
  {
    ProducerLedger ledger;
    absl::StatusOr<std::unique_ptr<MessageLog>> log =
        MessageLog::Open(options, &ledger);
    ASSERT_TRUE(log.ok()) << log.status();
    AdmitAll(ledger, log->get(), "quiet", 0, 10);
    AdmitAll(ledger, log->get(), "busy", 0, 200);
  }  // no shutdown snapshot: as after a crash, the roll snapshots serve
  std::vector<std::string> logged;
  ASSERT_TRUE(
      ReadLogDirectory(options.directory, [&](const v1::Mensaje& message,
                                              uint64_t) {
        logged.push_back(message.producer_id());
      }).ok());
  ASSERT_FALSE(logged.empty());
  EXPECT_EQ(std::count(logged.begin(), logged.end(), "quiet"), 0)
      << "retention should have deleted quiet's records";

  ProducerLedger ledger;
  absl::StatusOr<std::unique_ptr<MessageLog>> log =
      MessageLog::Open(options, &ledger);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_TRUE((*log)->recovery().restored_snapshot);
  std::vector<Verdict> verdicts;
  ASSERT_TRUE(ledger
                  .Admit({ViewedMensaje(Message("quiet", 3)),
                          ViewedMensaje(Message("quiet", 9)),
                          ViewedMensaje(Message("quiet", 10))},
                         log->get(), &verdicts)
                  .ok());
  EXPECT_EQ(verdicts,
            (std::vector<Verdict>{Verdict::kDuplicate, Verdict::kDuplicate,
                                  Verdict::kAccepted}));
  EXPECT_EQ(ledger.Lookup("busy").next_sequence, 200u);
}

TEST(ProducerLedgerTest, SnapshotsHoldEachProducersLastActivity) {
  MessageLogOptions options;
  options.directory = std::string(std::getenv("TEST_TMPDIR")) + "/activity";
  const int64_t before = absl::GetCurrentTimeNanos();
  {
    ProducerLedger ledger;
    absl::StatusOr<std::unique_ptr<MessageLog>> log =
        MessageLog::Open(options, &ledger);
    ASSERT_TRUE(log.ok());
    AdmitAll(ledger, log->get(), "p", 0, 3);
    ledger.SnapshotTo(log->get());
  }
  absl::StatusOr<consumer::v1::ProducerStateSnapshot> snapshot =
      ReadSnapshotFile(options.directory, 3);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_EQ(snapshot->producers_size(), 1);
  EXPECT_EQ(snapshot->producers(0).producer_id(), "p");
  EXPECT_EQ(snapshot->producers(0).next_sequence(), 3u);
  EXPECT_GE(snapshot->producers(0).last_activity_unix_nanos(), before);
  EXPECT_LE(snapshot->producers(0).last_activity_unix_nanos(),
            absl::GetCurrentTimeNanos());
}

}  // namespace
}  // namespace messaging
