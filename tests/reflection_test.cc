// Calls server reflection the way grpcurl does for `list` and `describe`:
// from outside, against the real consumer_service binary. (Linking the
// reflection client into the server's process would also clash with the
// copy of reflection.proto inside libgrpc++_reflection.)
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "testing/subprocess.h"

namespace messaging {
namespace {

using grpc::reflection::v1alpha::ServerReflection;
using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;
using testing::Contains;

ServerReflectionResponse Ask(const ConsumerProcess& consumer,
                             const ServerReflectionRequest& request) {
  auto stub = ServerReflection::NewStub(grpc::CreateChannel(
      consumer.target(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  auto stream = stub->ServerReflectionInfo(&context);
  EXPECT_TRUE(stream->Write(request));
  stream->WritesDone();
  ServerReflectionResponse response;
  EXPECT_TRUE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());
  return response;
}

TEST(ReflectionTest, ListsTheConsumerHealthAndReflectionServices) {
  ConsumerProcess consumer = ConsumerProcess::Start({});
  ServerReflectionRequest request;
  request.set_list_services("");
  ServerReflectionResponse response = Ask(consumer, request);

  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.push_back(service.name());
  }
  EXPECT_THAT(names, Contains("messaging.v1.ConsumerService"));
  EXPECT_THAT(names, Contains("grpc.health.v1.Health"));
  EXPECT_THAT(names, Contains("grpc.reflection.v1alpha.ServerReflection"));
}

TEST(ReflectionTest, DescribesConsumeAsClientStreaming) {
  ConsumerProcess consumer = ConsumerProcess::Start({});
  ServerReflectionRequest request;
  request.set_file_containing_symbol("messaging.v1.ConsumerService");
  ServerReflectionResponse response = Ask(consumer, request);

  const auto& files =
      response.file_descriptor_response().file_descriptor_proto();
  ASSERT_FALSE(files.empty()) << response.DebugString();
  google::protobuf::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(files[0]));
  EXPECT_EQ(file.package(), "messaging.v1");
  ASSERT_EQ(file.service_size(), 1);
  const auto& service = file.service(0);
  EXPECT_EQ(service.name(), "ConsumerService");

  bool found_consume = false;
  for (const auto& method : service.method()) {
    if (method.name() != "Consume") continue;
    found_consume = true;
    EXPECT_TRUE(method.client_streaming());
    EXPECT_FALSE(method.server_streaming());
    EXPECT_EQ(method.input_type(), ".messaging.v1.Mensaje");
    EXPECT_EQ(method.output_type(), ".messaging.v1.ConsumeSummary");
  }
  EXPECT_TRUE(found_consume);
}

TEST(ReflectionTest, ResolvesTheMessageTypeForRequestJson) {
  // grpcurl -d needs Mensaje's descriptor to turn JSON into the message.
  ConsumerProcess consumer = ConsumerProcess::Start({});
  ServerReflectionRequest request;
  request.set_file_containing_symbol("messaging.v1.Mensaje");
  ServerReflectionResponse response = Ask(consumer, request);
  EXPECT_FALSE(
      response.file_descriptor_response().file_descriptor_proto().empty())
      << response.DebugString();
}

}  // namespace
}  // namespace messaging
