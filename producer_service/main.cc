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
#include "producer_service/producer_options.h"

// One line of help per flag; what each one means in full is in the comments
// of ProducerOptions and in README.md's table (checked by //:flags_doc_test).
ABSL_FLAG(std::string, target, messaging::ProducerOptions().target,
          "The consumer, in gRPC target syntax; may contain {shard}.");
ABSL_FLAG(int, consumer_shards, messaging::ProducerOptions().consumer_shards,
          "Consumers sharing producers; above 1, fills {shard} in --target.");
ABSL_FLAG(int64_t, count, messaging::ProducerOptions().count,
          "Messages to send.");
ABSL_FLAG(absl::Duration, interval, messaging::ProducerOptions().interval,
          "Pause between messages; 0 sends as fast as the stream allows.");
ABSL_FLAG(double, rate, messaging::ProducerOptions().rate,
          "Messages per second per stream (with --interval=0); 0: off.");
ABSL_FLAG(int64_t, payload_bytes, messaging::ProducerOptions().payload_bytes,
          "Bytes of payload per message.");
ABSL_FLAG(std::string, producer_id, "",
          "Id carried by every message; empty: the host name.");
ABSL_FLAG(absl::Duration, connect_timeout,
          messaging::ProducerOptions().connect_timeout,
          "How long to wait for the consumer the first time.");
ABSL_FLAG(absl::Duration, deadline, messaging::ProducerOptions().deadline,
          "The whole run, retries included, must end within this.");
ABSL_FLAG(int64_t, max_unconfirmed,
          messaging::ProducerOptions().max_unconfirmed,
          "Most messages kept unconfirmed; at the limit, production waits.");
ABSL_FLAG(int64_t, batch_size, messaging::ProducerOptions().batch_size,
          "Messages per write; 1 uses Consume, more ConsumeBatches.");
ABSL_FLAG(absl::Duration, batch_delay, messaging::ProducerOptions().batch_delay,
          "Longest a message waits for others to share its write; 0: none.");
ABSL_FLAG(int, streams, messaging::ProducerOptions().streams,
          "Concurrent streams; above 1, stream i is <producer_id>-<i>.");
ABSL_FLAG(int, channels, messaging::ProducerOptions().channels,
          "Connections the streams are spread over (at most --streams).");
ABSL_FLAG(absl::Duration, initial_backoff,
          messaging::ProducerOptions().initial_backoff,
          "First pause before a retry; doubles up to --max_backoff.");
ABSL_FLAG(absl::Duration, max_backoff, messaging::ProducerOptions().max_backoff,
          "Longest pause before a retry.");
ABSL_FLAG(bool, tls, false,
          "Connect with TLS, verifying the consumer with --tls_ca.");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA of the consumer's certificate; empty: the system's roots.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate chain, for mutual TLS.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_server_name, "",
          "Consumer certificate name to check, if not --target's host.");
ABSL_FLAG(bool, print_messages, true,
          "One 'Produciendo: ...' line per message on stdout.");
ABSL_FLAG(messaging::LogFormat, log_format, messaging::LogFormat::kText,
          "Log lines on stderr: 'text', or 'json' (one object per line).");

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
  options.channels = absl::GetFlag(FLAGS_channels);
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
