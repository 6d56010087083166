#include "producer_service/write_coalescer.h"

#include <algorithm>

namespace messaging {

bool WriteCoalescer::Hold(absl::Time now, absl::Time next_due) {
  if (held_since_ == absl::InfiniteFuture()) held_since_ = now;
  const bool hold = next_due < held_since_ + max_delay_;
  if (!hold) held_since_ = absl::InfiniteFuture();
  return hold;
}

absl::Time WriteCoalescer::ResumeAt(absl::Time due) const {
  if (held_since_ == absl::InfiniteFuture()) return due;
  return std::max(due, held_since_ + max_delay_);
}

}  // namespace messaging
