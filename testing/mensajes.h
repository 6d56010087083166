// Builders of the Mensaje that tests send and expect: the demo producer's
// ("Mensaje <sequence>" of a producer id), alone, as a run of sequences, or
// as a MensajeBatch, with an optional payload and creation time.
//
// Usage:
//   v1::Mensaje one = DemoMensaje("p", 7);
//   std::vector<v1::Mensaje> run =
//       DemoMensajes("p", /*first_sequence=*/0, /*count=*/3);
//   v1::MensajeBatch batch = DemoBatch(
//       "p", 0, 16, {/*payload=*/ProducerPayload(64), /*created_at=*/now});
#ifndef TESTING_MENSAJES_H_
#define TESTING_MENSAJES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

// The fields of a demo Mensaje besides its producer id, sequence and text.
struct MensajeExtras {
  std::string payload;                   // empty: no payload field
  std::optional<absl::Time> created_at;  // unset: no created_at field
};

// The demo producer's message `sequence` of `producer_id`: its text is
// "Mensaje <sequence>".
v1::Mensaje DemoMensaje(absl::string_view producer_id, uint64_t sequence,
                        const MensajeExtras& extras = {});

// `count` demo messages of `producer_id` from `first_sequence` on.
std::vector<v1::Mensaje> DemoMensajes(absl::string_view producer_id,
                                      uint64_t first_sequence, uint64_t count,
                                      const MensajeExtras& extras = {});

// The same messages in one MensajeBatch.
v1::MensajeBatch DemoBatch(absl::string_view producer_id,
                           uint64_t first_sequence, uint64_t count,
                           const MensajeExtras& extras = {});

// The payload producer_service sends with --payload_bytes=`bytes`: the
// alphabet, repeated.
std::string ProducerPayload(size_t bytes);

}  // namespace messaging

#endif  // TESTING_MENSAJES_H_
