// The HTTP/2 paths of ConsumerService's streaming methods, for the raw
// (ByteBuffer) calls through which the producer sends what MensajeEncoder
// wrote. They are taken from the .proto's compiled descriptor, not written
// out, so a renamed method or service cannot leave a stale path behind.
//
// Usage:
//   stub.PrepareBidiStreamingCall(&context, ConsumeBatchesPath(),
//                                 grpc::StubOptions(), reactor);
#ifndef PROTOS_MESSAGING_V1_WIRE_METHOD_PATHS_H_
#define PROTOS_MESSAGING_V1_WIRE_METHOD_PATHS_H_

#include <string>

namespace messaging {

// "/messaging.v1.ConsumerService/Consume"
const std::string& ConsumePath();
// "/messaging.v1.ConsumerService/ConsumeBatches"
const std::string& ConsumeBatchesPath();

}  // namespace messaging

#endif  // PROTOS_MESSAGING_V1_WIRE_METHOD_PATHS_H_
