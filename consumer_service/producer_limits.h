// The bounds on what a producer makes the consumer keep: how long a
// producer id may be, and where every producer's sequence ends. Both are
// part of the contract (protos/messaging/v1/messaging.proto says them);
// the number of producer ids is bounded by ProducerLedger's max_producers.
//
// Why: the consumer keeps every producer id it accepted for as long as its
// log lives (memory, snapshots, GetStats), so an id must be small; and a
// producer's next sequence is its last one plus 1, which must not wrap.
//
// Usage:
//   absl::Status valid =
//       CheckProducerIdSize(id, "GetProducerStateRequest.producer_id");
//   if (sequence >= kSequenceLimit) ...
#ifndef CONSUMER_SERVICE_PRODUCER_LIMITS_H_
#define CONSUMER_SERVICE_PRODUCER_LIMITS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace messaging {

inline constexpr size_t kMaxProducerIdBytes = 256;

// Every sequence is below this (2^63), so a next sequence, at most this,
// never wraps to 0.
inline constexpr uint64_t kSequenceLimit = uint64_t{1} << 63;

// OK, or INVALID_ARGUMENT saying that the producer id `what` (the field,
// and where it is) is longer than kMaxProducerIdBytes.
absl::Status CheckProducerIdSize(absl::string_view producer_id,
                                 absl::string_view what);

// OK, or INVALID_ARGUMENT saying that the sequence `what` is not below
// kSequenceLimit.
absl::Status CheckSequence(uint64_t sequence, absl::string_view what);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_PRODUCER_LIMITS_H_
