#include "consumer_service/consumer_metrics.h"

#include <sys/statvfs.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/stubs/common.h"
#include "grpcpp/grpcpp.h"
#include "metrics/build_info.h"
#include "metrics/collector.h"
#include "metrics/exposition.h"
#include "metrics/process_collector.h"

namespace messaging {
namespace {

using metrics::Exposition;
using metrics::MetricType;

// A pwrite of a group takes microseconds, an fdatasync from a fraction of a
// millisecond (SSD) to tens of milliseconds (a disk, a network volume).
std::vector<double> LogCallBounds() {
  return {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
          0.001,   0.0025,   0.005,   0.01,   0.025,   0.05,
          0.1,     0.25,     0.5,     1,      2.5};
}

void Counter(Exposition* out, const char* name, const char* help,
             uint64_t value) {
  out->Family(name, help, MetricType::kCounter);
  out->Sample({}, static_cast<double>(value));
}

void Gauge(Exposition* out, const char* name, const char* help,
           uint64_t value) {
  out->Family(name, help, MetricType::kGauge);
  out->Sample({}, static_cast<double>(value));
}

// Reads the recorder, the ledger and the log at each scrape. Everything it
// reads is thread-safe; nothing it calls blocks for long (the recorder's
// lock is held for one copy).
class ConsumerCollector final : public metrics::Collector {
 public:
  ConsumerCollector(const ConsumerStatsRecorder* stats,
                    const Acceptor* acceptor)
      : stats_(stats), acceptor_(acceptor) {}

  void Collect(Exposition* out) const override {
    const ConsumerTotals totals = stats_->Totals();
    Counter(out, "consumer_messages_accepted_total",
            "Messages accepted since start (not those replayed from the "
            "log); GetStats' messages_received.",
            totals.messages_received);
    Counter(out, "consumer_bytes_accepted_total",
            "Text and payload bytes of the messages accepted; GetStats' "
            "bytes_received.",
            totals.bytes_received);
    Counter(out, "consumer_duplicates_dropped_total",
            "Messages dropped because they were already accepted.",
            totals.duplicates_dropped);
    Counter(out, "consumer_streams_opened_total",
            "Consume and ConsumeBatches streams started, refused ones "
            "included.",
            totals.streams_started);
    out->Family("consumer_streams_ended_total",
                "Streams ended, by outcome: completed (with a summary), "
                "invalid, gap, idle, refused (stream limit), unavailable "
                "(log), cancelled, failed.",
                MetricType::kCounter);
    for (int i = 0; i < kStreamOutcomes; ++i) {
      const std::string outcome(
          StreamOutcomeName(static_cast<StreamOutcome>(i)));
      out->Sample({{"outcome", outcome}},
                  static_cast<double>(totals.streams_ended[i]));
    }
    out->Family("consumer_refusals_total",
                "Calls the consumer answered with an error status, streams "
                "and unary calls, by gRPC status code.",
                MetricType::kCounter);
    for (int code = 0; code < ConsumerTotals::kStatusCodes; ++code) {
      const auto status_code = static_cast<absl::StatusCode>(code);
      if (status_code == absl::StatusCode::kOk ||
          status_code == absl::StatusCode::kCancelled) {
        continue;  // neither is a refusal
      }
      out->Sample({{"grpc_code", absl::StatusCodeToString(status_code)}},
                  static_cast<double>(totals.refusals[code]));
    }
    Gauge(out, "consumer_streams_open", "Streams open now.",
          totals.active_streams);
    Gauge(out, "consumer_producers_tracked",
          "Producers the consumer keeps the state of (ListProducers lists "
          "them).",
          acceptor_->ledger().producer_count());
    const LatencyBuckets& latency = totals.end_to_end_latency;
    out->Family("consumer_end_to_end_latency_seconds",
                "From each message's created_at to its acceptance (needs "
                "synchronized clocks).",
                MetricType::kHistogram);
    out->Histogram({}, LatencyBuckets::kUpperBoundSeconds, latency.counts,
                   latency.sum_seconds);
    if (const MessageLog* log = acceptor_->log(); log != nullptr) {
      CollectLog(*log, out);
    }
  }

 private:
  static void CollectLog(const MessageLog& log, Exposition* out) {
    Gauge(out, "consumer_log_bytes",
          "Bytes of the message log's segment files.", log.disk_bytes());
    Gauge(out, "consumer_log_segments",
          "Segment files of the message log, the active one included.",
          log.segment_count());
    Gauge(out, "consumer_log_retention_bytes",
          "--log_retention_bytes: retention deletes the oldest closed "
          "segments while the log is larger; 0: no size limit.",
          log.retention().bytes);
    Counter(out, "consumer_log_write_errors_total",
            "Failed writes or syncs of the message log, retries included.",
            log.write_errors());
    Counter(out, "consumer_log_segments_deleted_total",
            "Closed segments deleted by retention.", log.segments_deleted());
    // The volume's own figures, so that an alert sees it filling up
    // whatever the log's retention says.
    struct statvfs volume;
    if (statvfs(log.path().c_str(), &volume) == 0) {
      Gauge(out, "consumer_log_filesystem_size_bytes",
            "Size of the filesystem that holds the message log.",
            uint64_t{volume.f_blocks} * volume.f_frsize);
      Gauge(out, "consumer_log_filesystem_avail_bytes",
            "Bytes of that filesystem the consumer may still write (as df "
            "shows them).",
            uint64_t{volume.f_bavail} * volume.f_frsize);
    }
  }

  const ConsumerStatsRecorder* const stats_;
  const Acceptor* const acceptor_;
};

}  // namespace

ConsumerMetrics::ConsumerMetrics(bool with_log) : with_log_(with_log) {
  if (with_log_) {
    append_seconds_ = registry_.AddHistogram(
        "consumer_log_append_seconds",
        "Time to write one group of accepted messages to the active segment "
        "(its pwrite calls).",
        LogCallBounds());
    sync_seconds_ = registry_.AddHistogram(
        "consumer_log_sync_seconds",
        "Time of one fdatasync of the active segment (--log_sync=group, and "
        "before each snapshot).",
        LogCallBounds());
  }
  registry_.AddCollector(metrics::BuildInfo(
      "consumer",
      {{"grpc_version", grpc::Version()},
       {"protobuf_version",
        google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION)}}));
  registry_.AddCollector(std::make_unique<metrics::ProcessCollector>());
}

void ConsumerMetrics::CollectFrom(const ConsumerStatsRecorder* stats,
                                  const Acceptor* acceptor) {
  registry_.AddCollector(std::make_unique<ConsumerCollector>(stats, acceptor));
}

void ConsumerMetrics::OnGroupWritten(absl::Duration took) {
  append_seconds_->Observe(absl::ToDoubleSeconds(took));
}

void ConsumerMetrics::OnSynced(absl::Duration took) {
  sync_seconds_->Observe(absl::ToDoubleSeconds(took));
}

}  // namespace messaging
