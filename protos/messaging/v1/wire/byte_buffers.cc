#include "protos/messaging/v1/wire/byte_buffers.h"

namespace messaging {

grpc::ByteBuffer ByteBufferOf(absl::string_view bytes) {
  grpc::Slice slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

grpc::ByteBuffer ByteBufferOwning(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  grpc::Slice slice(
      owned->data(), owned->size(),
      [](void* string) { delete static_cast<std::string*>(string); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

bool ContiguousSlice(const grpc::ByteBuffer& buffer, grpc::Slice* slice) {
  return buffer.TrySingleSlice(slice).ok() ||
         buffer.DumpToSingleSlice(slice).ok();
}

}  // namespace messaging
