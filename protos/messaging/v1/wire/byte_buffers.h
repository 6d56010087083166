// Bytes into and out of grpc::ByteBuffer, for the raw streaming calls whose
// messages both services encode and decode themselves.
//
// Usage:
//   grpc::ByteBuffer buffer = ByteBufferOf("bytes");  // copies them
//   grpc::ByteBuffer batch = ByteBufferOwning(std::move(encoded));  // takes
//   grpc::Slice slice;
//   if (ContiguousSlice(buffer, &slice)) Decode(AsStringView(slice));
#ifndef PROTOS_MESSAGING_V1_WIRE_BYTE_BUFFERS_H_
#define PROTOS_MESSAGING_V1_WIRE_BYTE_BUFFERS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace messaging {

// A buffer holding a copy of `bytes`, so the caller may reuse its memory
// whatever gRPC still holds.
grpc::ByteBuffer ByteBufferOf(absl::string_view bytes);

// A buffer that takes `bytes` over without a copy; gRPC frees them when it
// no longer holds them. For large messages (batches), whose copy and
// second buffer would double what a write in flight costs.
grpc::ByteBuffer ByteBufferOwning(std::string bytes);

// The bytes of `buffer` in one slice: the buffer's own when it has a single
// one, else a copy. False if the buffer holds nothing at all.
bool ContiguousSlice(const grpc::ByteBuffer& buffer, grpc::Slice* slice);

inline absl::string_view AsStringView(const grpc::Slice& slice) {
  return absl::string_view(reinterpret_cast<const char*>(slice.begin()),
                           slice.size());
}

}  // namespace messaging

#endif  // PROTOS_MESSAGING_V1_WIRE_BYTE_BUFFERS_H_
