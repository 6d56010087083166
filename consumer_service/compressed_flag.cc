#include "consumer_service/compressed_flag.h"

#include <cstdint>

// gRPC 1.51, src/core/lib/surface/call.h (C++ linkage there too).
uint32_t grpc_call_test_only_get_message_flags(grpc_call* call);

namespace messaging {
namespace {

// GRPC_WRITE_INTERNAL_COMPRESS (src/core/lib/surface/call.h): the received
// message's compressed flag, still set because nothing decompressed it.
// (A message gRPC did inflate carries GRPC_WRITE_INTERNAL_TEST_ONLY_WAS_
// COMPRESSED, 0x40000000, instead.)
constexpr uint32_t kCompressedNotInflated = 0x80000000u;

}  // namespace

bool ReadMarkedCompressedButNotInflated(grpc::CallbackServerContext* context) {
  return (grpc_call_test_only_get_message_flags(context->c_call()) &
          kCompressedNotInflated) != 0;
}

}  // namespace messaging
