// The standard process_* metrics of Prometheus' clients, read from /proc at
// scrape time (Linux only):
//
//   process_cpu_seconds_total      counter  user + system CPU time
//   process_open_fds               gauge    file descriptors open
//   process_max_fds                gauge    their soft limit (RLIMIT_NOFILE)
//   process_virtual_memory_bytes   gauge    virtual memory size
//   process_resident_memory_bytes  gauge    resident set size
//   process_start_time_seconds     gauge    start, in seconds since the epoch
//   process_threads                gauge    OS threads
//
// The names, help texts and meanings are those of client_golang's process
// collector (process_threads that of the Rust client, as Go's has none), so
// dashboards and alerts written for any Prometheus-instrumented process
// work unchanged. A file that cannot be read leaves out the metrics it
// gives, and the rest are still written.
//
// Usage:
//   registry.AddCollector(std::make_unique<metrics::ProcessCollector>());
#ifndef METRICS_PROCESS_COLLECTOR_H_
#define METRICS_PROCESS_COLLECTOR_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "metrics/collector.h"
#include "metrics/exposition.h"

namespace messaging::metrics {

class ProcessCollector : public Collector {
 public:
  // `proc` is where procfs is mounted; tests pass a directory laid out like
  // it (self/stat, self/fd/, self/limits, stat).
  explicit ProcessCollector(absl::string_view proc = "/proc");

  void Collect(Exposition* out) const override;

 private:
  const std::string proc_;
  const long ticks_per_second_;
  const long page_bytes_;
  // Boot time from <proc>/stat, read once: it does not change.
  const std::optional<double> boot_time_seconds_;
};

}  // namespace messaging::metrics

#endif  // METRICS_PROCESS_COLLECTOR_H_
