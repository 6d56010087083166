// The bare client of grpc_floor_benchmark: it writes messages as fast as
// gRPC takes them and does nothing else, so that what it costs is gRPC's
// own client path. Per-message, a Mensaje per write on Consume; batched, a
// MensajeBatch per write on ConsumeBatches, encoded once before the run and
// sent as the same bytes on every write.
//
// Usage (in a process of its own, against RunFloorServer's port):
//   FloorLoad load;
//   load.messages = 1'000'000;
//   load.batch_size = 256;
//   absl::Status sent = RunFloorClient(ClientApi::kCallback, port, load);
#ifndef BENCHMARKS_FLOOR_CLIENT_H_
#define BENCHMARKS_FLOOR_CLIENT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace messaging {

enum class ClientApi { kCallback, kSync };

// What the client sends.
struct FloorLoad {
  // In all, split as evenly as can be over the streams.
  int64_t messages = 1;
  // Concurrent streams on the client's one channel, as the producer's
  // streams share its channel.
  int streams = 1;
  int64_t payload_bytes = 64;
  // Each write that reaches a multiple of this many messages is sent; the
  // others carry the buffer hint, as the producer coalesces writes. With
  // batches at least this large, every write is sent.
  int flush_every = 256;
  // A stream's write is also sent once the first write it holds is this
  // old, as the producer's --batch_delay bounds how long it holds writes:
  // at 1,000 streams each stream writes every few milliseconds, and a
  // count alone held a message for more than a second.
  // InfiniteDuration: the count alone decides.
  absl::Duration flush_delay = absl::Microseconds(250);
  // 0: a Mensaje per write on Consume. Otherwise, MensajeBatch of this many
  // on ConsumeBatches; a stream's last batch holds what is left.
  int batch_size = 0;
};

// Sends `load` to the server at 127.0.0.1:`port` with the client API `api`;
// an error saying what differs if the server did not read all of it.
absl::Status RunFloorClient(ClientApi api, int port, const FloorLoad& load);

}  // namespace messaging

#endif  // BENCHMARKS_FLOOR_CLIENT_H_
