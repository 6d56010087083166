// Encodes the demo's messages of one producer straight into protobuf wire
// bytes, byte for byte what the generated serializer writes for the same
// Mensaje, at a fraction of its cost: the fields that never change
// (producer_id, payload) are encoded once, and no Mensaje object is built,
// sized, serialized, and recycled per message.
//
// Usage:
//   MensajeEncoder encoder("host-1", /*payload_bytes=*/64);
//   std::string batch(2 * encoder.max_encoded_size(), '\0');
//   char* end = encoder.Encode(0, absl::Now(), MensajeEncoder::kBatchElement,
//                              batch.data());
//   end = encoder.Encode(1, absl::Now(), MensajeEncoder::kBatchElement, end);
//   batch.resize(end - batch.data());  // a MensajeBatch of two messages
#ifndef PROTOS_MESSAGING_V1_WIRE_MENSAJE_ENCODER_H_
#define PROTOS_MESSAGING_V1_WIRE_MENSAJE_ENCODER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
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

  // Writes at `out` the Mensaje of this producer with `sequence`, the text
  // "Mensaje <sequence>", the payload, and `created_at`; returns the end of
  // what it wrote. `out` must have room for max_encoded_size() bytes:
  // writing into room made beforehand spares the caller growing a string,
  // which fills it with zeros first, for every message.
  char* Encode(uint64_t sequence, absl::Time created_at, Framing framing,
               char* out);

  // The most bytes Encode() writes, whatever the sequence and time.
  size_t max_encoded_size() const { return max_encoded_size_; }
  const std::string& producer_id() const { return producer_id_; }

 private:
  // The decimal digits of `sequence`. Usually it is one more than the last
  // one, and counting up the last digits is cheaper than formatting anew.
  absl::string_view Digits(uint64_t sequence);

  const std::string producer_id_;
  // Fields 1 (producer_id) and 4 (payload), encoded once.
  const std::string producer_id_field_;
  const std::string payload_field_;
  const size_t max_encoded_size_;
  // The digits of the last sequence encoded (at most 20 for a uint64).
  char digits_[20];
  size_t digits_size_ = 0;
  uint64_t digits_sequence_ = 0;
};

}  // namespace messaging

#endif  // PROTOS_MESSAGING_V1_WIRE_MENSAJE_ENCODER_H_
