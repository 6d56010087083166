// Whether the message a server call just read carried the gRPC compressed
// flag without gRPC having inflated it: the call named no algorithm
// (no grpc-encoding, or "identity") or one gRPC does not know, and gRPC
// 1.51 then hands the bytes on as if they were plain. The wire protocol
// makes that an error (the sender lied, or compressed with something the
// receiver cannot read), so the consumer refuses such a message rather
// than guess.
//
// gRPC 1.51 shows the flag only through grpc_call_test_only_get_message_
// flags(), which its library exports but no installed header declares; the
// declaration below is the one of src/core/lib/surface/call.h in 1.51.
// compression_test pins what it returns, so a gRPC that changes it fails
// there first.
//
// Usage, in a read reactor's OnReadDone:
//   if (ReadMarkedCompressedButNotInflated(context)) { /* refuse */ }
#ifndef CONSUMER_SERVICE_COMPRESSED_FLAG_H_
#define CONSUMER_SERVICE_COMPRESSED_FLAG_H_

#include "grpcpp/server_context.h"

namespace messaging {

bool ReadMarkedCompressedButNotInflated(grpc::CallbackServerContext* context);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_COMPRESSED_FLAG_H_
