// The interface of metric families computed when Prometheus scrapes: figures
// the program keeps anyway (streams open, a ledger's size) or reads from the
// system (/proc), written into the exposition instead of copied into a
// Gauge on every change.
//
// Usage:
//   class LedgerCollector : public metrics::Collector {
//    public:
//     explicit LedgerCollector(const ProducerLedger* ledger)
//         : ledger_(ledger) {}
//     void Collect(metrics::Exposition* out) const override {
//       out->Family("consumer_producers", "Producers in the ledger.",
//                   metrics::MetricType::kGauge);
//       out->Sample({}, ledger_->size());  // ProducerLedger is thread-safe.
//     }
//    private:
//     const ProducerLedger* ledger_;  // Outlives the registry.
//   };
//   registry.AddCollector(std::make_unique<LedgerCollector>(&ledger));
#ifndef METRICS_COLLECTOR_H_
#define METRICS_COLLECTOR_H_

#include "metrics/exposition.h"

namespace messaging::metrics {

class Collector {
 public:
  virtual ~Collector() = default;

  // Writes this collector's families into `out`. Runs on the metrics
  // server's thread while the registry is locked: read shared state in a
  // thread-safe way, return quickly, and do not call into the Registry.
  virtual void Collect(Exposition* out) const = 0;
};

}  // namespace messaging::metrics

#endif  // METRICS_COLLECTOR_H_
