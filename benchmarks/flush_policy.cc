#include "benchmarks/flush_policy.h"

namespace messaging {

grpc::WriteOptions FlushPolicy::OptionsOfWrite(int64_t before, int64_t after,
                                               absl::Time now) {
  grpc::WriteOptions options;
  if (held_since_ == absl::InfiniteFuture()) held_since_ = now;
  if (after / flush_every_ != before / flush_every_ ||
      now - held_since_ >= flush_delay_) {
    held_since_ = absl::InfiniteFuture();
    return options;
  }
  return options.set_buffer_hint();
}

}  // namespace messaging
