// The gRPC status a call ends with, for an absl::Status of the consumer's
// own code: the codes are the same numbers.
//
// Usage:
//   reactor->Finish(ToGrpcStatus(absl::InvalidArgumentError("...")));
#ifndef CONSUMER_SERVICE_GRPC_STATUS_H_
#define CONSUMER_SERVICE_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace messaging {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace messaging

#endif  // CONSUMER_SERVICE_GRPC_STATUS_H_
