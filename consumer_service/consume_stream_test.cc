#include "consumer_service/consume_stream.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/wire/viewed_mensaje.h"

namespace messaging {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

v1::Mensaje Message(const std::string& producer_id, uint64_t sequence) {
  v1::Mensaje message;
  message.set_producer_id(producer_id);
  message.set_sequence(sequence);
  message.set_text("Mensaje " + std::to_string(sequence));
  return message;
}

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
    v1::Mensaje message = Message("p1", sequence);
    message.set_payload(std::string(10, 'x'));
    const ViewedMensaje viewed(message);
    ASSERT_TRUE(stream.Check(viewed).ok());
    stream.RecordAccepted(viewed, kStart + absl::Milliseconds(sequence));
  }
  ASSERT_TRUE(stream.Check(ViewedMensaje(Message("p1", 3))).ok());
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
  absl::Status status = stream.Check(ViewedMensaje(Message("", 0)));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("Mensaje.producer_id"), std::string::npos)
      << status;
  EXPECT_EQ(stream.producer_id(), "");
}

TEST(ConsumeStreamTest, RejectsProducerIdChangeAndKeepsTheFirst) {
  ConsumeStream stream;
  ASSERT_TRUE(stream.Check(ViewedMensaje(Message("p1", 0))).ok());
  absl::Status status = stream.Check(ViewedMensaje(Message("p2", 1)));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("producer_id changed"), std::string::npos)
      << status;
  EXPECT_EQ(stream.producer_id(), "p1");
}

TEST(ConsumeStreamTest, ComparesTheWholeProducerId) {
  for (const char* other : {"p10", "p", "P1", "q1"}) {
    ConsumeStream stream;
    ASSERT_TRUE(stream.Check(ViewedMensaje(Message("p1", 0))).ok());
    ASSERT_TRUE(stream.Check(ViewedMensaje(Message("p1", 1))).ok());
    EXPECT_EQ(stream.Check(ViewedMensaje(Message(other, 2))).code(),
              absl::StatusCode::kInvalidArgument)
        << other;
  }
}

TEST(ConsumeStreamTest, CountedBytesIsTextPlusPayload) {
  v1::Mensaje message = Message("producer", 0);
  message.set_payload("abc");
  EXPECT_EQ(CountedBytes(ViewedMensaje(message)),
            std::string("Mensaje 0").size() + 3);
}

}  // namespace
}  // namespace messaging
