#include "producer_service/producer.h"

#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

ProducerOptions ValidOptions() {
  ProducerOptions options;
  options.producer_id = "producer-1";
  return options;
}

TEST(ValidateProducerOptionsTest, DefaultsWithAProducerIdAreValid) {
  EXPECT_TRUE(ValidateProducerOptions(ValidOptions()).ok());
}

TEST(ValidateProducerOptionsTest, EachBadValueNamesItsFlag) {
  struct Case {
    const char* flag;
    void (*breaks)(ProducerOptions&);
  };
  const Case cases[] = {
      {"--target", [](ProducerOptions& o) { o.target = ""; }},
      {"--count", [](ProducerOptions& o) { o.count = -1; }},
      {"--interval",
       [](ProducerOptions& o) { o.interval = absl::Seconds(-1); }},
      {"--payload_bytes", [](ProducerOptions& o) { o.payload_bytes = -5; }},
      {"--payload_bytes",
       [](ProducerOptions& o) { o.payload_bytes = int64_t{1} << 40; }},
      {"--producer_id", [](ProducerOptions& o) { o.producer_id = ""; }},
      {"--connect_timeout",
       [](ProducerOptions& o) { o.connect_timeout = absl::ZeroDuration(); }},
  };
  for (const Case& c : cases) {
    ProducerOptions options = ValidOptions();
    c.breaks(options);
    absl::Status status = ValidateProducerOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.flag;
    EXPECT_NE(status.message().find(c.flag), std::string::npos) << status;
  }
}

TEST(MensajeFactoryTest, FillsTheDemoMessage) {
  MensajeFactory factory("host-a", 0);
  v1::Mensaje message;
  const absl::Time now = absl::FromUnixMillis(1'700'000'000'123);
  factory.Fill(3, now, &message);
  EXPECT_EQ(message.producer_id(), "host-a");
  EXPECT_EQ(message.sequence(), 3u);
  EXPECT_EQ(message.text(), "Mensaje 3");
  EXPECT_TRUE(message.payload().empty());
  EXPECT_EQ(google::protobuf::util::TimeUtil::TimestampToMilliseconds(
                message.created_at()),
            1'700'000'000'123);
}

TEST(MensajeFactoryTest, ReusedMessageGetsTheNewSequenceAndKeepsPayload) {
  MensajeFactory factory("p", 100);
  v1::Mensaje message;
  factory.Fill(0, absl::Now(), &message);
  factory.Fill(41, absl::Now(), &message);
  EXPECT_EQ(message.sequence(), 41u);
  EXPECT_EQ(message.text(), "Mensaje 41");
  EXPECT_EQ(message.payload().size(), 100u);
  EXPECT_EQ(message.payload().substr(0, 3), "abc");
}

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

TEST(FormatSummaryTest, EmptyStreamHasNoSequences) {
  EXPECT_EQ(FormatSummary(v1::ConsumeSummary()),
            "Consumer summary: 0 messages, 0 bytes");
}

}  // namespace
}  // namespace messaging
