#include "protos/messaging/v1/wire/mensaje_encoder.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {
namespace {

// The same message built with the generated code.
v1::Mensaje Generated(const std::string& producer_id, uint64_t sequence,
                      absl::Time created_at, size_t payload_bytes) {
  v1::Mensaje message;
  message.set_producer_id(producer_id);
  message.set_sequence(sequence);
  message.set_text(absl::StrCat("Mensaje ", sequence));
  std::string payload(payload_bytes, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = 'a' + i % 26;
  message.set_payload(payload);
  const timespec time = absl::ToTimespec(created_at);
  message.mutable_created_at()->set_seconds(time.tv_sec);
  message.mutable_created_at()->set_nanos(static_cast<int32_t>(time.tv_nsec));
  return message;
}

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
          const v1::Mensaje expected =
              Generated(producer_id, sequence, created_at, payload_bytes);
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
  v1::MensajeBatch expected;
  for (uint64_t sequence = 41; sequence < 44; ++sequence) {
    wire += Encode(encoder, sequence, now, MensajeEncoder::kBatchElement);
    *expected.add_messages() = Generated("host-a", sequence, now, 64);
  }
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
                Generated("p", sequence, now, 8).SerializeAsString())
          << sequence;
      if (sequence == max) break;
    }
  }
  EXPECT_EQ(Encode(encoder, 0, now, MensajeEncoder::kMessage),
            Generated("p", 0, now, 8).SerializeAsString());
}

}  // namespace
}  // namespace messaging
