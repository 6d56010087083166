// A Mensaje as the consumer checks, counts and logs it, without copying it
// out of the read that brought it: the fields and the encoding point into
// bytes kept elsewhere (the read's buffer, or a v1::Mensaje that the
// generated parser filled), and are valid only as long as those are.
//
// Usage:
//   std::string encoding;
//   const MensajeView view = ViewOf(message, &encoding);
//   absl::Status valid = stream.Check(view);
//   log->Append({view.encoding});
#ifndef PROTOS_MESSAGING_V1_WIRE_MENSAJE_VIEW_H_
#define PROTOS_MESSAGING_V1_WIRE_MENSAJE_VIEW_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

struct MensajeView {
  absl::string_view producer_id;
  uint64_t sequence = 0;
  absl::string_view text;
  absl::string_view payload;
  bool has_created_at = false;
  int64_t created_at_seconds = 0;
  int32_t created_at_nanos = 0;
  // The message's protobuf encoding, which parses to the same fields: what
  // the log keeps.
  absl::string_view encoding;
};

// A view of `message`, whose encoding is written to `*encoding`; the view
// is valid as long as both are, unchanged.
MensajeView ViewOf(const v1::Mensaje& message, std::string* encoding);

}  // namespace messaging

#endif  // PROTOS_MESSAGING_V1_WIRE_MENSAJE_VIEW_H_
