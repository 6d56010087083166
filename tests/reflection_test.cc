// Calls server reflection the way grpcurl does for `list`, `describe` and
// calls without proto files: from outside, against the real
// consumer_service binary. (Linking the reflection client into the server's
// process would also clash with the copy of reflection.proto inside
// libgrpc++_reflection.)
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "testing/subprocess.h"

namespace messaging {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::DynamicMessageFactory;
using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorProto;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;
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

// The names `list` prints.
std::vector<std::string> ListServices(const ConsumerProcess& consumer) {
  ServerReflectionRequest request;
  request.set_list_services("");
  ServerReflectionResponse response = Ask(consumer, request);
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.push_back(service.name());
  }
  return names;
}

// The file named `name` in a file_descriptor_response, or a failure saying
// what the server answered instead.
testing::AssertionResult FileNamed(const ServerReflectionResponse& response,
                                   const std::string& name,
                                   FileDescriptorProto* file) {
  for (const std::string& bytes :
       response.file_descriptor_response().file_descriptor_proto()) {
    if (file->ParseFromString(bytes) && file->name() == name) {
      return testing::AssertionSuccess();
    }
  }
  return testing::AssertionFailure()
         << "no " << name << " in " << response.DebugString();
}

// What grpcurl builds from reflection alone: each file asked for by
// file_containing_symbol or file_by_filename, and every file it imports, in
// a pool of its own (not the test's compiled-in descriptors).
class ReflectedPool {
 public:
  explicit ReflectedPool(const ConsumerProcess* consumer)
      : consumer_(consumer) {}

  // The file that defines `symbol`, built with every file it imports, each
  // of them asked for by name; nullptr (and a test failure) if reflection
  // does not serve one of them.
  const FileDescriptor* AddFileContaining(const std::string& symbol) {
    ServerReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    ServerReflectionResponse response = Ask(*consumer_, request);
    const auto& files =
        response.file_descriptor_response().file_descriptor_proto();
    if (files.empty()) {
      ADD_FAILURE() << "file_containing_symbol " << symbol << ": "
                    << response.DebugString();
      return nullptr;
    }
    // The server lists the file that defines the symbol first.
    FileDescriptorProto file;
    if (!file.ParseFromString(files[0])) {
      ADD_FAILURE() << "unparsable file for " << symbol;
      return nullptr;
    }
    return Add(file);
  }

  const DescriptorPool& pool() const { return pool_; }

 private:
  const FileDescriptor* Add(const FileDescriptorProto& file) {
    if (const FileDescriptor* built = pool_.FindFileByName(file.name())) {
      return built;
    }
    for (const std::string& dependency : file.dependency()) {
      if (pool_.FindFileByName(dependency) != nullptr) continue;
      ServerReflectionRequest request;
      request.set_file_by_filename(dependency);
      FileDescriptorProto imported;
      EXPECT_TRUE(FileNamed(Ask(*consumer_, request), dependency, &imported))
          << "file_by_filename, imported by " << file.name();
      if (imported.name() != dependency || Add(imported) == nullptr) {
        return nullptr;
      }
    }
    const FileDescriptor* built = pool_.BuildFile(file);
    EXPECT_NE(built, nullptr) << "cannot build " << file.name();
    return built;
  }

  const ConsumerProcess* consumer_;
  DescriptorPool pool_;
};

// Calls a unary method with messages made from reflected descriptors only,
// as `grpcurl host:port service/method` does.
grpc::Status CallUnary(const ConsumerProcess& consumer,
                       const MethodDescriptor& method, const Message& request,
                       Message* response) {
  grpc::GenericStub stub(grpc::CreateChannel(
      consumer.target(), grpc::InsecureChannelCredentials()));
  std::string bytes;
  request.SerializeToString(&bytes);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::ClientContext context;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(
      &context,
      absl::StrCat("/", method.service()->full_name(), "/", method.name()),
      grpc::StubOptions(), &request_buffer, &response_buffer,
      [&](grpc::Status finished) {
        status = std::move(finished);
        done.Notify();
      });
  done.WaitForNotification();
  if (!status.ok()) return status;
  std::vector<grpc::Slice> slices;
  if (!response_buffer.Dump(&slices).ok()) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "unreadable response");
  }
  std::string received;
  for (const grpc::Slice& piece : slices) {
    received.append(reinterpret_cast<const char*>(piece.begin()), piece.size());
  }
  if (!response->ParseFromString(received)) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "unparsable response");
  }
  return grpc::Status::OK;
}

