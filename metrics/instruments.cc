#include "metrics/instruments.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "metrics/misuse.h"

namespace messaging::metrics {
namespace {

// C++17 has no fetch_add for atomic<double>.
void AtomicAdd(std::atomic<double>& target, double delta) {
  double old = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(old, old + delta,
                                       std::memory_order_relaxed)) {
  }
}

std::vector<double> CheckedBounds(std::vector<double> upper_bounds) {
  if (upper_bounds.empty()) Misuse("a histogram needs at least one bound");
  for (size_t i = 0; i < upper_bounds.size(); ++i) {
    if (!std::isfinite(upper_bounds[i]) ||
        (i > 0 && upper_bounds[i] <= upper_bounds[i - 1])) {
      Misuse(absl::StrCat("histogram bound ", upper_bounds[i], " at ", i,
                          " is not finite and above the one before"));
    }
  }
  return upper_bounds;
}

}  // namespace

CounterVector::CounterVector(std::vector<std::string> label_values)
    : label_values_(std::move(label_values)),
      counters_(std::make_unique<Counter[]>(label_values_.size())) {}

void CounterVector::OutOfRange(size_t index) const {
  Misuse(absl::StrCat("counter index ", index, " is past the ",
                      label_values_.size(), " label values"));
}

void Gauge::Add(double delta) { AtomicAdd(value_, delta); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(CheckedBounds(std::move(upper_bounds))),
      bucket_counts_(
          std::make_unique<std::atomic<uint64_t>[]>(upper_bounds_.size() + 1)) {
}

void Histogram::Observe(double value) {
  // The first bound that is >= value; NaN is >= none, so it goes to +Inf.
  const size_t bucket =
      std::partition_point(
          upper_bounds_.begin(), upper_bounds_.end(),
          [value](double bound) { return !(value <= bound); }) -
      upper_bounds_.begin();
  bucket_counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.bucket_counts.reserve(upper_bounds_.size() + 1);
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    snapshot.bucket_counts.push_back(
        bucket_counts_[i].load(std::memory_order_relaxed));
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1) {
    Misuse(absl::StrCat("ExponentialBuckets(", start, ", ", factor, ", ", count,
                        ") needs start > 0, factor > 1, count >= 1"));
  }
  std::vector<double> bounds = {start};
  while (static_cast<int>(bounds.size()) < count) {
    bounds.push_back(bounds.back() * factor);
  }
  return CheckedBounds(std::move(bounds));
}

}  // namespace messaging::metrics
