// For tests of the code that takes MensajeViews: a v1::Mensaje together
// with a view of it, valid as long as this object, which converts to the
// view where one is expected; and how to compare a view with a message.
//
// Usage:
//   v1::Mensaje message;
//   message.set_producer_id("p1");
//   EXPECT_TRUE(stream.Check(ViewedMensaje(message)).ok());
//   EXPECT_TRUE(ViewsTheSameMessage(decoded_view, message));
#ifndef PROTOS_MESSAGING_V1_WIRE_VIEWED_MENSAJE_H_
#define PROTOS_MESSAGING_V1_WIRE_VIEWED_MENSAJE_H_

#include <string>
#include <utility>

#include "protos/messaging/v1/messaging.pb.h"
#include "protos/messaging/v1/wire/mensaje_view.h"

namespace messaging {

class ViewedMensaje {
 public:
  explicit ViewedMensaje(v1::Mensaje message)
      : message_(std::move(message)), view_(ViewOf(message_, &encoding_)) {}
  // The view points into this object.
  ViewedMensaje(const ViewedMensaje&) = delete;
  ViewedMensaje& operator=(const ViewedMensaje&) = delete;

  // Implicit, so that a test reads like the code under test's callers.
  operator const MensajeView&() const { return view_; }  // NOLINT

 private:
  const v1::Mensaje message_;
  std::string encoding_;
  const MensajeView view_;
};

// The fields of `view` (not its encoding) in a message of their own.
inline v1::Mensaje MensajeOf(const MensajeView& view) {
  v1::Mensaje message;
  message.set_producer_id(std::string(view.producer_id));
  message.set_sequence(view.sequence);
  message.set_text(std::string(view.text));
  message.set_payload(std::string(view.payload));
  if (view.has_created_at) {
    message.mutable_created_at()->set_seconds(view.created_at_seconds);
    message.mutable_created_at()->set_nanos(view.created_at_nanos);
  }
  return message;
}

// Whether `view` holds the fields of `message`, and an encoding that parses
// to all of it, unknown fields too: what a decoder must make of the bytes
// the generated parser made `message` of.
inline bool ViewsTheSameMessage(const MensajeView& view,
                                const v1::Mensaje& message) {
  v1::Mensaje known_fields = message;
  known_fields.DiscardUnknownFields();
  v1::Mensaje from_encoding;
  return MensajeOf(view).SerializeAsString() ==
             known_fields.SerializeAsString() &&
         from_encoding.ParseFromArray(view.encoding.data(),
                                      static_cast<int>(view.encoding.size())) &&
         from_encoding.SerializeAsString() == message.SerializeAsString();
}

}  // namespace messaging

#endif  // PROTOS_MESSAGING_V1_WIRE_VIEWED_MENSAJE_H_
