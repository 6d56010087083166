// Encodes the demo's messages of one producer straight into protobuf wire
// bytes, byte for byte what the generated serializer writes for the same
// Mensaje, at a fraction of its cost: the fields that never change
// (producer_id, payload) are encoded once, and no Mensaje object is built,
// sized, serialized, and recycled per message.
//
// Usage:
//   MensajeEncoder encoder("host-1", /*payload_bytes=*/64);
//   std::string batch;  // a MensajeBatch of two messages
//   encoder.Append(0, absl::Now(), MensajeEncoder::kBatchElement, &batch);
//   encoder.Append(1, absl::Now(), MensajeEncoder::kBatchElement, &batch);
#ifndef PRODUCER_SERVICE_MENSAJE_ENCODER_H_
#define PRODUCER_SERVICE_MENSAJE_ENCODER_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace messaging {

class MensajeEncoder {
 public:
  enum Framing {
    // A Mensaje on its own, as a Consume stream sends it.
    kMessage,
    // An element of MensajeBatch.messages: a MensajeBatch is its elements
    // one after another.
    kBatchElement,
  };

  MensajeEncoder(std::string producer_id, int64_t payload_bytes);

  // Appends to `wire` the Mensaje of this producer with `sequence`, the
  // text "Mensaje <sequence>", the payload, and `created_at`.
  void Append(uint64_t sequence, absl::Time created_at, Framing framing,
              std::string* wire) const;

  const std::string& producer_id() const { return producer_id_; }

 private:
  const std::string producer_id_;
  // Fields 1 (producer_id) and 4 (payload), encoded once.
  const std::string producer_id_field_;
  const std::string payload_field_;
};

}  // namespace messaging

#endif  // PRODUCER_SERVICE_MENSAJE_ENCODER_H_
