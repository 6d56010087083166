#include "consumer_service/consumer_server.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "common/grpc_logs.h"
#include "common/logging.h"
#include "common/termination_signals.h"
#include "consumer_service/heap_trimmer.h"
#include "consumer_service/listener_watchdog.h"
#include "google/protobuf/util/time_util.h"
#include "grpc/compression.h"
#include "grpc/health/v1/health.pb.h"
#include "grpc/slice.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace messaging {
namespace {

constexpr int kMaxMessageBytesLimit = 1 << 30;
// Longer would hold every confirmation back for longer than a network
// round trip to gain nothing: groups fill to kFullGroupBytes sooner.
constexpr absl::Duration kMaxLogGroupDelay = absl::Milliseconds(100);
// Smaller segments would roll (and snapshot every producer) all the time;
// larger ones make start-up, which replays one segment, slow.
constexpr uint64_t kMinSegmentBytes = 4096;
constexpr uint64_t kMaxSegmentBytes = uint64_t{1} << 32;
// The stream window without adaptive flow control. Larger ones measured no
// faster, and gRPC's default without the probe held several times the
// memory at 1,000 streams.
constexpr int kFixedStreamWindowBytes = 256 * 1024;
// After a burst of calls (a rapid-reset flood: 2.3 GiB) glibc keeps the
// freed memory resident; steady traffic keeps far less than this free.
constexpr absl::Duration kHeapTrimPeriod = absl::Seconds(1);
constexpr size_t kHeapTrimAboveBytes = size_t{64} << 20;

bool HasValidPort(absl::string_view address) {
  const size_t colon = address.rfind(':');
  int port = -1;
  return colon != absl::string_view::npos &&
         absl::SimpleAtoi(address.substr(colon + 1), &port) && port >= 0 &&
         port <= 65535;
}

std::string CompressionName(grpc_compression_algorithm algorithm) {
  const char* name = "";
  grpc_compression_algorithm_name(algorithm, &name);
  return name;
}

std::string FormatLatency(const v1::LatencySummary& latency) {
  auto format = [](const google::protobuf::Duration& duration) {
    return absl::FormatDuration(absl::Nanoseconds(
        google::protobuf::util::TimeUtil::DurationToNanoseconds(duration)));
  };
  return absl::StrCat(
      "p50=", format(latency.p50()), " p99=", format(latency.p99()),
      " p99.9=", format(latency.p999()), " max=", format(latency.max()));
}

struct OpenFileLimit {
  rlim_t in_force = 0;
  // What was done, for the log once the server listens (a failed start
  // says only why, in one line).
  std::string note;
  bool failed = false;
};

// Each connection is a file descriptor, and gRPC's listener dies at the
// first accept4() that finds none left (listener_watchdog.h): the soft
// limit, often 1024, goes up to the hard one.
OpenFileLimit RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return {0,
            absl::StrCat("cannot read the open-file limit: ", strerror(errno)),
            true};
  }
  if (limit.rlim_cur == limit.rlim_max) {
    return {limit.rlim_cur, absl::StrCat("open-file limit ", limit.rlim_cur,
                                         " (the hard limit)")};
  }
  const rlim_t soft = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return {soft,
            absl::StrCat("cannot raise the open-file limit from ", soft, " to ",
                         limit.rlim_max, ": ", strerror(errno)),
            true};
  }
  return {limit.rlim_max,
          absl::StrCat("open-file limit raised from ", soft, " to ",
                       limit.rlim_max, " (the hard limit)")};
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
  if (options.log_segment_bytes < kMinSegmentBytes ||
      options.log_segment_bytes > kMaxSegmentBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--log_segment_bytes=", options.log_segment_bytes,
                     " is out of range; use ", kMinSegmentBytes, " to ",
                     kMaxSegmentBytes, " (default 67108864, 64 MiB)"));
  }
  if (options.log_group_delay < absl::ZeroDuration() ||
      options.log_group_delay > kMaxLogGroupDelay) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--log_group_delay=", absl::FormatDuration(options.log_group_delay),
        " is out of range; use 0 to ", absl::FormatDuration(kMaxLogGroupDelay),
        " (default 200us)"));
  }
  if (options.log_retention_time <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--log_retention_time=",
        absl::FormatDuration(options.log_retention_time),
        " is not positive; use a duration such as 168h, or inf to keep "
        "segments forever"));
  }
  if (options.producer_state_expiry <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--producer_state_expiry=",
        absl::FormatDuration(options.producer_state_expiry),
        " is not positive; use a duration such as 168h, or inf to keep "
        "every producer"));
  }
  for (const std::string& name : options.accept_compression) {
    grpc_compression_algorithm algorithm;
    if (!grpc_compression_algorithm_parse(
            grpc_slice_from_static_buffer(name.data(), name.size()),
            &algorithm) ||
        algorithm == GRPC_COMPRESS_NONE) {
      return absl::InvalidArgumentError(
          absl::StrCat("--accept_compression names '", name,
                       "'; use gzip, deflate, both (gzip,deflate) or none"));
    }
  }
  if (options.max_connection_idle <= absl::ZeroDuration() ||
      options.max_connection_idle > absl::Hours(24 * 24)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_connection_idle=",
        absl::FormatDuration(options.max_connection_idle),
        " is out of range; use a duration from 1ms to 576h, such as 5m"));
  }
  if (options.max_producers < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_producers=", options.max_producers,
                     " must be at least 1 (default ",
                     ProducerLedger::kDefaultMaxProducers, ")"));
  }
  if (!options.producer_acl.empty() &&
      (options.tls.certificate.empty() || options.tls.ca.empty())) {
    return absl::InvalidArgumentError(
        "--producer_acl needs mutual TLS: the ACL authorizes client "
        "certificates; set --tls_cert, --tls_key and --tls_client_ca");
  }
  if (!options.metrics_address.empty() &&
      !HasValidPort(options.metrics_address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics_address='", options.metrics_address,
                     "' is not IPv4:port with a port from 0 to 65535 (example: "
                     "0.0.0.0:9090; empty serves no metrics)"));
  }
  if (options.shutdown_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--shutdown_grace=", absl::FormatDuration(options.shutdown_grace),
        " is negative; use a duration such as 10s"));
  }
  return absl::OkStatus();
}

