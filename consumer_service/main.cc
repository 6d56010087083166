// consumer_service: receives the producers' Mensaje streams over gRPC.
//
//   bazel run //consumer_service -- --address=0.0.0.0:50051
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/logging.h"
#include "common/termination_signals.h"
#include "consumer_service/consumer_server.h"

ABSL_FLAG(std::string, address, messaging::ConsumerOptions().address,
          "Address to listen on, host:port; port 0 picks a free port.");
ABSL_FLAG(bool, print_messages, true,
          "Print one 'Consumiendo: ...' line per message on stdout; turn off "
          "under load.");
ABSL_FLAG(int, max_message_bytes,
          messaging::ConsumerOptions().max_message_bytes,
          "Largest message accepted, in bytes; a larger one ends its stream "
          "with RESOURCE_EXHAUSTED.");
ABSL_FLAG(absl::Duration, shutdown_grace,
          messaging::ConsumerOptions().shutdown_grace,
          "On SIGTERM/SIGINT, how long open streams may go on before they are "
          "cancelled.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Receives Mensaje streams from producer_service over gRPC.");
  absl::ParseCommandLine(argc, argv);

  messaging::ConsumerOptions options;
  options.address = absl::GetFlag(FLAGS_address);
  options.print_messages = absl::GetFlag(FLAGS_print_messages);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  if (absl::Status valid = messaging::ValidateConsumerOptions(options);
      !valid.ok()) {
    std::cerr << "consumer_service: " << valid.message() << std::endl;
    return 2;
  }

  messaging::BlockTerminationSignals();
  if (absl::Status served = messaging::RunConsumer(options); !served.ok()) {
    messaging::LogError(served.message());
    return 1;
  }
  return 0;
}
