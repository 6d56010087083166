// The producer's streams: one Consume or ConsumeBatches call that sends a
// Production's messages, the unconfirmed ones first, and closes
// (WritesDone, the FIN signal) when the production has nothing more for
// it; the consumer answers with its ConsumeSummary.
//
// StartProduceStream() picks the kind from the options: with batch_size 1
// a MessageStream (Consume, a message per write), above a BatchStream
// (ConsumeBatches, a MensajeBatch per write). Both are raw calls
// (ConsumerStubs::raw) writing the encodings Production keeps, and gRPC
// callback-API reactors (ClientBidiReactor) that own themselves: the
// caller keeps a ProduceCall, where the reactor leaves the call's outcome
// in OnDone, having deleted itself (and its ClientContext, which must not
// outlive the channel) first.
//
// A turn of the stream writes what is due (the next message by --interval
// or --rate; a batch when full, when nothing more is due yet and its first
// message would wait past --batch_delay, or at the end; single messages
// due within --batch_delay of the first unsent one share its frame:
// WriteCoalescer), or pauses until it is, or, with nothing more to write,
// closes the stream, unless it waits at --max_unconfirmed for the consumer
// to confirm (ConfirmationQuery, beside the stream).
//
// Which thread runs what, from RunProducer to the wire:
//   - Whichever thread the run is on (ProducerRun in producer.cc: a gRPC
//     callback or the Pacer's; or a test's) calls StartProduceStream(),
//     which starts the call and makes the first turn, and returns.
//   - gRPC callback threads: OnWriteDone() makes the next turn,
//     OnReadDone() keeps the summary, OnDone() deletes the reactor, then
//     leaves the outcome in the ProduceCall, which tells its Observer
//     (the run) and wakes Await() (a test).
//   - The shared Pacer thread (pacer.h): a turn that pauses continues
//     there at its time, or at once after ProduceCall::WakeUp().
//   - The GetProducerState query's callback, on a gRPC callback thread:
//     ends a pause that waits for its answer
//     (ConfirmationQuery::Callbacks::OnQueryAnswered()).
//   - Any thread (the signal watcher, through ProducerRun::Stop()):
//     Production::Stop(), then ProduceCall::WakeUp().
// A turn only starts when the one before has ended (its write done, its
// pause over), so turns never overlap: the stream's state and its
// Production need no lock. What crosses threads is the outcome (behind
// ProduceCall's mutex) and a query's answer (behind ConfirmationQuery's
// atomic).
//
// Usage:
//   Production production(options, /*first_sequence=*/0);
//   ConsumerStubs stubs(channel);
//   std::unique_ptr<ProduceCall> call =
//       StartProduceStream(&stubs, &production, options, &std::cout);
//   absl::StatusOr<v1::ConsumeSummary> summary = call->Await();
#ifndef PRODUCER_SERVICE_PRODUCE_STREAM_H_
#define PRODUCER_SERVICE_PRODUCE_STREAM_H_

#include <memory>
#include <ostream>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "producer_service/consumer_stubs.h"
#include "producer_service/producer_options.h"
#include "producer_service/production.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

// One stream's outcome, for whoever started it: told to an Observer, or
// awaited.
class ProduceCall {
 public:
  // Told when the call has ended and its stream is gone.
  class Observer {
   public:
    virtual ~Observer() = default;
    // The consumer's summary, or the RPC's error (with the consumer's retry
    // pushback, when it sent one). Runs on a gRPC callback thread, as the
    // last thing the call does: the observer may destroy the ProduceCall
    // from here, and start the next one.
    virtual void OnProduceDone(
        const absl::StatusOr<v1::ConsumeSummary>& outcome,
        absl::Duration retry_pushback) = 0;
  };

  // Waits for the call to end if it has not, as the stream still uses it.
  virtual ~ProduceCall() = default;

  // Blocks until the call ends; the consumer's summary, or the RPC's error
  // (with the consumer's retry pushback, when it sent one, in
  // retry_pushback()).
  virtual absl::StatusOr<v1::ConsumeSummary> Await() = 0;
  virtual absl::Duration retry_pushback() const = 0;
  // Blocks until the call ends or `deadline` passes; whether it ended.
  virtual bool WaitUntil(absl::Time deadline) = 0;

  // Ends the stream's pauses early from now on, so that a stream whose
  // Production was stopped closes at once. Thread-safe.
  virtual void WakeUp() = 0;
};

// Starts one stream of `production`'s messages on stubs->raw, and confirms
// them beside it on stubs->typed: Consume with options.batch_size 1,
// ConsumeBatches above. `console`, when not null and options.print_messages
// is set, gets one "Produciendo: ..." line per new message. `observer`,
// when not null, is told the outcome. `stubs`, `production`, `console`
// and `observer` must outlive the returned call.
std::unique_ptr<ProduceCall> StartProduceStream(
    ConsumerStubs* stubs, Production* production,
    const ProducerOptions& options, std::ostream* console,
    ProduceCall::Observer* observer = nullptr);

}  // namespace messaging

#endif  // PRODUCER_SERVICE_PRODUCE_STREAM_H_
