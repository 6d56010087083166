// Decodes the wire bytes of a Mensaje or a MensajeBatch into views of them
// (MensajeView), copying no field, several times faster than the generated
// parser.
//
// The decoder reads the fields of the encoding producers send (each known
// field at most once, one-byte tags, ASCII strings) where they lie.
// Anything else (unknown or repeated fields, non-ASCII text, overlong
// varints, malformed bytes) goes to the generated parser, and the views
// then point into what it parsed; so the outcome is always exactly the
// generated parser's.
//
// Usage:
//   DecodeScratch scratch;  // kept from read to read
//   if (DecodeMensajeBatch(bytes, &scratch.views, &scratch.parsed) ==
//       Decoded::kMalformed) {
//     /* not a MensajeBatch: end the stream */
//   }
//   // The views are valid while `bytes` and `scratch` are, unchanged.
//   for (const MensajeView& message : scratch.views) ...
#ifndef PROTOS_MESSAGING_V1_WIRE_MENSAJE_DECODER_H_
#define PROTOS_MESSAGING_V1_WIRE_MENSAJE_DECODER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "protos/messaging/v1/messaging.pb.h"
#include "protos/messaging/v1/wire/mensaje_view.h"

namespace messaging {

enum class Decoded {
  // The views point into `bytes`.
  kInPlace,
  // The generated parser decoded `bytes`; the views point into `parsed`.
  kByGeneratedParser,
  // `bytes` are not a valid encoding; the views hold anything.
  kMalformed,
};

// What the generated parser decodes into, when the in-place path leaves
// `bytes` to it: the messages (a lone Mensaje as the only one), and the
// encoding of each, made again from it.
struct ParsedMessages {
  v1::MensajeBatch batch;
  std::vector<std::string> encodings;
};

// Where reads are decoded, kept from read to read: once it has grown to
// the reads, decoding in place allocates nothing.
struct DecodeScratch {
  std::vector<MensajeView> views;
  ParsedMessages parsed;
};

Decoded DecodeMensaje(absl::string_view bytes, MensajeView* view,
                      ParsedMessages* parsed);
// `views` gets one view per message of the batch.
Decoded DecodeMensajeBatch(absl::string_view bytes,
                           std::vector<MensajeView>* views,
                           ParsedMessages* parsed);

}  // namespace messaging

#endif  // PROTOS_MESSAGING_V1_WIRE_MENSAJE_DECODER_H_
