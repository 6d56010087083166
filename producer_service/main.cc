// producer_service: streams Mensaje messages to a consumer_service.
//
//   bazel run //producer_service -- --count=10
#include <unistd.h>

#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/logging.h"
#include "common/service_main.h"
#include "producer_service/producer.h"

ABSL_FLAG(std::string, target, messaging::ProducerOptions().target,
          "The consumer's address, in gRPC target syntax (host:port, "
          "dns:///name:port).");
ABSL_FLAG(int, consumer_shards, messaging::ProducerOptions().consumer_shards,
          "Number of consumers sharing the producers; when above 1, --target "
          "contains {shard}, replaced by a stable hash of --producer_id, so "
          "each producer always reaches the consumer that holds its state.");
ABSL_FLAG(int64_t, count, messaging::ProducerOptions().count,
          "Number of messages to send.");
ABSL_FLAG(absl::Duration, interval, messaging::ProducerOptions().interval,
          "Pause between two messages (e.g. 100ms); 0 sends as fast as "
          "possible.");
ABSL_FLAG(double, rate, messaging::ProducerOptions().rate,
          "Messages per second per stream, instead of --interval (set "
          "--interval=0); 0: not paced by rate.");
ABSL_FLAG(int64_t, payload_bytes, messaging::ProducerOptions().payload_bytes,
          "Bytes of payload in each message.");
ABSL_FLAG(std::string, producer_id, "",
          "This producer's id, carried by every message (default: the host "
          "name).");
ABSL_FLAG(absl::Duration, connect_timeout,
          messaging::ProducerOptions().connect_timeout,
          "How long to wait for the consumer to be reachable the first time "
          "before giving up.");
ABSL_FLAG(absl::Duration, deadline, messaging::ProducerOptions().deadline,
          "The whole run, retries included, must end within this; then the "
          "producer gives up with exit code 1.");
ABSL_FLAG(int64_t, max_unconfirmed,
          messaging::ProducerOptions().max_unconfirmed,
          "Messages kept until the consumer confirms them; when that many "
          "wait, the producer waits for confirmation before producing "
          "more.");
ABSL_FLAG(int64_t, batch_size, messaging::ProducerOptions().batch_size,
          "Messages per write: 1 streams them one by one (Consume); more "
          "sends batches (ConsumeBatches), same semantics, far faster.");
ABSL_FLAG(absl::Duration, batch_delay, messaging::ProducerOptions().batch_delay,
          "A batch that is not full is sent once its first message has "
          "waited this long. With --batch_size=1, messages due within it "
          "of each other share a write; 0 writes each on its own.");
ABSL_FLAG(int, streams, messaging::ProducerOptions().streams,
          "Concurrent streams; stream i uses producer id <producer_id>-<i> "
          "and sends --count messages.");
ABSL_FLAG(absl::Duration, initial_backoff,
          messaging::ProducerOptions().initial_backoff,
          "First pause before retrying after a failure; doubles each time.");
ABSL_FLAG(absl::Duration, max_backoff, messaging::ProducerOptions().max_backoff,
          "Longest pause between retries.");
ABSL_FLAG(bool, tls, false,
          "Connect with TLS (verifying the consumer with --tls_ca, or the "
          "system's roots).");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA that signed the consumer's certificate.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate chain, for mutual TLS (with --tls_key).");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_server_name, "",
          "Name the consumer's certificate must carry, when it differs from "
          "the host in --target.");
ABSL_FLAG(bool, print_messages, true,
          "Print one 'Produciendo: ...' line per message on stdout; turn off "
          "under load.");
ABSL_FLAG(messaging::LogFormat, log_format, messaging::LogFormat::kText,
          "Format of the log lines on stderr: 'text', or 'json' (one object "
          "per line, with the values each line names as fields).");

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
  options.consumer_shards = absl::GetFlag(FLAGS_consumer_shards);
  options.count = absl::GetFlag(FLAGS_count);
  options.interval = absl::GetFlag(FLAGS_interval);
  options.rate = absl::GetFlag(FLAGS_rate);
  options.payload_bytes = absl::GetFlag(FLAGS_payload_bytes);
  options.producer_id = absl::GetFlag(FLAGS_producer_id);
  if (options.producer_id.empty()) options.producer_id = HostName();
  options.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  options.deadline = absl::GetFlag(FLAGS_deadline);
  options.max_unconfirmed = absl::GetFlag(FLAGS_max_unconfirmed);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.batch_delay = absl::GetFlag(FLAGS_batch_delay);
  options.streams = absl::GetFlag(FLAGS_streams);
  options.initial_backoff = absl::GetFlag(FLAGS_initial_backoff);
  options.max_backoff = absl::GetFlag(FLAGS_max_backoff);
  options.use_tls = absl::GetFlag(FLAGS_tls);
  options.tls = {absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                 absl::GetFlag(FLAGS_tls_ca)};
  options.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  options.print_messages = absl::GetFlag(FLAGS_print_messages);
  return messaging::RunServiceMain(
      "producer_service", absl::GetFlag(FLAGS_log_format),
      messaging::ValidateProducerOptions(options),
      [&] { return messaging::RunProducer(options, std::cout); });
}
