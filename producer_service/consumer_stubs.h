// The consumer's methods on one channel, as the producer calls them: the
// streams raw, since the producer encodes its messages itself
// (MensajeEncoder), the others typed; and their gRPC status as the
// absl::Status the producer returns.
//
// Usage:
//   ConsumerStubs stubs(grpc::CreateChannel(target, credentials));
//   grpc::Status status =
//       stubs.typed->GetProducerState(&context, request, &state);
//   if (!status.ok()) return FromGrpcStatus(status);
#ifndef PRODUCER_SERVICE_CONSUMER_STUBS_H_
#define PRODUCER_SERVICE_CONSUMER_STUBS_H_

#include <memory>

#include "absl/status/status.h"
#include "grpcpp/channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/status.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"

namespace messaging {

struct ConsumerStubs {
  explicit ConsumerStubs(const std::shared_ptr<grpc::Channel>& channel)
      : typed(v1::ConsumerService::NewStub(channel)), raw(channel) {}

  std::unique_ptr<v1::ConsumerService::Stub> typed;
  grpc::GenericStub raw;
};

// The same code and message; gRPC's codes are absl's.
inline absl::Status FromGrpcStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace messaging

#endif  // PRODUCER_SERVICE_CONSUMER_STUBS_H_
