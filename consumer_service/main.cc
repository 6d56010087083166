// consumer_service: receives the producers' Mensaje streams over gRPC.
//
//   bazel run //consumer_service -- --address=0.0.0.0:50051
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/logging.h"
#include "common/service_main.h"
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
ABSL_FLAG(std::string, data_dir, "",
          "Directory of the durable message log; empty keeps accepted "
          "messages in memory only (lost on restart).");
ABSL_FLAG(messaging::LogSync, log_sync, messaging::ConsumerOptions().log_sync,
          "'group': fdatasync once per group of messages before confirming "
          "them (survives power loss); 'none': leave flushing to the kernel "
          "(survives a crash of the process only).");
ABSL_FLAG(int, max_concurrent_streams,
          messaging::ConsumerOptions().limits.max_concurrent_streams,
          "Consume streams open at once; more are refused with "
          "RESOURCE_EXHAUSTED.");
ABSL_FLAG(absl::Duration, stream_idle_timeout,
          messaging::ConsumerOptions().limits.idle_timeout,
          "A stream that sends nothing for this long is ended with "
          "DEADLINE_EXCEEDED.");
ABSL_FLAG(absl::Duration, keepalive_time,
          messaging::ConsumerOptions().keepalive_time,
          "Ping idle connections this often to find vanished peers.");
ABSL_FLAG(absl::Duration, keepalive_timeout,
          messaging::ConsumerOptions().keepalive_timeout,
          "Drop a connection whose keepalive ping is not answered in time.");
ABSL_FLAG(absl::Duration, min_client_ping_interval,
          messaging::ConsumerOptions().min_client_ping_interval,
          "Disconnect clients that send keepalive pings more often.");
ABSL_FLAG(absl::Duration, handshake_timeout,
          messaging::ConsumerOptions().handshake_timeout,
          "Drop connections that do not finish the TLS/HTTP2 handshake in "
          "time (peers that connect and never speak).");
ABSL_FLAG(bool, adaptive_flow_control,
          messaging::ConsumerOptions().adaptive_flow_control,
          "Let gRPC grow HTTP/2 flow-control windows to the link (BDP "
          "probing): the most throughput for a few fast streams. false: "
          "fixed 256 KiB stream windows, for lower latency under full load "
          "and low memory with many streams, at less throughput per "
          "stream.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain of the server; with --tls_key turns on "
          "TLS.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA; when set, every client must present a certificate it "
          "signed (mutual TLS).");
ABSL_FLAG(messaging::LogFormat, log_format, messaging::LogFormat::kText,
          "Format of the log lines on stderr: 'text', or 'json' (one object "
          "per line, with the values each line names as fields).");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Receives Mensaje streams from producer_service over gRPC.");
  absl::ParseCommandLine(argc, argv);

  messaging::ConsumerOptions options;
  options.address = absl::GetFlag(FLAGS_address);
  options.print_messages = absl::GetFlag(FLAGS_print_messages);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.log_sync = absl::GetFlag(FLAGS_log_sync);
  options.limits.max_concurrent_streams =
      absl::GetFlag(FLAGS_max_concurrent_streams);
  options.limits.idle_timeout = absl::GetFlag(FLAGS_stream_idle_timeout);
  options.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  options.keepalive_timeout = absl::GetFlag(FLAGS_keepalive_timeout);
  options.min_client_ping_interval =
      absl::GetFlag(FLAGS_min_client_ping_interval);
  options.handshake_timeout = absl::GetFlag(FLAGS_handshake_timeout);
  options.adaptive_flow_control = absl::GetFlag(FLAGS_adaptive_flow_control);
  options.tls = {absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                 absl::GetFlag(FLAGS_tls_client_ca)};
  return messaging::RunServiceMain(
      "consumer_service", absl::GetFlag(FLAGS_log_format),
      messaging::ValidateConsumerOptions(options),
      [&] { return messaging::RunConsumer(options); });
}
