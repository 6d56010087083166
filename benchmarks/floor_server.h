// The bare server of grpc_floor_benchmark: it counts what the streams bring
// and nothing else, so that what it costs is gRPC's own server path.
// Per-message, it reads the Mensaje of each Consume stream (as the typed API
// parses them); batched, it reads each MensajeBatch of a ConsumeBatches
// stream as the raw bytes gRPC received and decodes none of them.
//
// Usage (in a process of its own):
//   RunFloorServer(ServerApi::kCallback, /*streams=*/2,
//                  [](int port) { /* tell the client where to connect */ });
//   // returns once 2 streams have ended
#ifndef BENCHMARKS_FLOOR_SERVER_H_
#define BENCHMARKS_FLOOR_SERVER_H_

#include <functional>

namespace messaging {

enum class ServerApi { kCallback, kAsync };

// Serves Consume and ConsumeBatches on an ephemeral loopback port until
// `streams` streams have ended. Each is answered with a ConsumeSummary whose
// messages_received is the count of its reads (a Mensaje each on Consume,
// a MensajeBatch each on ConsumeBatches) and, on ConsumeBatches, whose
// bytes_received is the wire bytes of its batches: what the client checks
// against what it wrote, as the server cannot count the messages of a batch
// without decoding it. `on_listening` gets the port once the server is up.
void RunFloorServer(ServerApi api, int streams,
                    const std::function<void(int)>& on_listening);

}  // namespace messaging

#endif  // BENCHMARKS_FLOOR_SERVER_H_
