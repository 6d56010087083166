// One producer's Consume or ConsumeBatches stream on the consumer: a
// reactor of gRPC's callback API that owns itself, as in gRPC's
// route_guide callback server. The constructor starts the first read;
// OnReadDone decodes each read in place (mensaje_decoder.h), hands its
// messages to the Acceptor and re-arms, or, while the log's queue is full,
// has the log re-arm it once it has room; at the producer's FIN it answers
// with the stream's ConsumeSummary once its messages are durable; OnDone is
// its only death. No thread per stream, so one consumer holds thousands.
//
// Threads: reads, the FIN and OnDone run on gRPC's callback threads, one at
// a time per stream. Two others may end the call: the IdleReaper's thread
// (OnIdle) and the log's writer thread (the durability callback), which
// also re-arms a paused stream. Both go
// through the reactor's link, under its mutex; see consume_reactor.cc.
//
// Usage (in a raw callback method of the service):
//   return new ConsumeReactor(ConsumeReactor::kMensajeBatch, &acceptor,
//                             &reaper, &listener, summary,
//                             /*gate=*/nullptr);  // or the peer's gate
#ifndef CONSUMER_SERVICE_CONSUME_REACTOR_H_
#define CONSUMER_SERVICE_CONSUME_REACTOR_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "consumer_service/acceptor.h"
#include "consumer_service/consume_stream.h"
#include "consumer_service/idle_reaper.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"

namespace messaging {

// Told when a stream is done; the service that admitted it implements it,
// to free the stream's slot.
class StreamEndListener {
 public:
  virtual ~StreamEndListener() = default;

  // Once per stream, from its OnDone, on a gRPC thread. `code`: the status
  // the stream ended with (OK: with its summary), CANCELLED when it was
  // cancelled before the consumer answered.
  virtual void OnStreamEnded(absl::StatusCode code) = 0;
};

class ConsumeReactor final : public grpc::ServerReadReactor<grpc::ByteBuffer>,
                             private IdleStream {
 public:
  // How a stream's reads are decoded: one Mensaje each (Consume), or one
  // MensajeBatch each (ConsumeBatches).
  struct Format;
  static const Format kMensaje;
  static const Format kMensajeBatch;

  // Starts reading. All pointers must outlive the reactor; `summary` is the
  // call's response, a serialized ConsumeSummary. `gate`, when not null,
  // decides whether the peer may write the stream's producer id
  // (ProducerAuthorizer::GateFor); null lets it write any. `context` is
  // the call's.
  ConsumeReactor(const Format& format, Acceptor* acceptor, IdleReaper* reaper,
                 StreamEndListener* listener,
                 grpc::CallbackServerContext* context,
                 grpc::ByteBuffer* summary,
                 std::unique_ptr<const ProducerIdGate> gate);

  void OnReadDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // What the reactor shares with the threads that may end its call; private
  // to the reactor, defined in the .cc.
  class Link;

  // IdleStream, on the reaper's thread.
  absl::Time LastActivity() const override;
  void OnIdle(const absl::Status& status) override;

  // The decoded messages of read_, given to the acceptor; the error that
  // ends the stream, if any.
  absl::Status DecodeAndAccept(absl::Time now);
  // The producer closed its side: the FIN. (Or the call broke; then
  // OnCancel has run or will, and nobody receives the answer.)
  void CloseWhenDurable();

  const Format& format_;
  Acceptor* const acceptor_;
  IdleReaper* const reaper_;
  StreamEndListener* const listener_;
  grpc::CallbackServerContext* const context_;
  grpc::ByteBuffer* const summary_;
  const std::shared_ptr<Link> link_;
  const std::unique_ptr<const ProducerIdGate> gate_;

  ConsumeStream stream_;
  grpc::ByteBuffer read_;
  uint64_t reads_ = 0;
  // Time of the last read, in Unix nanoseconds; read by the reaper.
  std::atomic<int64_t> last_activity_nanos_;
  // Set by OnCancel, which may run on another thread than the reads.
  std::atomic<bool> cancelled_{false};
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_CONSUME_REACTOR_H_
