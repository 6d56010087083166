#include "protos/messaging/v1/wire/method_paths.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"

namespace messaging {
namespace {

// The path of `method`, whose input is `Request`: found by its input type
// rather than by its name, which the generated code keeps to itself.
template <typename Request>
std::string PathOfMethodTaking() {
  const google::protobuf::ServiceDescriptor* service =
      Request::descriptor()->file()->pool()->FindServiceByName(
          v1::ConsumerService::service_full_name());
  for (int i = 0; service != nullptr && i < service->method_count(); ++i) {
    const google::protobuf::MethodDescriptor* method = service->method(i);
    if (method->client_streaming() &&
        method->input_type() == Request::descriptor()) {
      return absl::StrCat("/", service->full_name(), "/", method->name());
    }
  }
  // Only a changed .proto gets here, and method_paths_test says so first.
  std::abort();
}

}  // namespace

const std::string& ConsumePath() {
  static const std::string* const kPath =
      new std::string(PathOfMethodTaking<v1::Mensaje>());
  return *kPath;
}

const std::string& ConsumeBatchesPath() {
  static const std::string* const kPath =
      new std::string(PathOfMethodTaking<v1::MensajeBatch>());
  return *kPath;
}

}  // namespace messaging
