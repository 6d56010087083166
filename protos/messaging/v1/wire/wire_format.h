// The protobuf wire format of the messages the hand-written codec reads and
// writes (MensajeEncoder, the in-place decoder): each field's tag, derived
// from the generated field numbers, and the list of every field the codec
// handles, which schema_pin_test holds against the .proto's descriptors.
//
// A field added to messaging.proto that is not listed here fails that test:
// the encoder would never write it, and the decoder would send every message
// carrying it to the slow generated parser.
//
// Usage:
//   *out++ = wire::kSequenceTag;  // then the varint
//   for (const wire::CodecField& field : wire::kCodecFields) ...
#ifndef PROTOS_MESSAGING_V1_WIRE_WIRE_FORMAT_H_
#define PROTOS_MESSAGING_V1_WIRE_WIRE_FORMAT_H_

#include <cstdint>

#include "google/protobuf/timestamp.pb.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging::wire {

inline constexpr uint8_t kVarint = 0;
inline constexpr uint8_t kLengthDelimited = 2;

// (field number << 3) | wire type; one byte for fields 1 to 15, the only
// ones the codec writes or reads in place.
constexpr uint8_t Tag(int field_number, uint8_t wire_type) {
  return static_cast<uint8_t>(field_number << 3 | wire_type);
}

inline constexpr uint8_t kMessagesTag =
    Tag(v1::MensajeBatch::kMessagesFieldNumber, kLengthDelimited);
inline constexpr uint8_t kProducerIdTag =
    Tag(v1::Mensaje::kProducerIdFieldNumber, kLengthDelimited);
inline constexpr uint8_t kSequenceTag =
    Tag(v1::Mensaje::kSequenceFieldNumber, kVarint);
inline constexpr uint8_t kTextTag =
    Tag(v1::Mensaje::kTextFieldNumber, kLengthDelimited);
inline constexpr uint8_t kPayloadTag =
    Tag(v1::Mensaje::kPayloadFieldNumber, kLengthDelimited);
inline constexpr uint8_t kCreatedAtTag =
    Tag(v1::Mensaje::kCreatedAtFieldNumber, kLengthDelimited);
inline constexpr uint8_t kSecondsTag =
    Tag(google::protobuf::Timestamp::kSecondsFieldNumber, kVarint);
inline constexpr uint8_t kNanosTag =
    Tag(google::protobuf::Timestamp::kNanosFieldNumber, kVarint);

// A field the codec encodes and decodes in place.
struct CodecField {
  const char* message;  // full protobuf name
  const char* name;
  uint8_t tag;
};

inline constexpr CodecField kCodecFields[] = {
    {"messaging.v1.MensajeBatch", "messages", kMessagesTag},
    {"messaging.v1.Mensaje", "producer_id", kProducerIdTag},
    {"messaging.v1.Mensaje", "sequence", kSequenceTag},
    {"messaging.v1.Mensaje", "text", kTextTag},
    {"messaging.v1.Mensaje", "payload", kPayloadTag},
    {"messaging.v1.Mensaje", "created_at", kCreatedAtTag},
    {"google.protobuf.Timestamp", "seconds", kSecondsTag},
    {"google.protobuf.Timestamp", "nanos", kNanosTag},
};

}  // namespace messaging::wire

#endif  // PROTOS_MESSAGING_V1_WIRE_WIRE_FORMAT_H_
