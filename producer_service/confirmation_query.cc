#include "producer_service/confirmation_query.h"

#include <algorithm>
#include <string>

#include "absl/time/clock.h"

namespace messaging {
namespace {

// A query that takes longer is given up.
constexpr absl::Duration kConfirmationTimeout = absl::Seconds(10);
// At most one query per kQuerySpacing; after kMaxConfirmationStall of
// queries confirming nothing new, a stream at its limit closes instead.
constexpr absl::Duration kQuerySpacing = absl::Milliseconds(1);
constexpr absl::Duration kMaxConfirmationStall = absl::Seconds(1);

}  // namespace

ConfirmationQuery::ConfirmationQuery(v1::ConsumerService::Stub* stub,
                                     Production* production,
                                     int64_t max_unconfirmed,
                                     Callbacks* callbacks)
    : stub_(stub),
      production_(production),
      threshold_(
          static_cast<size_t>(std::max<int64_t>(1, max_unconfirmed / 4))),
      callbacks_(callbacks) {}

void ConfirmationQuery::TakeAnswer(absl::Time now) {
  if (!answered()) return;
  const size_t waiting = production_->unconfirmed();
  last_failed_ = !answer_status_.ok();
  // A producer still unknown to the consumer has nothing confirmed yet.
  if (answer_status_.ok() && answer_.known()) {
    production_->ConfirmSent(answer_.next_sequence());
  }
  stalled_since_ = production_->unconfirmed() < waiting
                       ? absl::InfiniteFuture()
                       : std::min(stalled_since_, now);
  next_query_at_ = now + kQuerySpacing;
  state_.store(State::kIdle, std::memory_order_relaxed);
}

void ConfirmationQuery::MaybeAsk(absl::Time now) {
  if (state_.load(std::memory_order_acquire) == State::kIdle &&
      now >= next_query_at_ && production_->unconfirmed() >= threshold_ &&
      !production_->HeldBackByLimit()) {
    Ask();
  }
}

std::optional<absl::Time> ConfirmationQuery::ResumeAt(absl::Time now) {
  if (!production_->HeldBackByLimit()) return std::nullopt;
  if (state_.load(std::memory_order_acquire) == State::kIdle) {
    if (last_failed_ || now - stalled_since_ > kMaxConfirmationStall) {
      return std::nullopt;
    }
    if (now < next_query_at_) return next_query_at_;
    Ask();
  }
  return absl::InfiniteFuture();
}

bool ConfirmationQuery::answered() const {
  return state_.load(std::memory_order_acquire) == State::kAnswered;
}

void ConfirmationQuery::Ask() {
  state_.store(State::kInFlight, std::memory_order_relaxed);
  callbacks_->OnQueryStarted();
  StartProducerStateCall(stub_, production_->producer_id(),
                         absl::Now() + kConfirmationTimeout,
                         /*wait_for_ready=*/false, this);
}

void ConfirmationQuery::OnProducerState(const grpc::Status& status,
                                        const v1::ProducerState& state) {
  answer_status_ = status;
  answer_ = state;
  state_.store(State::kAnswered, std::memory_order_release);
  callbacks_->OnQueryAnswered();
}

}  // namespace messaging
