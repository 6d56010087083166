// A running consumer: the ConsumerService plus health and reflection, and
// the graceful shutdown a platform expects.
//
// Usage:
//   ConsumerOptions options;
//   options.address = "127.0.0.1:0";  // port 0: pick a free port
//   absl::StatusOr<std::unique_ptr<ConsumerServer>> server =
//       ConsumerServer::Start(options, &std::cout);
//   int port = (*server)->port();
//   ...
//   (*server)->Shutdown(absl::Seconds(10));
#ifndef CONSUMER_SERVICE_CONSUMER_SERVER_H_
#define CONSUMER_SERVICE_CONSUMER_SERVER_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls_credentials.h"
#include "consumer_service/acceptor.h"
#include "consumer_service/consumer_metrics.h"
#include "consumer_service/consumer_service_impl.h"
#include "consumer_service/consumer_stats.h"
#include "consumer_service/message_log.h"
#include "consumer_service/producer_ledger.h"
#include "grpcpp/server.h"
#include "metrics/metrics_server.h"

namespace messaging {

struct ConsumerOptions {
  // Where to listen, host:port; port 0 picks a free port.
  std::string address = "0.0.0.0:50051";
  // One "Consumiendo: ..." line per message on stdout.
  bool print_messages = true;
  // Larger messages end their stream with RESOURCE_EXHAUSTED.
  int max_message_bytes = 4 * 1024 * 1024;
  // How long open streams may go on after SIGTERM before they are cancelled.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // Where the message log lives; empty keeps everything in memory only.
  std::string data_dir;
  LogSync log_sync = LogSync::kGroupCommit;
  // The log's segment size, and its retention (see MessageLogOptions).
  uint64_t log_segment_bytes = MessageLogOptions().segment_bytes;
  uint64_t log_retention_bytes = MessageLogOptions().retention.bytes;
  absl::Duration log_retention_time = MessageLogOptions().retention.time;
  StreamLimits limits;
  // Ping an idle connection this often, and drop it when the ping is not
  // answered within keepalive_timeout (a vanished peer).
  absl::Duration keepalive_time = absl::Hours(2);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Clients pinging more often than this are disconnected.
  absl::Duration min_client_ping_interval = absl::Minutes(1);
  // A connection must complete its TLS/HTTP2 handshake within this time: a
  // peer that connects and never speaks is dropped.
  absl::Duration handshake_timeout = absl::Seconds(10);
  // HTTP/2 flow-control windows that gRPC grows to what the link carries
  // (BDP probing): the most throughput for a few fast streams. Off, each
  // stream gets a fixed window of 256 KiB, so less data waits
  // in buffers: lower latency under full load, and memory that stays low
  // with many streams, for less throughput per stream.
  bool adaptive_flow_control = true;
  // Server certificate and key for TLS, and a client CA for mutual TLS.
  TlsFiles tls;
  // Where to serve Prometheus metrics on /metrics, IPv4:port (port 0 picks
  // a free port); empty serves none.
  std::string metrics_address;
};

// OK, or INVALID_ARGUMENT naming the flag at fault and what it accepts.
absl::Status ValidateConsumerOptions(const ConsumerOptions& options);

class ConsumerServer {
 public:
  // Replays the log (when options.data_dir is set) and starts serving;
  // `console` gets the per-message lines when options.print_messages is set.
  // UNAVAILABLE if the address cannot be bound; the log's or the TLS
  // files' error when they cannot be used.
  static absl::StatusOr<std::unique_ptr<ConsumerServer>> Start(
      const ConsumerOptions& options, std::ostream* console);

  // Shuts down with no grace period unless Shutdown() was called.
  ~ConsumerServer();

  // The port actually bound (the chosen one when options.address had port 0).
  int port() const { return port_; }
  // The metrics server's; null without options.metrics_address.
  const metrics::MetricsServer* metrics_server() const {
    return metrics_server_.get();
  }

  // Marks health NOT_SERVING, refuses new streams, lets open streams finish
  // for up to `grace`, then cancels the rest. Returns when all are done.
  void Shutdown(absl::Duration grace);

  const ConsumerStatsRecorder& stats() const { return stats_; }
  const ProducerLedger& ledger() const { return acceptor_->ledger(); }
  // Null without options.data_dir.
  const MessageLog* log() const { return acceptor_->log(); }

 private:
  ConsumerServer();

  // Destroyed in reverse: the metrics server (so that no scrape reads what
  // goes next) and the gRPC server first, then the acceptor's log (flushed),
  // and the metrics it reports its writes to last.
  std::unique_ptr<ConsumerMetrics> metrics_;
  ConsumerStatsRecorder stats_;
  std::unique_ptr<Acceptor> acceptor_;
  std::unique_ptr<ConsumerServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;
  int port_ = 0;
  bool shut_down_ = false;
};

// Serves until SIGINT or SIGTERM, then shuts down gracefully. Requires
// BlockTerminationSignals() before any thread starts.
absl::Status RunConsumer(const ConsumerOptions& options);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_CONSUMER_SERVER_H_
