#include "protos/messaging/v1/wire/byte_buffers.h"

#include <string>
#include <utility>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

// Slices need gRPC's core initialized, as in a process with a channel.
class ByteBuffersTest : public testing::Test {
 protected:
  grpc::internal::GrpcLibraryInitializer initializer_;
  grpc::GrpcLibraryCodegen library_;
};

TEST_F(ByteBuffersTest, ACopyOutlivesTheBytesItWasMadeFrom) {
  grpc::ByteBuffer buffer;
  {
    const std::string bytes(1000, 'x');
    buffer = ByteBufferOf(bytes);
  }
  grpc::Slice slice;
  ASSERT_TRUE(ContiguousSlice(buffer, &slice));
  EXPECT_EQ(AsStringView(slice), std::string(1000, 'x'));
}

TEST_F(ByteBuffersTest, AnOwningBufferHoldsTheSameBytesWithoutACopy) {
  std::string bytes(64 * 1024, 'b');
  bytes[0] = 'a';
  const char* data = bytes.data();
  grpc::ByteBuffer buffer = ByteBufferOwning(std::move(bytes));
  grpc::Slice slice;
  ASSERT_TRUE(ContiguousSlice(buffer, &slice));
  EXPECT_EQ(reinterpret_cast<const char*>(slice.begin()), data);
  ASSERT_EQ(slice.size(), 64u * 1024);
  EXPECT_EQ(AsStringView(slice).substr(0, 2), "ab");
  // A copy of the buffer shares the bytes and keeps them after the first
  // is gone (freed with the last: LeakSanitizer checks under --config=asan).
  grpc::ByteBuffer copy = buffer;
  buffer.Clear();
  grpc::Slice kept;
  ASSERT_TRUE(ContiguousSlice(copy, &kept));
  EXPECT_EQ(reinterpret_cast<const char*>(kept.begin()), data);
}

}  // namespace
}  // namespace messaging
