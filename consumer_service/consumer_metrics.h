// The consumer's Prometheus metrics: what a scrape of --metrics_address
// returns.
//
// Counts are not kept twice: at scrape time a collector reads the very
// totals GetStats reports (ConsumerStatsRecorder::Totals), the ledger's
// producer count and the message log's counters, so a scrape and a
// GetStats taken while nothing happens agree exactly, and the hot path
// pays nothing for metrics. The only instruments updated as things happen
// are the log's write and sync histograms, once per group commit on the
// log's writer thread (this class is the log's LogWriteObserver).
//
// Families (README.md's "Observability" lists them with their meaning):
//   consumer_messages_accepted_total, consumer_bytes_accepted_total,
//   consumer_duplicates_dropped_total, consumer_streams_opened_total,
//   consumer_streams_ended_total{outcome}, consumer_refusals_total{grpc_code},
//   consumer_streams_open, consumer_producers_tracked,
//   consumer_end_to_end_latency_seconds, consumer_build_info, process_*;
//   with a log: consumer_log_bytes, consumer_log_segments,
//   consumer_log_retention_bytes, consumer_log_filesystem_size_bytes,
//   consumer_log_filesystem_avail_bytes, consumer_log_write_errors_total,
//   consumer_log_segments_deleted_total, consumer_log_append_seconds,
//   consumer_log_sync_seconds.
//
// Usage:
//   ConsumerMetrics metrics(/*with_log=*/true);
//   log_options.write_observer = metrics.log_observer();
//   ... open the log, make the Acceptor ...
//   metrics.CollectFrom(&stats, &acceptor);
//   metrics::MetricsServer::Start("0.0.0.0:9090", &metrics.registry());
#ifndef CONSUMER_SERVICE_CONSUMER_METRICS_H_
#define CONSUMER_SERVICE_CONSUMER_METRICS_H_

#include <cstdint>

#include "absl/time/time.h"
#include "consumer_service/acceptor.h"
#include "consumer_service/consumer_stats.h"
#include "consumer_service/message_log.h"
#include "metrics/instruments.h"
#include "metrics/registry.h"

namespace messaging {

class ConsumerMetrics final : private LogWriteObserver {
 public:
  // `with_log`: the consumer keeps a message log, whose metrics are then
  // exposed.
  explicit ConsumerMetrics(bool with_log);

  // For MessageLogOptions::write_observer; null without a log. Valid while
  // this lives, which must be as long as the log.
  LogWriteObserver* log_observer() { return with_log_ ? this : nullptr; }

  // From now on scrapes read `stats` and `acceptor` (its ledger and log).
  // Call once; both must outlive every scrape.
  void CollectFrom(const ConsumerStatsRecorder* stats,
                   const Acceptor* acceptor);

  const metrics::Registry& registry() const { return registry_; }

 private:
  // LogWriteObserver, on the log's writer thread.
  void OnGroupWritten(absl::Duration took) override;
  void OnSynced(absl::Duration took) override;

  const bool with_log_;
  metrics::Registry registry_;
  // Null without a log.
  metrics::Histogram* append_seconds_ = nullptr;
  metrics::Histogram* sync_seconds_ = nullptr;
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_CONSUMER_METRICS_H_
