#include "testing/mensajes.h"

#include <ctime>

#include "absl/strings/str_cat.h"

namespace messaging {

v1::Mensaje DemoMensaje(absl::string_view producer_id, uint64_t sequence,
                        const MensajeExtras& extras) {
  v1::Mensaje message;
  message.set_producer_id(std::string(producer_id));
  message.set_sequence(sequence);
  message.set_text(absl::StrCat("Mensaje ", sequence));
  if (!extras.payload.empty()) message.set_payload(extras.payload);
  if (extras.created_at.has_value()) {
    // A timespec's nanoseconds are never negative, as a Timestamp's must not
    // be, and it holds any absl::Time (unlike Unix nanoseconds in int64).
    const timespec time = absl::ToTimespec(*extras.created_at);
    message.mutable_created_at()->set_seconds(time.tv_sec);
    message.mutable_created_at()->set_nanos(static_cast<int32_t>(time.tv_nsec));
  }
  return message;
}

std::vector<v1::Mensaje> DemoMensajes(absl::string_view producer_id,
                                      uint64_t first_sequence, uint64_t count,
                                      const MensajeExtras& extras) {
  std::vector<v1::Mensaje> messages;
  messages.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    messages.push_back(DemoMensaje(producer_id, first_sequence + i, extras));
  }
  return messages;
}

v1::MensajeBatch DemoBatch(absl::string_view producer_id,
                           uint64_t first_sequence, uint64_t count,
                           const MensajeExtras& extras) {
  v1::MensajeBatch batch;
  for (uint64_t i = 0; i < count; ++i) {
    *batch.add_messages() =
        DemoMensaje(producer_id, first_sequence + i, extras);
  }
  return batch;
}

std::string ProducerPayload(size_t bytes) {
  std::string payload(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) {
    payload[i] = static_cast<char>('a' + i % 26);
  }
  return payload;
}

}  // namespace messaging