ConsumerServer::ConsumerServer() : stats_(absl::Now()) {}

absl::StatusOr<std::unique_ptr<ConsumerServer>> ConsumerServer::Start(
    const ConsumerOptions& options, std::ostream* console) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();

  std::unique_ptr<ConsumerServer> consumer(new ConsumerServer());
  if (!options.producer_acl.empty()) {
    absl::StatusOr<std::unique_ptr<ProducerAuthorizer>> authorizer =
        ProducerAuthorizer::Load(options.producer_acl);
    if (!authorizer.ok()) return authorizer.status();
    consumer->authorizer_ = std::move(*authorizer);
  }
  auto ledger = std::make_unique<ProducerLedger>(options.max_producers);
  consumer->metrics_ =
      std::make_unique<ConsumerMetrics>(/*with_log=*/!options.data_dir.empty());
  std::unique_ptr<MessageLog> message_log;
  if (!options.data_dir.empty()) {
    MessageLogOptions log_options;
    log_options.directory = options.data_dir;
    log_options.sync = options.log_sync;
    log_options.group_delay = options.log_group_delay;
    log_options.segment_bytes = options.log_segment_bytes;
    log_options.retention = {options.log_retention_bytes,
                             options.log_retention_time};
    log_options.event_listener = &consumer->health_;
    log_options.write_observer = consumer->metrics_->log_observer();
    // The ledger restores its state from the log's snapshot and records.
    absl::StatusOr<std::unique_ptr<MessageLog>> log =
        MessageLog::Open(log_options, ledger.get());
    if (!log.ok()) return log.status();
    message_log = std::move(*log);
  }
  consumer->acceptor_ = std::make_unique<Acceptor>(
      std::move(ledger), std::move(message_log), &consumer->stats_,
      options.print_messages ? console : nullptr,
      options.producer_state_expiry);
  consumer->health_.set_acceptor(consumer->acceptor_.get());
  consumer->service_ = std::make_unique<ConsumerServiceImpl>(
      &consumer->stats_, consumer->acceptor_.get(), options.limits,
      consumer->authorizer_.get());
  consumer->metrics_->CollectFrom(&consumer->stats_, consumer->acceptor_.get());
  if (!options.metrics_address.empty()) {
    absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> metrics_server =
        metrics::MetricsServer::Start(options.metrics_address,
                                      &consumer->metrics_->registry());
    if (!metrics_server.ok()) return metrics_server.status();
    consumer->metrics_server_ = std::move(*metrics_server);
  }

  // gRPC's built-in health service carries no protobuf descriptor, and
  // reflection serves only what is in the generated pool: grpcurl would
  // list grpc.health.v1.Health but fail to describe or call it. Naming a
  // message of health.proto links its descriptor into the pool.
  grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.address, *credentials, &consumer->port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  // gRPC 1.51 inflates a whole message before it checks its size; a
  // disabled algorithm is refused (UNIMPLEMENTED) at the call's metadata,
  // before any of it is read.
  for (const grpc_compression_algorithm algorithm :
       {GRPC_COMPRESS_DEFLATE, GRPC_COMPRESS_GZIP}) {
    builder.SetCompressionAlgorithmSupportStatus(
        algorithm, std::find(options.accept_compression.begin(),
                             options.accept_compression.end(),
                             CompressionName(algorithm)) !=
                       options.accept_compression.end());
  }
  // gRPC sets SO_REUSEPORT by default, which would let a second consumer
  // silently share the port of a running one instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Channelz, which this server does not serve, reads the clock and counts
  // for every message received.
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  if (!options.adaptive_flow_control) {
    builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES,
                               kFixedStreamWindowBytes);
  }
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIME_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_timeout)));
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      static_cast<int>(
          absl::ToInt64Milliseconds(options.min_client_ping_interval)));
  builder.AddChannelArgument(
      GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.handshake_timeout)));
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_IDLE_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.max_connection_idle)));
  builder.RegisterService(consumer->service_.get());
  {
    // gRPC logs a failed bind as a page of its internals; the error below
    // says it in one line, with the system's reason where it gave one.
    GrpcLogCapture grpc_log;
    consumer->server_ = builder.BuildAndStart();
    if (consumer->server_ == nullptr || consumer->port_ == 0) {
      std::string reason = OsErrorIn(grpc_log.Take());
      if (reason.empty()) {
        reason = "the address is invalid or the port is in use";
      }
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options.address, ": ", reason,
                       " (choose another with --address)"));
    }
  }
  consumer->health_.Start(consumer->server_->GetHealthCheckService(),
                          v1::ConsumerService::service_full_name());
  return consumer;
}