TEST(ReflectionTest, ListsTheConsumerHealthAndReflectionServices) {
  ConsumerProcess consumer = ConsumerProcess::Start({});
  const std::vector<std::string> names = ListServices(consumer);
  EXPECT_THAT(names, Contains("messaging.v1.ConsumerService"));
  EXPECT_THAT(names, Contains("grpc.health.v1.Health"));
  EXPECT_THAT(names, Contains("grpc.reflection.v1alpha.ServerReflection"));
}

TEST(ReflectionTest, EveryListedServiceResolvesDownToTheWellKnownTypes) {
  // `grpcurl describe` and any call need the service's file and every
  // file it imports; a listed service without them fails with "Symbol not
  // found" or "server does not expose service".
  ConsumerProcess consumer = ConsumerProcess::Start({});
  const std::vector<std::string> services = ListServices(consumer);
  ASSERT_GE(services.size(), 3u);
  ReflectedPool reflected(&consumer);
  for (const std::string& name : services) {
    SCOPED_TRACE(name);
    ASSERT_NE(reflected.AddFileContaining(name), nullptr);
    const google::protobuf::ServiceDescriptor* service =
        reflected.pool().FindServiceByName(name);
    ASSERT_NE(service, nullptr);
    EXPECT_GT(service->method_count(), 0);
  }
  // messaging.proto's imports came by file_by_filename.
  EXPECT_NE(reflected.pool().FindFileByName("google/protobuf/timestamp.proto"),
            nullptr);
  EXPECT_NE(reflected.pool().FindMessageTypeByName("google.protobuf.Duration"),
            nullptr);
}

TEST(ReflectionTest, HealthCheckAndGetStatsCallWithReflectedTypesOnly) {
  ConsumerProcess consumer = ConsumerProcess::Start({});
  ReflectedPool reflected(&consumer);
  ASSERT_NE(reflected.AddFileContaining("grpc.health.v1.Health"), nullptr);
  ASSERT_NE(reflected.AddFileContaining("messaging.v1.ConsumerService"),
            nullptr);
  DynamicMessageFactory factory(&reflected.pool());

  const MethodDescriptor* check =
      reflected.pool().FindMethodByName("grpc.health.v1.Health.Check");
  ASSERT_NE(check, nullptr);
  std::unique_ptr<Message> check_request(
      factory.GetPrototype(check->input_type())->New());
  std::unique_ptr<Message> health(
      factory.GetPrototype(check->output_type())->New());
  grpc::Status status =
      CallUnary(consumer, *check, *check_request, health.get());
  ASSERT_TRUE(status.ok()) << status.error_message();
  const google::protobuf::FieldDescriptor* serving_status =
      health->GetDescriptor()->FindFieldByName("status");
  ASSERT_NE(serving_status, nullptr);
  EXPECT_EQ(health->GetReflection()->GetEnum(*health, serving_status)->name(),
            "SERVING");

  const MethodDescriptor* get_stats = reflected.pool().FindMethodByName(
      "messaging.v1.ConsumerService.GetStats");
  ASSERT_NE(get_stats, nullptr);
  std::unique_ptr<Message> stats_request(
      factory.GetPrototype(get_stats->input_type())->New());
  std::unique_ptr<Message> stats(
      factory.GetPrototype(get_stats->output_type())->New());
  status = CallUnary(consumer, *get_stats, *stats_request, stats.get());
  ASSERT_TRUE(status.ok()) << status.error_message();
  const google::protobuf::FieldDescriptor* active_streams =
      stats->GetDescriptor()->FindFieldByName("active_streams");
  ASSERT_NE(active_streams, nullptr);
  EXPECT_EQ(stats->GetReflection()->GetUInt64(*stats, active_streams), 0u);
}

