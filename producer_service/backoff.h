// The pause before each retry of a producer run: exponential backoff with
// ±20 % jitter, as gRPC's own reconnects do, so that producers cut off
// together do not come back together.
//
// Usage:
//   Backoff backoff(absl::Milliseconds(100), absl::Seconds(5));
//   absl::Duration delay = backoff.Next();  // about 100ms, then 200ms, ...
//   backoff.Reset();  // after a success
#ifndef PRODUCER_SERVICE_BACKOFF_H_
#define PRODUCER_SERVICE_BACKOFF_H_

#include <algorithm>
#include <random>

#include "absl/time/time.h"

namespace messaging {

class Backoff {
 public:
  Backoff(absl::Duration initial, absl::Duration max)
      : initial_(initial), max_(max), next_(initial) {}

  absl::Duration Next() {
    const absl::Duration current = next_;
    next_ = std::min(next_ * 2, max_);
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    return current * jitter(random_);
  }
  void Reset() { next_ = initial_; }

 private:
  const absl::Duration initial_;
  const absl::Duration max_;
  absl::Duration next_;
  std::mt19937 random_{std::random_device{}()};
};

}  // namespace messaging

#endif  // PRODUCER_SERVICE_BACKOFF_H_
