// The producer side: builds the demo's Mensaje sequence and streams it into
// a consumer's Consume RPC, closing the stream (WritesDone) as the FIN
// signal.
//
// Usage:
//   ProducerOptions options;
//   options.producer_id = "host-1";
//   options.count = 10;
//   absl::Status done = RunProducer(options, std::cout);
//
// Or, with a channel of your own (tests):
//   ProduceReactor reactor(stub.get(), options, &std::cout);
//   absl::StatusOr<v1::ConsumeSummary> summary = reactor.Await();
#ifndef PRODUCER_SERVICE_PRODUCER_H_
#define PRODUCER_SERVICE_PRODUCER_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/alarm.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"

namespace messaging {

struct ProducerOptions {
  // The consumer's address, in gRPC target syntax (host:port, dns:///...).
  std::string target = "localhost:50051";
  // Messages to send, "Mensaje 0" to "Mensaje <count-1>".
  int64_t count = 5;
  // Pause between two messages; zero sends as fast as the stream allows.
  absl::Duration interval = absl::Milliseconds(100);
  // Size of each message's payload field, in bytes.
  int64_t payload_bytes = 0;
  // Names this producer in every message; required.
  std::string producer_id;
  // How long to wait for the consumer to become reachable.
  absl::Duration connect_timeout = absl::Seconds(10);
  // One "Produciendo: ..." line per message on stdout.
  bool print_messages = true;
};

// OK, or INVALID_ARGUMENT naming the flag at fault and what it accepts.
absl::Status ValidateProducerOptions(const ProducerOptions& options);

// Fills messages of one producer. The payload is made once and kept, so a
// reused message costs no allocation per sequence.
class MensajeFactory {
 public:
  MensajeFactory(std::string producer_id, int64_t payload_bytes);

  // Makes `message` the one with this sequence, created at `now`.
  void Fill(uint64_t sequence, absl::Time now, v1::Mensaje* message) const;

 private:
  const std::string producer_id_;
  const std::string payload_;
};

// One Consume stream, written by gRPC's callback API: each OnWriteDone
// starts the next write (after options.interval), and after the last
// message the reactor closes the stream, which is the FIN signal.
class ProduceReactor final : public grpc::ClientWriteReactor<v1::Mensaje> {
 public:
  // Starts the call at once. `console`, when not null, gets one
  // "Produciendo: ..." line per message.
  ProduceReactor(v1::ConsumerService::Stub* stub,
                 const ProducerOptions& options, std::ostream* console);

  // Blocks until the call ends; the consumer's summary, or the RPC's error.
  absl::StatusOr<v1::ConsumeSummary> Await();

  // Stops after the message in flight and closes the stream. Thread-safe.
  void Stop();

  // Messages handed to the stream so far.
  uint64_t messages_sent() const;

  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  void WriteNextOrClose();

  const ProducerOptions options_;
  std::ostream* const console_;
  const MensajeFactory factory_;
  grpc::ClientContext context_;
  v1::ConsumeSummary summary_;
  v1::Mensaje outgoing_;
  grpc::Alarm interval_alarm_;

  mutable absl::Mutex mutex_;
  uint64_t next_sequence_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stop_requested_ ABSL_GUARDED_BY(mutex_) = false;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mutex_);
};

// One line describing the consumer's summary, for the console.
std::string FormatSummary(const v1::ConsumeSummary& summary);

// Connects to options.target (waiting up to options.connect_timeout), sends
// the messages, prints the consumer's summary and the demo's closing line to
// `out`. SIGINT/SIGTERM stop it early, which is reported as CANCELLED.
// Requires BlockTerminationSignals() before any thread starts.
absl::Status RunProducer(const ProducerOptions& options, std::ostream& out);

}  // namespace messaging

#endif  // PRODUCER_SERVICE_PRODUCER_H_
