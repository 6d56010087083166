// The cost of an update on the hot path, alone and with threads sharing
// the metric, and of one scrape:
//   bazel run -c opt //metrics:registry_benchmark
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "metrics/registry.h"

namespace messaging::metrics {
namespace {

// Shared by every thread of a run, as the consumer's streams share theirs.
Registry& TheRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

void BM_CounterIncrement(benchmark::State& state) {
  static Counter* counter =
      TheRegistry().AddCounter("bench_increments_total", "Increments.");
  for (auto _ : state) counter->Increment();
}
BENCHMARK(BM_CounterIncrement)->Threads(1)->Threads(2);

void BM_CounterVectorIncrement(benchmark::State& state) {
  static CounterVector* counters = TheRegistry().AddCounterVector(
      "bench_codes_total", "By code.", "grpc_code", {"OK", "CANCELLED"});
  for (auto _ : state) counters->at(1).Increment();
}
BENCHMARK(BM_CounterVectorIncrement);

void BM_HistogramObserve(benchmark::State& state) {
  static Histogram* histogram = TheRegistry().AddHistogram(
      "bench_seconds", "Latency.", ExponentialBuckets(0.0001, 4, 10));
  double value = 0.003;
  for (auto _ : state) {
    histogram->Observe(value);
    benchmark::DoNotOptimize(value);
  }
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(2);

// A registry about the consumer's size: 30 families.
void BM_Scrape(benchmark::State& state) {
  Registry registry;
  for (int i = 0; i < 10; ++i) {
    registry.AddCounter(absl::StrCat("bench_c", i, "_total"), "C.");
    registry.AddGauge(absl::StrCat("bench_g", i), "G.");
    registry.AddHistogram(absl::StrCat("bench_h", i, "_seconds"), "H.",
                          ExponentialBuckets(0.0001, 4, 10));
  }
  for (auto _ : state) {
    std::string text = registry.Scrape();
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_Scrape);

}  // namespace
}  // namespace messaging::metrics

BENCHMARK_MAIN();
