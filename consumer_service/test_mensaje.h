// For the consumer's unit tests: a demo Mensaje of one producer.
//
// Usage:
//   const ViewedMensaje view(TestMensaje("p1", 7));  // text "Mensaje 7"
#ifndef CONSUMER_SERVICE_TEST_MENSAJE_H_
#define CONSUMER_SERVICE_TEST_MENSAJE_H_

#include <cstdint>
#include <string>

#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

inline v1::Mensaje TestMensaje(const std::string& producer_id,
                               uint64_t sequence) {
  v1::Mensaje message;
  message.set_producer_id(producer_id);
  message.set_sequence(sequence);
  message.set_text("Mensaje " + std::to_string(sequence));
  return message;
}

}  // namespace messaging

#endif  // CONSUMER_SERVICE_TEST_MENSAJE_H_
