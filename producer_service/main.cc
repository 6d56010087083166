// producer_service: streams Mensaje messages to a consumer_service.
//
//   bazel run //producer_service -- --count=10
#include <unistd.h>

#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/logging.h"
#include "common/termination_signals.h"
#include "producer_service/producer.h"

ABSL_FLAG(std::string, target, messaging::ProducerOptions().target,
          "The consumer's address, in gRPC target syntax (host:port, "
          "dns:///name:port).");
ABSL_FLAG(int64_t, count, messaging::ProducerOptions().count,
          "Number of messages to send.");
ABSL_FLAG(absl::Duration, interval, messaging::ProducerOptions().interval,
          "Pause between two messages (e.g. 100ms); 0 sends as fast as "
          "possible.");
ABSL_FLAG(int64_t, payload_bytes, messaging::ProducerOptions().payload_bytes,
          "Bytes of payload in each message.");
ABSL_FLAG(std::string, producer_id, "",
          "This producer's id, carried by every message (default: the host "
          "name).");
ABSL_FLAG(absl::Duration, connect_timeout,
          messaging::ProducerOptions().connect_timeout,
          "How long to wait for the consumer to be reachable before giving "
          "up.");
ABSL_FLAG(bool, print_messages, true,
          "Print one 'Produciendo: ...' line per message on stdout; turn off "
          "under load.");

namespace {

std::string HostName() {
  char name[256] = {};
  return gethostname(name, sizeof(name) - 1) == 0 ? name : "";
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Streams Mensaje messages to consumer_service over gRPC.");
  absl::ParseCommandLine(argc, argv);

  messaging::ProducerOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  options.count = absl::GetFlag(FLAGS_count);
  options.interval = absl::GetFlag(FLAGS_interval);
  options.payload_bytes = absl::GetFlag(FLAGS_payload_bytes);
  options.producer_id = absl::GetFlag(FLAGS_producer_id);
  if (options.producer_id.empty()) options.producer_id = HostName();
  options.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  options.print_messages = absl::GetFlag(FLAGS_print_messages);
  if (absl::Status valid = messaging::ValidateProducerOptions(options);
      !valid.ok()) {
    std::cerr << "producer_service: " << valid.message() << std::endl;
    return 2;
  }

  messaging::BlockTerminationSignals();
  if (absl::Status produced = messaging::RunProducer(options, std::cout);
      !produced.ok()) {
    messaging::LogError(produced.message());
    return 1;
  }
  return 0;
}
