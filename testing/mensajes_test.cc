#include "testing/mensajes.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

TEST(DemoMensajeTest, CarriesTheDemoTextAndOnlyTheFieldsAskedFor) {
  const v1::Mensaje plain = DemoMensaje("p", 12);
  EXPECT_EQ(plain.producer_id(), "p");
  EXPECT_EQ(plain.sequence(), 12u);
  EXPECT_EQ(plain.text(), "Mensaje 12");
  EXPECT_EQ(plain.payload(), "");
  EXPECT_FALSE(plain.has_created_at());

  const v1::Mensaje full = DemoMensaje(
      "p", 0, {/*payload=*/"abc", /*created_at=*/absl::UnixEpoch()});
  EXPECT_EQ(full.payload(), "abc");
  ASSERT_TRUE(full.has_created_at());
  EXPECT_EQ(full.created_at().seconds(), 0);
  EXPECT_EQ(full.created_at().nanos(), 0);
}

TEST(DemoMensajeTest, TimesBeforeTheEpochKeepNanosPositive) {
  const v1::Mensaje message = DemoMensaje(
      "p", 0, {/*payload=*/"", /*created_at=*/absl::FromUnixNanos(-1)});
  EXPECT_EQ(message.created_at().seconds(), -1);
  EXPECT_EQ(message.created_at().nanos(), 999'999'999);
}

TEST(DemoMensajesTest, RunsAndBatchesCountUpFromTheFirstSequence) {
  const std::vector<v1::Mensaje> run = DemoMensajes("q", 5, 3);
  ASSERT_EQ(run.size(), 3u);
  EXPECT_EQ(run[0].sequence(), 5u);
  EXPECT_EQ(run[2].sequence(), 7u);
  EXPECT_EQ(run[2].text(), "Mensaje 7");

  const v1::MensajeBatch batch = DemoBatch("q", 5, 3, {/*payload=*/"x"});
  ASSERT_EQ(batch.messages_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(batch.messages(i).SerializeAsString(),
              DemoMensaje("q", 5 + i, {/*payload=*/"x"}).SerializeAsString());
  }
  EXPECT_TRUE(DemoMensajes("q", 0, 0).empty());
}

TEST(ProducerPayloadTest, RepeatsTheAlphabet) {
  EXPECT_EQ(ProducerPayload(0), "");
  EXPECT_EQ(ProducerPayload(28), "abcdefghijklmnopqrstuvwxyzab");
}

}  // namespace
}  // namespace messaging
