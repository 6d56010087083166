// One GetProducerState call on the gRPC callback API: a reactor that owns
// itself and tells a named callback its outcome, so that no thread waits
// for the answer. The run asks it where to resume (producer.cc), a stream
// what is confirmed beside it (confirmation_query.h).
//
// Usage, in a class that implements ProducerStateCall::Callbacks:
//   StartProducerStateCall(stub, "host-1", absl::Now() + absl::Seconds(10),
//                          /*wait_for_ready=*/true, this);
//   ...
//   void OnProducerState(const grpc::Status& status,
//                        const v1::ProducerState& state) override { ... }
#ifndef PRODUCER_SERVICE_PRODUCER_STATE_CALL_H_
#define PRODUCER_SERVICE_PRODUCER_STATE_CALL_H_

#include <string>

#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"

namespace messaging {

class ProducerStateCall {
 public:
  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // The call's outcome, on a gRPC callback thread. The call is gone by
    // then (its ClientContext too, which must not outlive the channel), so
    // the callee may end, and free the channel, from here on.
    virtual void OnProducerState(const grpc::Status& status,
                                 const v1::ProducerState& state) = 0;
  };
};

// Asks `stub` for `producer_id`'s state, giving up at `deadline`; with
// `wait_for_ready`, waits for the channel to connect meanwhile instead of
// failing at once. `callbacks` must stay alive until told.
void StartProducerStateCall(v1::ConsumerService::Stub* stub,
                            const std::string& producer_id, absl::Time deadline,
                            bool wait_for_ready,
                            ProducerStateCall::Callbacks* callbacks);

}  // namespace messaging

#endif  // PRODUCER_SERVICE_PRODUCER_STATE_CALL_H_
