// The values the hot path updates: Counter, CounterVector, Gauge, Histogram.
//
// Each update is one relaxed atomic operation (a histogram's sum adds a
// compare-exchange), with no lock: the consumer updates them at millions of
// messages a second, and a scrape only needs each value to be one that was
// true at some moment. Each counter and gauge has a cache line of its own,
// so that threads updating different ones do not slow each other. Threads
// updating the same one still share its line: count a batch with
// Increment(n), not n times Increment().
//
// They are made by a Registry (registry.h), which writes them on a scrape.
//
// Usage:
//   metrics::Counter* messages = registry.AddCounter(
//       "consumer_messages_total", "Messages accepted.");
//   messages->Increment(batch.size());
//
//   // Label values in grpc::StatusCode order, so the code is the index.
//   metrics::CounterVector* ended = registry.AddCounterVector(
//       "consumer_streams_ended_total", "Streams ended, by status.",
//       "grpc_code", {"OK", "CANCELLED", "UNKNOWN", ...});
//   ended->at(static_cast<size_t>(status.error_code())).Increment();
//
//   metrics::Gauge* open = registry.AddGauge("consumer_streams_open",
//                                            "Streams open now.");
//   open->Add(1);
//
//   metrics::Histogram* latency = registry.AddHistogram(
//       "consumer_batch_seconds", "Time to admit one batch.",
//       metrics::ExponentialBuckets(0.0001, 4, 8));
//   latency->Observe(absl::ToDoubleSeconds(elapsed));
#ifndef METRICS_INSTRUMENTS_H_
#define METRICS_INSTRUMENTS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/types/span.h"

namespace messaging::metrics {

// x86-64's and most ARM cores' line size. (GCC 12's
// std::hardware_destructive_interference_size warns that it may change.)
inline constexpr size_t kCacheLine = 64;

// A count that only goes up, such as messages accepted.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Increment(uint64_t n = 1) {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  alignas(kCacheLine) std::atomic<uint64_t> value_{0};
};

// One counter per value of one label fixed when it is made, such as a
// count of streams per grpc_code: the counter of a value is found by its
// index, with no lookup by string on the hot path.
class CounterVector {
 public:
  explicit CounterVector(std::vector<std::string> label_values);

  // The counter of label_values[index]. An index past the end is a
  // programming error: it aborts rather than count into foreign memory.
  Counter& at(size_t index) {
    if (index >= label_values_.size()) OutOfRange(index);
    return counters_[index];
  }

  size_t size() const { return label_values_.size(); }
  const std::string& label_value(size_t index) const {
    return label_values_[index];
  }
  const Counter& counter(size_t index) const { return counters_[index]; }

 private:
  [[noreturn]] void OutOfRange(size_t index) const;

  const std::vector<std::string> label_values_;
  const std::unique_ptr<Counter[]> counters_;
};

// A value that goes up and down, such as streams open. For a value the
// program keeps anyway, a Collector (collector.h) reads it at scrape time
// instead.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  alignas(kCacheLine) std::atomic<double> value_{0};
};

// A distribution in fixed buckets, such as latencies in seconds. Prometheus
// computes quantiles from the bucket counts, so the bounds decide the
// precision: choose them around the values that matter (an SLO). Threads
// observing into one histogram at once contend on its sum (a
// compare-exchange loop; ~10 ns alone, ~20x that contended on 2 cores):
// observe once per batch or per stream, not per message.
class Histogram {
 public:
  // The bucket counts and sum as read at one moment.
  struct Snapshot {
    // Per upper bound, the observations above the previous bound and at
    // most this one; last, the observations above every bound.
    std::vector<uint64_t> bucket_counts;
    double sum = 0;
  };

  // `upper_bounds`: finite and strictly increasing, at least one; anything
  // else aborts. The +Inf bucket is implied.
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Counts `value` in the first bucket whose bound is >= value. A NaN
  // falls in +Inf and makes the sum NaN, as in Prometheus' own clients.
  void Observe(double value);

  absl::Span<const double> upper_bounds() const { return upper_bounds_; }
  // Buckets are read one after another while observations go on, so the
  // counts may be a few observations apart from the sum; each is exact.
  Snapshot Read() const;

 private:
  const std::vector<double> upper_bounds_;
  // upper_bounds_.size() + 1 counters, the last one for +Inf.
  const std::unique_ptr<std::atomic<uint64_t>[]> bucket_counts_;
  std::atomic<double> sum_{0};
};

// `count` bounds: start, start*factor, start*factor^2, ... (start > 0,
// factor > 1, count >= 1; otherwise aborts). ExponentialBuckets(0.001, 10, 4)
// is {0.001, 0.01, 0.1, 1}.
std::vector<double> ExponentialBuckets(double start, double factor, int count);

}  // namespace messaging::metrics

#endif  // METRICS_INSTRUMENTS_H_
