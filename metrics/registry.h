// The set of metrics one process exposes, and the text a scrape returns.
//
// Thread-safe. Registering and scraping take a lock; updating a metric
// never does (see instruments.h). Metrics and collectors live as long as
// the Registry and are written in the order they were registered. Names
// follow https://prometheus.io/docs/practices/naming/: a `<service>_`
// prefix, base units as suffixes (`_seconds`, `_bytes`), counters ending in
// `_total`. A name that is invalid or already registered aborts (see
// misuse.h): names are fixed in the code.
//
// Usage:
//   metrics::Registry registry;
//   metrics::Counter* messages = registry.AddCounter(
//       "consumer_messages_total", "Messages accepted.");
//   registry.AddCollector(std::make_unique<metrics::ProcessCollector>());
//   ...
//   messages->Increment(batch.size());  // On any thread.
//   std::string text = registry.Scrape();
//   // # HELP consumer_messages_total Messages accepted.
//   // # TYPE consumer_messages_total counter
//   // consumer_messages_total 64
//   // # HELP process_cpu_seconds_total ...
#ifndef METRICS_REGISTRY_H_
#define METRICS_REGISTRY_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "metrics/collector.h"
#include "metrics/instruments.h"

namespace messaging::metrics {

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Each returns a metric owned by the registry, valid while it lives.
  Counter* AddCounter(absl::string_view name, absl::string_view help);
  // `label_values`: at least one, all different; counter i is the one of
  // label_values[i], and all of them are exposed, 0 until counted.
  CounterVector* AddCounterVector(absl::string_view name,
                                  absl::string_view help,
                                  absl::string_view label_name,
                                  std::vector<std::string> label_values);
  Gauge* AddGauge(absl::string_view name, absl::string_view help);
  Histogram* AddHistogram(absl::string_view name, absl::string_view help,
                          std::vector<double> upper_bounds);

  // Families computed at scrape time. The names a collector writes are
  // checked when it writes them, on every scrape.
  void AddCollector(std::unique_ptr<Collector> collector);

  // Every family in the text exposition format (exposition.h).
  std::string Scrape() const;

 private:
  // Checks `name` and keeps `family`, which writes it.
  template <typename Family>
  Family* Add(absl::string_view name, MetricType type,
              std::unique_ptr<Family> family);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Collector>> collectors_ ABSL_GUARDED_BY(mu_);
  std::set<std::string, std::less<>> names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace messaging::metrics

#endif  // METRICS_REGISTRY_H_
