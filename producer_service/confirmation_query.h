// Confirmation beside a long stream: asks the consumer what it already
// holds of this producer (GetProducerState, on the stream's channel), so
// the stream drops the confirmed messages from its Production and goes on
// without closing. A stream otherwise learns what is confirmed only from
// the summary that ends it.
//
// It asks once a quarter of --max_unconfirmed messages wait; at the limit
// the stream waits for the answers, and closes instead (to have everything
// confirmed by its summary) only if a query fails, or the answers confirm
// nothing new for a second.
//
// Threads: every method runs in the stream's turn (one turn at a time, on
// whichever thread runs the stream: see produce_stream.h). A query's
// answer arrives on a gRPC callback thread, which keeps it, publishes it
// through an atomic and tells Callbacks::OnQueryAnswered(); the stream
// applies it in a later turn, with TakeAnswer().
//
// Usage, in a stream that implements ConfirmationQuery::Callbacks:
//   ConfirmationQuery confirmation(stubs->typed.get(), production,
//                                  options.max_unconfirmed, this);
//   // At each turn:
//   confirmation.TakeAnswer(now);
//   confirmation.MaybeAsk(now);
//   // With nothing more to write now:
//   if (std::optional<absl::Time> resume = confirmation.ResumeAt(now)) {
//     PauseUntil(*resume);  // ended early by OnQueryAnswered()
//   } else {
//     StartWritesDone();
//   }
#ifndef PRODUCER_SERVICE_CONFIRMATION_QUERY_H_
#define PRODUCER_SERVICE_CONFIRMATION_QUERY_H_

#include <atomic>
#include <cstdint>
#include <optional>

#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "producer_service/producer_state_call.h"
#include "producer_service/production.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"

namespace messaging {

class ConfirmationQuery : private ProducerStateCall::Callbacks {
 public:
  // What the stream is told about its queries.
  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // A query is about to start: the stream must stay alive (a gRPC hold)
    // until OnQueryAnswered(). Runs in the stream's turn.
    virtual void OnQueryStarted() = 0;
    // The query ended; its answer, or its error, waits for TakeAnswer().
    // Runs on a gRPC callback thread. The query touches neither the stream
    // nor its ConfirmationQuery after this call, so the stream may end
    // from here on.
    virtual void OnQueryAnswered() = 0;
  };

  // Asks `stub` about production->producer_id(). `production` and
  // `callbacks` must outlive every query started (the stream's hold sees
  // to that).
  ConfirmationQuery(v1::ConsumerService::Stub* stub, Production* production,
                    int64_t max_unconfirmed, Callbacks* callbacks);
  ConfirmationQuery(const ConfirmationQuery&) = delete;
  ConfirmationQuery& operator=(const ConfirmationQuery&) = delete;

  // Applies the answer of a finished query, if there is one: drops from
  // the production what the consumer holds (Production::ConfirmSent).
  void TakeAnswer(absl::Time now);

  // Starts a query when a quarter of max_unconfirmed messages wait, none
  // is in flight, the last one ended at least a millisecond ago, and the
  // limit is not reached (there ResumeAt() asks).
  void MaybeAsk(absl::Time now);

  // For a stream with nothing more to write now: while the unconfirmed
  // limit holds it back, when to look again, InfiniteFuture meaning at the
  // answer of the query in flight (started now if none is). nullopt when
  // it should close instead: it is not held back, the last query failed,
  // or queries have confirmed nothing new for a second (the consumer may
  // also have ended the stream, which the producer learns only by
  // writing); its summary, or its error, then says the rest.
  std::optional<absl::Time> ResumeAt(absl::Time now);

  // An answer waits for TakeAnswer(). A stream that pauses for one checks
  // this after setting up its pause: the answer may have come before.
  bool answered() const;

 private:
  enum class State { kIdle, kInFlight, kAnswered };

  void Ask();
  // The query's answer, on a gRPC callback thread.
  void OnProducerState(const grpc::Status& status,
                       const v1::ProducerState& state) override;

  v1::ConsumerService::Stub* const stub_;
  Production* const production_;
  const size_t threshold_;
  Callbacks* const callbacks_;
  std::atomic<State> state_{State::kIdle};
  // Written by Answer() before state_ becomes kAnswered, read by
  // TakeAnswer() only in that state.
  grpc::Status answer_status_;
  v1::ProducerState answer_;
  bool last_failed_ = false;
  absl::Time next_query_at_ = absl::InfinitePast();
  // Since when queries have confirmed nothing new; InfiniteFuture if the
  // last one did.
  absl::Time stalled_since_ = absl::InfiniteFuture();
};

}  // namespace messaging

#endif  // PRODUCER_SERVICE_CONFIRMATION_QUERY_H_
