// The Acceptor with a real message log: the order of what it appends, when
// it is durable, and what the producer-state snapshots it has the log take
// keep across a restart and retention.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "consumer_service/acceptor.h"
#include "consumer_service/log_reader.h"
#include "consumer_service/log_test_util.h"
#include "consumer_service/producer_snapshot.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/wire/viewed_mensaje.h"
#include "testing/mensajes.h"

namespace messaging {
namespace {

using Verdict = ProducerLedger::Verdict;

// Tells a waiting test what became durable.
class NotifyingWaiter final : public DurabilityWaiter {
 public:
  void OnDurable(absl::Status durable) override {
    absl::MutexLock lock(&mutex_);
    status_ = std::move(durable);
    told_ = true;
  }
  absl::Status Await() {
    absl::MutexLock lock(&mutex_);
    mutex_.Await(absl::Condition(&told_));
    return status_;
  }

 private:
  absl::Mutex mutex_;
  bool told_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mutex_);
};

// A consumer's acceptor over the log in `options.directory`, restored from
// it as at a start.
class LoggedAcceptor {
 public:
  explicit LoggedAcceptor(const MessageLogOptions& options) {
    auto ledger = std::make_unique<ProducerLedger>();
    absl::StatusOr<std::unique_ptr<MessageLog>> log =
        MessageLog::Open(options, ledger.get());
    EXPECT_TRUE(log.ok()) << log.status();
    if (log.ok()) {
      acceptor_ = std::make_unique<Acceptor>(std::move(ledger), std::move(*log),
                                             &stats_, /*console=*/nullptr);
    }
  }
  bool ok() const { return acceptor_ != nullptr; }
  Acceptor& acceptor() { return *acceptor_; }

  // Accepts `sequences` [first, end) of `producer_id`, one read each.
  void AcceptAll(const std::string& producer_id, uint64_t first, uint64_t end) {
    ConsumeStream stream;
    for (uint64_t sequence = first; sequence < end; ++sequence) {
      const ViewedMensaje message(DemoMensaje(producer_id, sequence));
      ASSERT_TRUE(acceptor_->Accept({message}, absl::Now(), &stream).ok());
    }
  }

 private:
  ConsumerStatsRecorder stats_{absl::Now()};
  std::unique_ptr<Acceptor> acceptor_;
};

TEST(AcceptorLogTest, AcceptedMessagesGoToTheLogInOrderAndBecomeDurable) {
  MessageLogOptions options;
  options.directory = NewTestDirectory();
  {
    LoggedAcceptor logged(options);
    ASSERT_TRUE(logged.ok());
    ConsumeStream stream;
    const ViewedMensaje batch[] = {ViewedMensaje(DemoMensaje("p", 0)),
                                   ViewedMensaje(DemoMensaje("p", 1)),
                                   ViewedMensaje(DemoMensaje("p", 0))};
    ASSERT_TRUE(
        logged.acceptor()
            .Accept({batch[0], batch[1], batch[2]}, absl::Now(), &stream)
            .ok());
    const ProducerLedger::Standing standing =
        logged.acceptor().ledger().Lookup("p");
    EXPECT_GT(standing.log_position, 0u);

    auto waiter = std::make_shared<NotifyingWaiter>();
    logged.acceptor().WhenDurable(standing, waiter);
    EXPECT_TRUE(waiter->Await().ok());
  }
  EXPECT_EQ(LoggedSequences(options.directory), (std::vector<uint64_t>{0, 1}));
}

TEST(AcceptorLogTest, DeduplicatesProducersWhoseRecordsRetentionDeleted) {
  MessageLogOptions options;
  options.directory = NewTestDirectory();
  options.segment_bytes = 200;
  options.retention.bytes = 1;  // delete all that the snapshots allow
  {
    LoggedAcceptor logged(options);
    ASSERT_TRUE(logged.ok());
    logged.AcceptAll("quiet", 0, 10);
    logged.AcceptAll("busy", 0, 200);
  }  // no shutdown snapshot: as after a crash, the roll snapshots serve
  std::vector<std::string> producers;
  ASSERT_TRUE(
      ReadLogDirectory(options.directory, [&](const v1::Mensaje& message,
                                              uint64_t) {
        producers.push_back(message.producer_id());
      }).ok());
  ASSERT_FALSE(producers.empty());
  EXPECT_EQ(std::count(producers.begin(), producers.end(), "quiet"), 0)
      << "retention should have deleted quiet's records";

  LoggedAcceptor restarted(options);
  ASSERT_TRUE(restarted.ok());
  EXPECT_TRUE(restarted.acceptor().log()->recovery().restored_snapshot);
  ConsumeStream stream;
  const ViewedMensaje batch[] = {ViewedMensaje(DemoMensaje("quiet", 3)),
                                 ViewedMensaje(DemoMensaje("quiet", 9)),
                                 ViewedMensaje(DemoMensaje("quiet", 10))};
  ASSERT_TRUE(restarted.acceptor()
                  .Accept({batch[0], batch[1], batch[2]}, absl::Now(), &stream)
                  .ok());
  const v1::ConsumeSummary summary = stream.Summary(11);
  EXPECT_EQ(summary.duplicates_dropped(), 2u);
  EXPECT_EQ(summary.messages_received(), 1u);
  EXPECT_EQ(restarted.acceptor().ledger().Lookup("busy").next_sequence, 200u);
}

TEST(AcceptorLogTest, TheShutdownSnapshotHoldsEachProducersLastActivity) {
  MessageLogOptions options;
  options.directory = NewTestDirectory();
  const int64_t before = absl::GetCurrentTimeNanos();
  {
    LoggedAcceptor logged(options);
    ASSERT_TRUE(logged.ok());
    logged.AcceptAll("p", 0, 3);
    logged.acceptor().SnapshotForShutdown();
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
