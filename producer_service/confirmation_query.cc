#include "producer_service/confirmation_query.h"

#include <algorithm>
#include <string>

#include "absl/time/clock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/client_callback.h"

namespace messaging {
namespace {

// A query that takes longer is given up.
constexpr absl::Duration kConfirmationTimeout = absl::Seconds(10);
// At most one query per kQuerySpacing; after kMaxConfirmationStall of
// queries confirming nothing new, a stream at its limit closes instead.
constexpr absl::Duration kQuerySpacing = absl::Milliseconds(1);
constexpr absl::Duration kMaxConfirmationStall = absl::Seconds(1);

}  // namespace

class ConfirmationQuery::Call final : public grpc::ClientUnaryReactor {
 public:
  Call(ConfirmationQuery* owner, const std::string& producer_id)
      : owner_(owner) {
    request_.set_producer_id(producer_id);
    context_.set_deadline(
        absl::ToChronoTime(absl::Now() + kConfirmationTimeout));
    owner->stub_->async()->GetProducerState(&context_, &request_, &state_,
                                            this);
  }

  // The last thing gRPC does with the call.
  void OnDone(const grpc::Status& status) override {
    ConfirmationQuery* const owner = owner_;
    const v1::ProducerState state = std::move(state_);
    // The context goes first: it holds the last reference to the call,
    // which must be released while the channel is alive, and the answer
    // may let the stream, and then its run, end and free the channel.
    delete this;
    owner->Answer(status, state);
  }

 private:
  ConfirmationQuery* const owner_;
  grpc::ClientContext context_;
  v1::GetProducerStateRequest request_;
  v1::ProducerState state_;
};

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
  // The call owns itself from here: its OnDone deletes it.
  (new Call(this, production_->producer_id()))->StartCall();
}

void ConfirmationQuery::Answer(const grpc::Status& status,
                               const v1::ProducerState& state) {
  answer_status_ = status;
  answer_ = state;
  state_.store(State::kAnswered, std::memory_order_release);
  callbacks_->OnQueryAnswered();
}

}  // namespace messaging
