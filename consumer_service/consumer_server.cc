#include "consumer_service/consumer_server.h"

#include <string.h>

#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/termination_signals.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace messaging {
namespace {

constexpr int kMaxMessageBytesLimit = 1 << 30;

bool HasValidPort(absl::string_view address) {
  const size_t colon = address.rfind(':');
  int port = -1;
  return colon != absl::string_view::npos &&
         absl::SimpleAtoi(address.substr(colon + 1), &port) && port >= 0 &&
         port <= 65535;
}

}  // namespace

absl::Status ValidateConsumerOptions(const ConsumerOptions& options) {
  if (!HasValidPort(options.address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--address='", options.address,
                     "' is not host:port with a port from 0 to 65535 "
                     "(example: 0.0.0.0:50051)"));
  }
  if (options.max_message_bytes < 1 ||
      options.max_message_bytes > kMaxMessageBytesLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_message_bytes=", options.max_message_bytes,
                     " is out of range; use 1 to ", kMaxMessageBytesLimit));
  }
  if (options.shutdown_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--shutdown_grace=", absl::FormatDuration(options.shutdown_grace),
        " is negative; use a duration such as 10s"));
  }
  return absl::OkStatus();
}

ConsumerServer::ConsumerServer(std::ostream* console)
    : stats_(absl::Now()), service_(&stats_, console) {}

absl::StatusOr<std::unique_ptr<ConsumerServer>> ConsumerServer::Start(
    const ConsumerOptions& options, std::ostream* console) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<ConsumerServer> consumer(
      new ConsumerServer(options.print_messages ? console : nullptr));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.address, grpc::InsecureServerCredentials(),
                           &consumer->port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  // gRPC sets SO_REUSEPORT by default, which would let a second consumer
  // silently share the port of a running one instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(&consumer->service_);
  consumer->server_ = builder.BuildAndStart();
  if (consumer->server_ == nullptr || consumer->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.address,
                     ": the address is invalid or the port is in use "
                     "(choose another with --address)"));
  }
  grpc::HealthCheckServiceInterface* health =
      consumer->server_->GetHealthCheckService();
  health->SetServingStatus(v1::ConsumerService::service_full_name(), true);
  health->SetServingStatus(true);
  return consumer;
}

ConsumerServer::~ConsumerServer() {
  if (server_ != nullptr && !shut_down_) Shutdown(absl::ZeroDuration());
}

void ConsumerServer::Shutdown(absl::Duration grace) {
  shut_down_ = true;
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

absl::Status RunConsumer(const ConsumerOptions& options) {
  absl::StatusOr<std::unique_ptr<ConsumerServer>> server =
      ConsumerServer::Start(options, &std::cout);
  if (!server.ok()) return server.status();
  const std::string host =
      options.address.substr(0, options.address.rfind(':'));
  LogInfo(absl::StrCat("consumer_service listening on ", host, ":",
                       (*server)->port()));

  const int signal = WaitForTerminationSignal(absl::InfiniteDuration());
  LogInfo(absl::StrCat(
      "received ", strsignal(signal), "; shutting down, open streams have ",
      absl::FormatDuration(options.shutdown_grace), " to finish"));
  (*server)->Shutdown(options.shutdown_grace);

  const v1::ConsumerStats stats = (*server)->stats().Snapshot(absl::Now());
  LogInfo(absl::StrCat("consumer_service stopped: ", stats.messages_received(),
                       " messages in ", stats.completed_streams(),
                       " completed and ", stats.failed_streams(),
                       " failed streams"));
  return absl::OkStatus();
}

}  // namespace messaging
