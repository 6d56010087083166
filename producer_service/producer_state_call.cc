#include "producer_service/producer_state_call.h"

#include <utility>

#include "grpcpp/client_context.h"
#include "grpcpp/support/client_callback.h"

namespace messaging {
namespace {

class ProducerStateReactor final : public grpc::ClientUnaryReactor {
 public:
  ProducerStateReactor(v1::ConsumerService::Stub* stub,
                       const std::string& producer_id, absl::Time deadline,
                       bool wait_for_ready,
                       ProducerStateCall::Callbacks* callbacks)
      : callbacks_(callbacks) {
    request_.set_producer_id(producer_id);
    context_.set_deadline(absl::ToChronoTime(deadline));
    context_.set_wait_for_ready(wait_for_ready);
    stub->async()->GetProducerState(&context_, &request_, &state_, this);
  }

  // The last thing gRPC does with the call.
  void OnDone(const grpc::Status& status) override {
    ProducerStateCall::Callbacks* const callbacks = callbacks_;
    const v1::ProducerState state = std::move(state_);
    // The context goes first: it holds the last reference to the call,
    // which must be released while the channel is alive, and the answer
    // may let the caller end and free the channel.
    delete this;
    callbacks->OnProducerState(status, state);
  }

 private:
  ProducerStateCall::Callbacks* const callbacks_;
  grpc::ClientContext context_;
  v1::GetProducerStateRequest request_;
  v1::ProducerState state_;
};

}  // namespace

void StartProducerStateCall(v1::ConsumerService::Stub* stub,
                            const std::string& producer_id, absl::Time deadline,
                            bool wait_for_ready,
                            ProducerStateCall::Callbacks* callbacks) {
  // The call owns itself from here: its OnDone deletes it.
  (new ProducerStateReactor(stub, producer_id, deadline, wait_for_ready,
                            callbacks))
      ->StartCall();
}

}  // namespace messaging