ConsumerServer::~ConsumerServer() {
  if (server_ != nullptr && !shut_down_) Shutdown(absl::ZeroDuration());
}

void ConsumerServer::Shutdown(absl::Duration grace) {
  shut_down_ = true;
  health_.Stop();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  // No stream admits anything any more: snapshot the producers' state so
  // that the next start replays nothing.
  acceptor_->SnapshotForShutdown();
}

absl::Status RunConsumer(const ConsumerOptions& options) {
  // Before any thread starts, so that every thread has SIGHUP blocked.
  const bool reloads = !options.producer_acl.empty();
  if (reloads) BlockReloadSignal();
  const OpenFileLimit open_files = RaiseOpenFileLimit();
  // Watching before the server starts, so that no line is missed.
  ListenerWatchdog listener_watchdog;
  HeapTrimmer heap_trimmer(kHeapTrimPeriod, kHeapTrimAboveBytes);
  absl::StatusOr<std::unique_ptr<ConsumerServer>> server =
      ConsumerServer::Start(options, &std::cout);
  if (!server.ok()) return server.status();
  const std::string host =
      options.address.substr(0, options.address.rfind(':'));
  if (open_files.failed) {
    LogWarning(open_files.note);
  } else {
    LogInfo(open_files.note);
  }
  if (const MessageLog* log = (*server)->log(); log != nullptr) {
    const LogRecovery& recovery = log->recovery();
    LogInfo(absl::StrCat(
                "message log ", log->path(), ": ",
                recovery.restored_snapshot
                    ? absl::StrCat("restored ", recovery.snapshot_producers,
                                   " producers from the snapshot at offset ",
                                   recovery.snapshot_offset, ", ")
                    : "",
                "replayed ", recovery.records, " messages, next offset ",
                recovery.end_offset),
            {{"path", log->path()},
             {"replayed_messages", recovery.records},
             {"next_offset", recovery.end_offset}});
  } else {
    LogWarning(
        "no --data_dir: accepted messages are kept in memory only and do not "
        "survive a restart");
  }
  const char* const transport = options.tls.certificate.empty() ? "plaintext"
                                : options.tls.ca.empty()        ? "TLS"
                                                                : "mutual TLS";
  LogProducerAuthorization((*server)->producer_authorizer(),
                           /*mutual_tls=*/!options.tls.ca.empty());
  std::atomic<int> signal{0};
  std::optional<std::string> listener_death;
  {
    // Its thread starts before the consumer says it listens: clients (and
    // tests) act on that line at once. SIGHUP reloads the ACL there.
    TerminationSignalWatcher signals(
        [&](int received) {
          if (received == SIGHUP) {
            ReloadAndLogProducerAcl(*(*server)->producer_authorizer());
            return;
          }
          signal = received;
          listener_watchdog.Cancel();
        },
        /*with_reload=*/reloads);
    LogInfo(absl::StrCat("consumer_service listening on ", host, ":",
                         (*server)->port(), " (", transport, ")"),
            {{"host", host},
             {"port", (*server)->port()},
             {"transport", transport}});
    if (const metrics::MetricsServer* metrics = (*server)->metrics_server();
        metrics != nullptr) {
      LogInfo(absl::StrCat("metrics on ", metrics->url()),
              {{"metrics_url", metrics->url()}});
    }
    listener_death = listener_watchdog.Wait();
  }
  if (listener_death) {
    LogError(absl::StrCat(
        "the listener stopped accepting connections (gRPC: ", *listener_death,
        "); shutting down, open streams have ",
        absl::FormatDuration(options.shutdown_grace), " to finish"));
  } else {
    LogInfo(absl::StrCat("received ", strsignal(signal),
                         "; shutting down, open streams have ",
                         absl::FormatDuration(options.shutdown_grace),
                         " to finish"),
            {{"signal", absl::StrCat("SIG", sigabbrev_np(signal))},
             {"shutdown_grace_ms",
              absl::ToInt64Milliseconds(options.shutdown_grace)}});
  }
  (*server)->Shutdown(options.shutdown_grace);

  const v1::ConsumerStats stats = (*server)->stats().Snapshot(absl::Now());
  LogInfo(absl::StrCat("consumer_service stopped: ", stats.messages_received(),
                       " messages in ", stats.completed_streams(),
                       " completed and ", stats.failed_streams(),
                       " failed streams, ", stats.duplicates_dropped(),
                       " duplicates dropped; end-to-end latency ",
                       FormatLatency(stats.end_to_end_latency())),
          {{"messages_received", stats.messages_received()},
           {"completed_streams", stats.completed_streams()},
           {"failed_streams", stats.failed_streams()},
           {"duplicates_dropped", stats.duplicates_dropped()}});
  if (listener_death) {
    return absl::UnavailableError(absl::StrCat(
        "consumer_service exits: gRPC 1.51 never accepts again once accept4() "
        "has failed (CVE-2023-4785); its supervisor must restart it. The "
        "open-file limit is ",
        open_files.in_force,
        ": raise the hard limit (ulimit -Hn, LimitNOFILE=) or limit "
        "connections in front of it (SECURITY.md)"));
  }
  return absl::OkStatus();
}

}  // namespace messaging
