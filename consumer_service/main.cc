// consumer_service: receives the producers' Mensaje streams over gRPC.
//
//   bazel run //consumer_service -- --address=0.0.0.0:50051
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/logging.h"
#include "common/service_main.h"
#include "consumer_service/consumer_server.h"

// One line of help per flag; what each one means in full is in the comments
// of ConsumerOptions and StreamLimits and in README.md's tables (checked by
// //:flags_doc_test).
ABSL_FLAG(std::string, address, messaging::ConsumerOptions().address,
          "Where to listen, host:port; port 0 picks a free port.");
ABSL_FLAG(bool, print_messages, true,
          "One 'Consumiendo: ...' line per message on stdout.");
ABSL_FLAG(int, max_message_bytes,
          messaging::ConsumerOptions().max_message_bytes,
          "Largest message (or whole batch) received, in bytes.");
ABSL_FLAG(std::vector<std::string>, accept_compression, {},
          "Message compression to inflate: gzip, deflate; empty: refuse all.");
ABSL_FLAG(absl::Duration, shutdown_grace,
          messaging::ConsumerOptions().shutdown_grace,
          "On SIGTERM/SIGINT, how long open streams may go on.");
ABSL_FLAG(std::string, data_dir, "",
          "Directory of the durable message log; empty: memory only.");
ABSL_FLAG(messaging::LogSync, log_sync, messaging::ConsumerOptions().log_sync,
          "'group': fdatasync before confirming; 'none': the kernel's flush.");
ABSL_FLAG(absl::Duration, log_group_delay,
          messaging::ConsumerOptions().log_group_delay,
          "Wait this long for a group of log writes to gather; 0: at once.");
ABSL_FLAG(uint64_t, log_segment_bytes,
          messaging::ConsumerOptions().log_segment_bytes,
          "Roll the message log to a new segment file once the active one "
          "holds this many bytes; start-up replays at most one segment.");
ABSL_FLAG(uint64_t, log_retention_bytes,
          messaging::ConsumerOptions().log_retention_bytes,
          "Delete the oldest closed log segments while the log is larger; 0 "
          "keeps any size.");
ABSL_FLAG(absl::Duration, log_retention_time,
          messaging::ConsumerOptions().log_retention_time,
          "Delete closed log segments last written longer ago than this; "
          "inf keeps them forever.");
ABSL_FLAG(absl::Duration, producer_state_expiry,
          messaging::ConsumerOptions().producer_state_expiry,
          "Forget producers idle this long; a producer that comes back is "
          "new again. inf keeps every one.");
ABSL_FLAG(int, max_concurrent_streams,
          messaging::ConsumerOptions().limits.max_concurrent_streams,
          "Streams open at once; more are refused with RESOURCE_EXHAUSTED.");
ABSL_FLAG(absl::Duration, stream_idle_timeout,
          messaging::ConsumerOptions().limits.idle_timeout,
          "A stream silent this long ends with DEADLINE_EXCEEDED.");
ABSL_FLAG(absl::Duration, keepalive_time,
          messaging::ConsumerOptions().keepalive_time,
          "Ping idle connections this often.");
ABSL_FLAG(absl::Duration, keepalive_timeout,
          messaging::ConsumerOptions().keepalive_timeout,
          "Close a connection whose ping is not answered within this.");
ABSL_FLAG(absl::Duration, min_client_ping_interval,
          messaging::ConsumerOptions().min_client_ping_interval,
          "Disconnect clients that ping more often than this.");
ABSL_FLAG(absl::Duration, handshake_timeout,
          messaging::ConsumerOptions().handshake_timeout,
          "Close connections that do not finish the handshake within this.");
ABSL_FLAG(absl::Duration, max_connection_idle,
          messaging::ConsumerOptions().max_connection_idle,
          "Close connections that have had no call open for this long.");
ABSL_FLAG(bool, adaptive_flow_control,
          messaging::ConsumerOptions().adaptive_flow_control,
          "Grow HTTP/2 windows to the link (BDP); false: fixed 256 KiB.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain of the server; with --tls_key, serve TLS.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA every client's certificate must be signed by (mutual TLS).");
ABSL_FLAG(std::string, producer_acl, "",
          "File of '<identity> <producer id pattern>' lines: which client "
          "certificate may write which producer ids; needs mutual TLS.");
ABSL_FLAG(uint64_t, max_producers, messaging::ConsumerOptions().max_producers,
          "Most producer ids tracked; a new one beyond: RESOURCE_EXHAUSTED.");
ABSL_FLAG(std::string, metrics_address, "",
          "Serve Prometheus metrics on http://IPv4:port/metrics; empty: off.");
ABSL_FLAG(messaging::LogFormat, log_format, messaging::LogFormat::kText,
          "Log lines on stderr: 'text', or 'json' (one object per line).");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Receives Mensaje streams from producer_service over gRPC.");
  absl::ParseCommandLine(argc, argv);

  messaging::ConsumerOptions options;
  options.address = absl::GetFlag(FLAGS_address);
  options.print_messages = absl::GetFlag(FLAGS_print_messages);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.accept_compression = absl::GetFlag(FLAGS_accept_compression);
  options.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.log_sync = absl::GetFlag(FLAGS_log_sync);
  options.log_group_delay = absl::GetFlag(FLAGS_log_group_delay);
  options.log_segment_bytes = absl::GetFlag(FLAGS_log_segment_bytes);
  options.log_retention_bytes = absl::GetFlag(FLAGS_log_retention_bytes);
  options.log_retention_time = absl::GetFlag(FLAGS_log_retention_time);
  options.producer_state_expiry = absl::GetFlag(FLAGS_producer_state_expiry);
  options.limits.max_concurrent_streams =
      absl::GetFlag(FLAGS_max_concurrent_streams);
  options.limits.idle_timeout = absl::GetFlag(FLAGS_stream_idle_timeout);
  options.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  options.keepalive_timeout = absl::GetFlag(FLAGS_keepalive_timeout);
  options.min_client_ping_interval =
      absl::GetFlag(FLAGS_min_client_ping_interval);
  options.handshake_timeout = absl::GetFlag(FLAGS_handshake_timeout);
  options.max_connection_idle = absl::GetFlag(FLAGS_max_connection_idle);
  options.adaptive_flow_control = absl::GetFlag(FLAGS_adaptive_flow_control);
  options.tls = {absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                 absl::GetFlag(FLAGS_tls_client_ca)};
  options.producer_acl = absl::GetFlag(FLAGS_producer_acl);
  options.max_producers = absl::GetFlag(FLAGS_max_producers);
  options.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  return messaging::RunServiceMain(
      "consumer_service", absl::GetFlag(FLAGS_log_format),
      messaging::ValidateConsumerOptions(options),
      [&] { return messaging::RunConsumer(options); });
}
