#include "producer_service/mensaje_encoder.h"

#include <cstdint>
#include <limits>
#include <string>

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
      const MensajeEncoder encoder(producer_id, payload_bytes);
      for (const uint64_t sequence : sequences) {
        for (const absl::Time created_at : times) {
          std::string wire;
          encoder.Append(sequence, created_at, MensajeEncoder::kMessage, &wire);
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
  const MensajeEncoder encoder("host-a", 64);
  const absl::Time now = absl::FromUnixMillis(1'700'000'000'123);
  std::string wire;
  v1::MensajeBatch expected;
  for (uint64_t sequence = 41; sequence < 44; ++sequence) {
    encoder.Append(sequence, now, MensajeEncoder::kBatchElement, &wire);
    *expected.add_messages() = Generated("host-a", sequence, now, 64);
  }
  EXPECT_EQ(absl::CEscape(wire), absl::CEscape(expected.SerializeAsString()));
  v1::MensajeBatch parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.messages(2).text(), "Mensaje 43");
}

}  // namespace
}  // namespace messaging