// Runs the real producer once: `count` messages of `producer_id`.
void Produce(const ConsumerProcess& consumer, const std::string& producer_id) {
  Subprocess producer = Subprocess::Start(
      {RunfilePath("producer_service/producer_service"),
       "--target=" + consumer.target(), "--producer_id=" + producer_id,
       "--count=2", "--interval=0", "--print_messages=false"});
  ASSERT_EQ(producer.WaitOrKill(absl::Seconds(30)), 0) << producer.Stderr();
}

TEST(ReflectionTest, ListProducersPagesWithReflectedTypesOnly) {
  // What `grpcurl -d '{"page_size": 2}' ... ListProducers`, then the same
  // with "page_token" set to the answer's nextPageToken, do.
  ConsumerProcess consumer = ConsumerProcess::Start({});
  for (const char* producer_id : {"c", "a", "b"})
    Produce(consumer, producer_id);
  ReflectedPool reflected(&consumer);
  ASSERT_NE(reflected.AddFileContaining("messaging.v1.ConsumerService"),
            nullptr);
  DynamicMessageFactory factory(&reflected.pool());
  const MethodDescriptor* list = reflected.pool().FindMethodByName(
      "messaging.v1.ConsumerService.ListProducers");
  ASSERT_NE(list, nullptr);
  const google::protobuf::Descriptor* request_type = list->input_type();
  const google::protobuf::Descriptor* page_type = list->output_type();
  const google::protobuf::FieldDescriptor* page_size =
      request_type->FindFieldByName("page_size");
  const google::protobuf::FieldDescriptor* page_token =
      request_type->FindFieldByName("page_token");
  const google::protobuf::FieldDescriptor* producers =
      page_type->FindFieldByName("producers");
  const google::protobuf::FieldDescriptor* next_page_token =
      page_type->FindFieldByName("next_page_token");
  ASSERT_NE(page_size, nullptr);
  ASSERT_NE(page_token, nullptr);
  ASSERT_NE(producers, nullptr);
  ASSERT_NE(next_page_token, nullptr);
  ASSERT_NE(request_type->FindFieldByName("producer_id_prefix"), nullptr);

  std::vector<std::string> ids;
  std::string token;
  int pages = 0;
  do {
    std::unique_ptr<Message> request(factory.GetPrototype(request_type)->New());
    request->GetReflection()->SetInt32(request.get(), page_size, 2);
    request->GetReflection()->SetString(request.get(), page_token, token);
    std::unique_ptr<Message> page(factory.GetPrototype(page_type)->New());
    const grpc::Status status =
        CallUnary(consumer, *list, *request, page.get());
    ASSERT_TRUE(status.ok()) << status.error_message();
    const google::protobuf::Reflection& fields = *page->GetReflection();
    EXPECT_LE(fields.FieldSize(*page, producers), 2);
    for (int i = 0; i < fields.FieldSize(*page, producers); ++i) {
      const Message& producer = fields.GetRepeatedMessage(*page, producers, i);
      ids.push_back(producer.GetReflection()->GetString(
          producer, producer.GetDescriptor()->FindFieldByName("producer_id")));
    }
    token = fields.GetString(*page, next_page_token);
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c"}));

  // GetStats reports the count, and marks the old list deprecated.
  const MethodDescriptor* get_stats = reflected.pool().FindMethodByName(
      "messaging.v1.ConsumerService.GetStats");
  ASSERT_NE(get_stats, nullptr);
  std::unique_ptr<Message> stats(
      factory.GetPrototype(get_stats->output_type())->New());
  ASSERT_TRUE(CallUnary(consumer, *get_stats,
                        *factory.GetPrototype(get_stats->input_type()),
                        stats.get())
                  .ok());
  const google::protobuf::FieldDescriptor* tracked =
      stats->GetDescriptor()->FindFieldByName("producers_tracked");
  ASSERT_NE(tracked, nullptr);
  EXPECT_EQ(stats->GetReflection()->GetUInt64(*stats, tracked), 3u);
  const google::protobuf::FieldDescriptor* old_list =
      stats->GetDescriptor()->FindFieldByName("producers");
  ASSERT_NE(old_list, nullptr);
  EXPECT_TRUE(old_list->options().deprecated());
  EXPECT_EQ(stats->GetReflection()->FieldSize(*stats, old_list), 0);
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
