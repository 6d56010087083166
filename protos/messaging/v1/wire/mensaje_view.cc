#include "protos/messaging/v1/wire/mensaje_view.h"

namespace messaging {

MensajeView ViewOf(const v1::Mensaje& message, std::string* encoding) {
  message.SerializeToString(encoding);
  MensajeView view;
  view.producer_id = message.producer_id();
  view.sequence = message.sequence();
  view.text = message.text();
  view.payload = message.payload();
  view.has_created_at = message.has_created_at();
  view.created_at_seconds = message.created_at().seconds();
  view.created_at_nanos = message.created_at().nanos();
  view.encoding = *encoding;
  return view;
}

}  // namespace messaging
