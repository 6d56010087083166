#include "consumer_service/consume_stream.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

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
  v1::ConsumeSummary summary = stream.Summary();
  EXPECT_EQ(summary.messages_received(), 0u);
  EXPECT_EQ(summary.bytes_received(), 0u);
  EXPECT_EQ(summary.producer_id(), "");
  EXPECT_FALSE(summary.has_duration());
}

TEST(ConsumeStreamTest, SummaryCountsMessagesBytesAndSequences) {
  ConsumeStream stream;
  for (uint64_t sequence = 7; sequence < 12; ++sequence) {
    v1::Mensaje message = Message("p1", sequence);
    message.set_payload(std::string(10, 'x'));
    ASSERT_TRUE(
        stream.Accept(message, kStart + absl::Milliseconds(sequence)).ok());
  }
  v1::ConsumeSummary summary = stream.Summary();
  EXPECT_EQ(summary.producer_id(), "p1");
  EXPECT_EQ(summary.messages_received(), 5u);
  // "Mensaje 7".."Mensaje 9" are 9 bytes, "Mensaje 10" and "11" are 10.
  EXPECT_EQ(summary.bytes_received(), 3 * 9 + 2 * 10 + 5 * 10u);
  EXPECT_EQ(summary.first_sequence(), 7u);
  EXPECT_EQ(summary.last_sequence(), 11u);
  EXPECT_EQ(summary.duration().seconds(), 0);
  EXPECT_EQ(summary.duration().nanos(), 4'000'000);
}

TEST(ConsumeStreamTest, RejectsMissingProducerIdNamingTheField) {
  ConsumeStream stream;
  absl::Status status = stream.Accept(Message("", 0), kStart);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("Mensaje.producer_id"), std::string::npos)
      << status;
  EXPECT_EQ(stream.messages_received(), 0u);
}

TEST(ConsumeStreamTest, RejectsProducerIdChangeAndKeepsWhatWasAccepted) {
  ConsumeStream stream;
  ASSERT_TRUE(stream.Accept(Message("p1", 0), kStart).ok());
  absl::Status status = stream.Accept(Message("p2", 1), kStart);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("producer_id changed"), std::string::npos)
      << status;
  EXPECT_EQ(stream.Summary().messages_received(), 1u);
  EXPECT_EQ(stream.Summary().producer_id(), "p1");
}

TEST(ConsumeStreamTest, RejectsSequenceGap) {
  ConsumeStream stream;
  ASSERT_TRUE(stream.Accept(Message("p1", 0), kStart).ok());
  absl::Status status = stream.Accept(Message("p1", 2), kStart);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("Mensaje.sequence 2 does not follow 0"),
            std::string::npos)
      << status;
  EXPECT_EQ(stream.Summary().last_sequence(), 0u);
}

TEST(ConsumeStreamTest, RejectsRepeatedSequence) {
  ConsumeStream stream;
  ASSERT_TRUE(stream.Accept(Message("p1", 3), kStart).ok());
  EXPECT_EQ(stream.Accept(Message("p1", 3), kStart).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(stream.messages_received(), 1u);
}

TEST(ConsumeStreamTest, CountedBytesIsTextPlusPayload) {
  v1::Mensaje message = Message("producer", 0);
  message.set_payload("abc");
  EXPECT_EQ(CountedBytes(message), std::string("Mensaje 0").size() + 3);
}

}  // namespace
}  // namespace messaging
