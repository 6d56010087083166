#include "protos/messaging/v1/wire/mensaje_encoder.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/messaging.pb.h"
#include "testing/mensajes.h"

namespace messaging {
namespace {

// Encodes one message into a string of its own, checking it fits the room
// the encoder asks for.
std::string Encode(MensajeEncoder& encoder, uint64_t sequence,
                   absl::Time created_at, MensajeEncoder::Framing framing) {
  std::string wire(encoder.max_encoded_size(), '\0');
  const char* end = encoder.Encode(sequence, created_at, framing, wire.data());
  EXPECT_LE(end, wire.data() + wire.size());
  wire.resize(end - wire.data());
  return wire;
}

TEST(MensajeEncoderTest, WritesWhatTheGeneratedSerializerWrites) {
  const uint64_t sequences[] = {
      0, 1, 127, 128, 1ull << 63, std::numeric_limits<uint64_t>::max()};
  const absl::Time times[] = {
      absl::UnixEpoch(), absl::FromUnixNanos(-1),
      absl::FromUnixMillis(1'700'000'000'123), absl::FromUnixSeconds(1),
      absl::FromUnixSeconds(253402300799)};  // 9999-12-31T23:59:59Z
  for (const std::string& producer_id :
       {std::string("p"), std::string(200, 'q')}) {
    for (const size_t payload_bytes : {0u, 1u, 64u, 200u}) {
      MensajeEncoder encoder(producer_id, payload_bytes);
      for (const uint64_t sequence : sequences) {
        for (const absl::Time created_at : times) {
          const std::string wire =
              Encode(encoder, sequence, created_at, MensajeEncoder::kMessage);
          // The same message built with the generated code.
          const v1::Mensaje expected =
              DemoMensaje(producer_id, sequence,
                          {ProducerPayload(payload_bytes), created_at});
          ASSERT_EQ(absl::CEscape(wire),
                    absl::CEscape(expected.SerializeAsString()))
              << expected.DebugString();
        }
      }
    }
  }
}

TEST(MensajeEncoderTest, BatchElementsMakeAMensajeBatch) {
  MensajeEncoder encoder("host-a", 64);
  const absl::Time now = absl::FromUnixMillis(1'700'000'000'123);
  std::string wire;
  for (uint64_t sequence = 41; sequence < 44; ++sequence) {
    wire += Encode(encoder, sequence, now, MensajeEncoder::kBatchElement);
  }
  const v1::MensajeBatch expected =
      DemoBatch("host-a", 41, 3, {ProducerPayload(64), now});
  EXPECT_EQ(absl::CEscape(wire), absl::CEscape(expected.SerializeAsString()));
  v1::MensajeBatch parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.messages(2).text(), "Mensaje 43");
}

TEST(MensajeEncoderTest, ConsecutiveSequencesCountUpAcrossEveryDigit) {
  MensajeEncoder encoder("p", 8);
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  // Runs across 9 -> 10, 99 -> 100, ..., and up to the largest sequence,
  // then back to 0 (which is no successor).
  std::vector<uint64_t> starts = {0, max - 3};
  for (uint64_t nines = 9; nines < max / 10; nines = nines * 10 + 9) {
    starts.push_back(nines - 2);
  }
  for (const uint64_t start : starts) {
    for (uint64_t sequence = start; sequence - start < 5; ++sequence) {
      ASSERT_EQ(Encode(encoder, sequence, now, MensajeEncoder::kMessage),
                DemoMensaje("p", sequence, {ProducerPayload(8), now})
                    .SerializeAsString())
          << sequence;
      if (sequence == max) break;
    }
  }
  EXPECT_EQ(Encode(encoder, 0, now, MensajeEncoder::kMessage),
            DemoMensaje("p", 0, {ProducerPayload(8), now}).SerializeAsString());
}

}  // namespace
}  // namespace messaging
