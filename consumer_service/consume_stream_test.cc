#include "consumer_service/consume_stream.h"

#include <string>
#include <utility>

#include "absl/time/time.h"
#include "consumer_service/producer_limits.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/wire/viewed_mensaje.h"
#include "testing/mensajes.h"

namespace messaging {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

TEST(ConsumeStreamTest, EmptyStreamSummarizesNothing) {
  ConsumeStream stream;
  v1::ConsumeSummary summary = stream.Summary(/*next_sequence=*/0);
  EXPECT_EQ(summary.messages_received(), 0u);
  EXPECT_EQ(summary.bytes_received(), 0u);
  EXPECT_EQ(summary.producer_id(), "");
  EXPECT_FALSE(summary.has_duration());
}

TEST(ConsumeStreamTest, SummaryCountsMessagesBytesSequencesAndDuplicates) {
  ConsumeStream stream;
  for (uint64_t sequence = 7; sequence < 12; ++sequence) {
    const v1::Mensaje message =
        DemoMensaje("p1", sequence, {/*payload=*/std::string(10, 'x')});
    const ViewedMensaje viewed(message);
    ASSERT_TRUE(stream.Check(viewed).ok());
    stream.RecordAccepted(viewed, kStart + absl::Milliseconds(sequence));
  }
  ASSERT_TRUE(stream.Check(ViewedMensaje(DemoMensaje("p1", 3))).ok());
  stream.RecordDuplicate();

  v1::ConsumeSummary summary = stream.Summary(/*next_sequence=*/12);
  EXPECT_EQ(summary.producer_id(), "p1");
  EXPECT_EQ(summary.messages_received(), 5u);
  // "Mensaje 7".."Mensaje 9" are 9 bytes, "Mensaje 10" and "11" are 10.
  EXPECT_EQ(summary.bytes_received(), 3 * 9 + 2 * 10 + 5 * 10u);
  EXPECT_EQ(summary.first_sequence(), 7u);
  EXPECT_EQ(summary.last_sequence(), 11u);
  EXPECT_EQ(summary.duplicates_dropped(), 1u);
  EXPECT_EQ(summary.next_sequence(), 12u);
  EXPECT_EQ(summary.duration().seconds(), 0);
  EXPECT_EQ(summary.duration().nanos(), 4'000'000);
}

TEST(ConsumeStreamTest, RejectsMissingProducerIdNamingTheField) {
  ConsumeStream stream;
  absl::Status status = stream.Check(ViewedMensaje(DemoMensaje("", 0)));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("Mensaje.producer_id"), std::string::npos)
      << status;
  EXPECT_EQ(stream.producer_id(), "");
}

TEST(ConsumeStreamTest, RejectsProducerIdChangeAndKeepsTheFirst) {
  ConsumeStream stream;
  ASSERT_TRUE(stream.Check(ViewedMensaje(DemoMensaje("p1", 0))).ok());
  absl::Status status = stream.Check(ViewedMensaje(DemoMensaje("p2", 1)));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("producer_id changed"), std::string::npos)
      << status;
  EXPECT_EQ(stream.producer_id(), "p1");
}

TEST(ConsumeStreamTest, ComparesTheWholeProducerId) {
  for (const char* other : {"p10", "p", "P1", "q1"}) {
    ConsumeStream stream;
    ASSERT_TRUE(stream.Check(ViewedMensaje(DemoMensaje("p1", 0))).ok());
    ASSERT_TRUE(stream.Check(ViewedMensaje(DemoMensaje("p1", 1))).ok());
    EXPECT_EQ(stream.Check(ViewedMensaje(DemoMensaje(other, 2))).code(),
              absl::StatusCode::kInvalidArgument)
        << other;
  }
}

TEST(ConsumeStreamTest, RejectsProducerIdOverTheLimitWithoutRepeatingIt) {
  ConsumeStream stream;
  EXPECT_TRUE(
      stream.Check(ViewedMensaje(DemoMensaje(std::string(256, 'p'), 0))).ok());
  ConsumeStream other;
  const absl::Status status =
      other.Check(ViewedMensaje(DemoMensaje(std::string(257, 'p'), 0)));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "Mensaje.producer_id in message 0 of the stream is 257 bytes; "
            "producer ids are at most 256 bytes");
  EXPECT_EQ(other.producer_id(), "");
}

TEST(ConsumeStreamTest, RejectsSequencesFrom2To63) {
  ConsumeStream stream;
  ASSERT_TRUE(
      stream.Check(ViewedMensaje(DemoMensaje("p", kSequenceLimit - 1))).ok());
  const absl::Status status =
      stream.Check(ViewedMensaje(DemoMensaje("p", kSequenceLimit)));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "Mensaje.sequence 9223372036854775808 in message 1 of the stream "
            "is not below 2^63 (9223372036854775808), the end of every "
            "producer's sequence; start a new producer id");
  EXPECT_EQ(stream.Check(ViewedMensaje(DemoMensaje("p", ~uint64_t{0}))).code(),
            absl::StatusCode::kInvalidArgument);
}

// Allows one producer id, and counts how often it is asked.
class OneIdGate final : public ProducerIdGate {
 public:
  explicit OneIdGate(std::string allowed) : allowed_(std::move(allowed)) {}
  absl::Status MayWrite(absl::string_view producer_id) const override {
    ++asked_;
    return producer_id == allowed_
               ? absl::OkStatus()
               : absl::PermissionDeniedError(std::string(producer_id));
  }
  int asked() const { return asked_; }

 private:
  const std::string allowed_;
  mutable int asked_ = 0;
};

TEST(ConsumeStreamTest, GateDecidesTheFirstMessagesProducerIdOnce) {
  const OneIdGate gate("alice");
  ConsumeStream allowed(&gate);
  for (uint64_t sequence = 0; sequence < 3; ++sequence) {
    EXPECT_TRUE(
        allowed.Check(ViewedMensaje(DemoMensaje("alice", sequence))).ok());
  }
  EXPECT_EQ(gate.asked(), 1);

  ConsumeStream denied(&gate);
  const absl::Status status =
      denied.Check(ViewedMensaje(DemoMensaje("mallory", 0)));
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.producer_id(), "");
  // Bounds come before the gate, which never sees an oversized id.
  EXPECT_EQ(
      denied.Check(ViewedMensaje(DemoMensaje(std::string(300, 'a'), 0))).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(gate.asked(), 2);
}

TEST(ConsumeStreamTest, CountedBytesIsTextPlusPayload) {
  const v1::Mensaje message = DemoMensaje("producer", 0, {/*payload=*/"abc"});
  EXPECT_EQ(CountedBytes(ViewedMensaje(message)),
            std::string("Mensaje 0").size() + 3);
}

}  // namespace
}  // namespace messaging
