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

#include <cstddef>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls_credentials.h"
#include "consumer_service/acceptor.h"
#include "consumer_service/consumer_metrics.h"
#include "consumer_service/consumer_service_impl.h"
#include "consumer_service/consumer_stats.h"
#include "consumer_service/message_log.h"
#include "consumer_service/producer_authorizer.h"
#include "consumer_service/producer_ledger.h"
#include "consumer_service/serving_health.h"
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
  // Message compression accepted: "gzip", "deflate"; a message compressed
  // otherwise ends its stream with UNIMPLEMENTED before any of it is
  // inflated. gRPC 1.51 checks max_message_bytes only after inflating a
  // whole message, so each accepted algorithm lets one message hold up to
  // ~1000x its wire size in memory (SECURITY.md).
  std::vector<std::string> accept_compression;
  // How long open streams may go on after SIGTERM before they are cancelled.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // Where the message log lives; empty keeps everything in memory only.
  std::string data_dir;
  LogSync log_sync = LogSync::kGroupCommit;
  absl::Duration log_group_delay = MessageLogOptions().group_delay;
  // The log's segment size, and its retention (see MessageLogOptions).
  uint64_t log_segment_bytes = MessageLogOptions().segment_bytes;
  uint64_t log_retention_bytes = MessageLogOptions().retention.bytes;
  absl::Duration log_retention_time = MessageLogOptions().retention.time;
  // A producer idle this long is forgotten, as Kafka expires producer ids:
  // its next message is taken as from a new producer, at any sequence, and
  // GetProducerState says known=false. As long as the time retention
  // keeps a producer's records, so state does not outlive nor precede them.
  absl::Duration producer_state_expiry = absl::Hours(7 * 24);
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
  // A connection with no call open for this long is closed (GOAWAY): one
  // that finished its handshake but opens no stream holds a socket and a
  // transport for nothing.
  absl::Duration max_connection_idle = absl::Minutes(5);
  // HTTP/2 flow-control windows that gRPC grows to what the link carries
  // (BDP probing): the most throughput for a few fast streams. Off, each
  // stream gets a fixed window of 256 KiB, so less data waits
  // in buffers: lower latency under full load, and memory that stays low
  // with many streams, for less throughput per stream.
  bool adaptive_flow_control = true;
  // Server certificate and key for TLS, and a client CA for mutual TLS.
  TlsFiles tls;
  // The most producer ids the consumer tracks; a new one beyond is refused
  // with RESOURCE_EXHAUSTED.
  size_t max_producers = ProducerLedger::kDefaultMaxProducers;
  // A producer ACL file (producer_acl.h): which client certificate may
  // write which producer ids. Needs mutual TLS. Empty: any client may
  // write any id.
  std::string producer_acl;
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

  // Null without options.producer_acl.
  ProducerAuthorizer* producer_authorizer() { return authorizer_.get(); }

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
  // The log's event listener: outlives the log (in acceptor_).
  ServingHealth health_;
  std::unique_ptr<Acceptor> acceptor_;
  std::unique_ptr<ProducerAuthorizer> authorizer_;
  std::unique_ptr<ConsumerServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;
  int port_ = 0;
  bool shut_down_ = false;
};

// Raises the soft open-file limit to the hard one, then serves until SIGINT
// or SIGTERM (OK) or until gRPC's listener dies (UNAVAILABLE: a restart is
// the only cure, listener_watchdog.h), and shuts down gracefully; with
// options.producer_acl, SIGHUP reloads the ACL. Requires
// BlockTerminationSignals() before any thread starts, and to be called
// before any thread starts itself (it blocks SIGHUP).
absl::Status RunConsumer(const ConsumerOptions& options);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_CONSUMER_SERVER_H_
