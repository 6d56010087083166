#include "consumer_service/acceptor.h"

#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/wire/viewed_mensaje.h"
#include "testing/mensajes.h"

namespace messaging {
namespace {

// Remembers the one status it is told.
class RecordingWaiter final : public DurabilityWaiter {
 public:
  void OnDurable(absl::Status durable) override {
    status_ = std::move(durable);
    told_.Notify();
  }
  absl::Status Await() {
    told_.WaitForNotification();
    return status_;
  }
  bool told() const { return told_.HasBeenNotified(); }

 private:
  absl::Notification told_;
  absl::Status status_;
};

class AcceptorTest : public testing::Test {
 protected:
  ConsumerStatsRecorder stats_{absl::Now()};
  std::ostringstream console_;
  Acceptor acceptor_{std::make_unique<ProducerLedger>(), /*log=*/nullptr,
                     &stats_, &console_};
};

TEST_F(AcceptorTest, AcceptsCountsAndPrintsAndDropsDuplicates) {
  ConsumeStream stream;
  const ViewedMensaje batch[] = {ViewedMensaje(DemoMensaje("p", 0)),
                                 ViewedMensaje(DemoMensaje("p", 1)),
                                 ViewedMensaje(DemoMensaje("p", 0))};
  ASSERT_TRUE(
      acceptor_.Accept({batch[0], batch[1], batch[2]}, absl::Now(), &stream)
          .ok());

  EXPECT_EQ(console_.str(), "Consumiendo: Mensaje 0\nConsumiendo: Mensaje 1\n");
  const v1::ConsumeSummary summary = stream.Summary(2);
  EXPECT_EQ(summary.messages_received(), 2u);
  EXPECT_EQ(summary.duplicates_dropped(), 1u);
  const v1::ConsumerStats totals = stats_.Snapshot(absl::Now());
  EXPECT_EQ(totals.messages_received(), 2u);
  EXPECT_EQ(totals.duplicates_dropped(), 1u);
  google::protobuf::RepeatedPtrField<v1::ProducerStats> producers;
  EXPECT_FALSE(acceptor_.ledger().ListProducers({.limit = 10}, &producers));
  ASSERT_EQ(producers.size(), 1);
  EXPECT_EQ(producers[0].messages_received(), 2u);
  EXPECT_EQ(producers[0].duplicates_dropped(), 1u);
  EXPECT_EQ(acceptor_.ledger().Lookup("p").next_sequence, 2u);
}

TEST_F(AcceptorTest, AMessageBreakingTheStreamsRulesKeepsTheOnesBeforeIt) {
  ConsumeStream stream;
  const ViewedMensaje batch[] = {ViewedMensaje(DemoMensaje("p", 0)),
                                 ViewedMensaje(DemoMensaje("q", 1)),
                                 ViewedMensaje(DemoMensaje("p", 1))};
  const absl::Status accepted =
      acceptor_.Accept({batch[0], batch[1], batch[2]}, absl::Now(), &stream);
  EXPECT_EQ(accepted.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(accepted.message().find("producer_id changed"), std::string::npos)
      << accepted;
  EXPECT_EQ(acceptor_.ledger().Lookup("p").next_sequence, 1u);
  EXPECT_FALSE(acceptor_.ledger().Lookup("q").known);
  EXPECT_EQ(stats_.Snapshot(absl::Now()).messages_received(), 1u);
}

TEST_F(AcceptorTest, AGapIsFailedPreconditionAndKeepsTheOnesBeforeIt) {
  ConsumeStream stream;
  const ViewedMensaje batch[] = {ViewedMensaje(DemoMensaje("p", 0)),
                                 ViewedMensaje(DemoMensaje("p", 5))};
  const absl::Status accepted =
      acceptor_.Accept({batch[0], batch[1]}, absl::Now(), &stream);
  EXPECT_EQ(accepted.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(accepted.message().find("the consumer expects 1"),
            std::string::npos)
      << accepted;
  EXPECT_EQ(stream.Summary(1).messages_received(), 1u);
  EXPECT_EQ(console_.str(), "Consumiendo: Mensaje 0\n");
}

TEST_F(AcceptorTest, WithoutALogEverythingIsDurableAtOnce) {
  auto waiter = std::make_shared<RecordingWaiter>();
  acceptor_.WhenDurable(acceptor_.ledger().Lookup("p"), waiter);
  ASSERT_TRUE(waiter->told());
  EXPECT_TRUE(waiter->Await().ok());
  EXPECT_EQ(acceptor_.log(), nullptr);
}

TEST(AcceptorExpiryTest, ForgetsProducersIdleLongerThanTheExpiry) {
  ConsumerStatsRecorder stats(absl::Now());
  Acceptor acceptor(std::make_unique<ProducerLedger>(), /*log=*/nullptr, &stats,
                    /*console=*/nullptr,
                    /*producer_state_expiry=*/absl::Hours(1));
  const absl::Time start = absl::FromUnixSeconds(1'800'000'000);
  ConsumeStream idle_stream;
  const ViewedMensaje idle(DemoMensaje("idle", 7));
  ASSERT_TRUE(acceptor.Accept({idle}, start, &idle_stream).ok());
  ConsumeStream busy_stream;
  const ViewedMensaje busy_early(DemoMensaje("busy", 0));
  ASSERT_TRUE(
      acceptor.Accept({busy_early}, start + absl::Minutes(50), &busy_stream)
          .ok());
  // Within the hour nothing is forgotten.
  const ViewedMensaje busy_next(DemoMensaje("busy", 1));
  ASSERT_TRUE(
      acceptor.Accept({busy_next}, start + absl::Minutes(59), &busy_stream)
          .ok());
  EXPECT_TRUE(acceptor.ledger().Lookup("idle").known);

  const ViewedMensaje busy_late(DemoMensaje("busy", 2));
  ASSERT_TRUE(
      acceptor.Accept({busy_late}, start + absl::Minutes(61), &busy_stream)
          .ok());
  EXPECT_FALSE(acceptor.ledger().Lookup("idle").known);
  EXPECT_EQ(acceptor.ledger().Lookup("busy").next_sequence, 3u);

  // Back after expiry, the producer is new: any sequence is accepted.
  ConsumeStream back_stream;
  const ViewedMensaje back(DemoMensaje("idle", 0));
  ASSERT_TRUE(
      acceptor.Accept({back}, start + absl::Minutes(62), &back_stream).ok());
  EXPECT_EQ(back_stream.Summary(1).messages_received(), 1u);
  EXPECT_EQ(acceptor.ledger().Lookup("idle").next_sequence, 1u);
}

}  // namespace
}  // namespace messaging
