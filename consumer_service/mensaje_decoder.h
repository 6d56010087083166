// Decodes the wire bytes of a Mensaje or a MensajeBatch into a message kept
// from read to read, several times faster than the generated parser.
//
// The generated parser clears a message before parsing into it, and proto3's
// Clear() frees the created_at Timestamp, so a reused batch paid an
// allocation and a free per message, besides the parser's general
// machinery. The decoder writes the fields of the encoding producers send
// (each known field at most once, one-byte tags, ASCII strings) in place.
// Anything else (unknown or repeated fields, non-ASCII text, overlong
// varints, malformed bytes) goes to the generated parser, so the outcome is
// always exactly the generated parser's.
//
// Usage:
//   v1::MensajeBatch batch;  // kept from read to read
//   switch (DecodeMensajeBatch(bytes, &batch)) {
//     case Decoded::kMalformed: /* not a MensajeBatch: end the stream */
//     case Decoded::kByGeneratedParser: /* make `batch` anew after use */
//     case Decoded::kInPlace: /* use `batch` */
//   }
#ifndef CONSUMER_SERVICE_MENSAJE_DECODER_H_
#define CONSUMER_SERVICE_MENSAJE_DECODER_H_

#include "absl/strings/string_view.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

enum class Decoded {
  // The message holds what `bytes` encode, written over its old fields.
  kInPlace,
  // The generated parser decoded `bytes`. The message may now hold unknown
  // fields, which a later in-place decode would not clear: give the next
  // read a new message.
  kByGeneratedParser,
  // `bytes` are not a valid encoding; the message holds anything.
  kMalformed,
};

// `message` (`batch`) must hold no unknown fields: new, or last decoded
// kInPlace.
Decoded DecodeMensaje(absl::string_view bytes, v1::Mensaje* message);
Decoded DecodeMensajeBatch(absl::string_view bytes, v1::MensajeBatch* batch);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_MENSAJE_DECODER_H_
