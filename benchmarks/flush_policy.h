// Decides, write by write, which writes of one bare floor stream gRPC may
// hold unsent (the buffer hint), as the producer's WriteCoalescer does for
// writes that follow at once: a write is sent when it reaches a multiple of
// `flush_every` messages, or once the first write held has waited
// `flush_delay`. Without the time bound, at 1,000 streams (each writing
// every few milliseconds) the count alone held a message for more than a
// second, which the producer never does.
//
// Usage:
//   FlushPolicy flush(/*flush_every=*/256, absl::Microseconds(250));
//   // For the write that takes the stream from `before` to `after` messages:
//   StartWrite(&message, flush.OptionsOfWrite(before, after, absl::Now()));
#ifndef BENCHMARKS_FLUSH_POLICY_H_
#define BENCHMARKS_FLUSH_POLICY_H_

#include <cstdint>

#include "absl/time/time.h"
#include "grpcpp/impl/call_op_set.h"

namespace messaging {

class FlushPolicy {
 public:
  // `flush_delay` InfiniteDuration: the count alone decides.
  FlushPolicy(int flush_every, absl::Duration flush_delay)
      : flush_every_(flush_every), flush_delay_(flush_delay) {}

  // The options of the write made at `now` that takes the stream from
  // `before` to `after` messages: the buffer hint, or none to send it with
  // every write held before it.
  grpc::WriteOptions OptionsOfWrite(int64_t before, int64_t after,
                                    absl::Time now);

 private:
  const int flush_every_;
  const absl::Duration flush_delay_;
  // When the first write held was made; InfiniteFuture when none is.
  absl::Time held_since_ = absl::InfiniteFuture();
};

}  // namespace messaging

#endif  // BENCHMARKS_FLUSH_POLICY_H_
