// The rules of one Consume stream, and what it has received so far.
//
// Pure logic with no gRPC dependency, so every rule is unit-testable; the
// reactor in consume_reactor.cc feeds it each message it reads. Rules
// across streams (sequence order, duplicates) belong to ProducerLedger.
// Whether the stream's peer may write its producer id is the
// ProducerIdGate's to say, asked once, at the first message: a stream
// carries one producer id.
//
// Usage:
//   ConsumeStream stream(/*gate=*/nullptr);  // or the peer's gate
//   absl::Status valid = stream.Check(message);
//   if (!valid.ok()) { /* end the RPC with this status */ }
//   stream.RecordAccepted(message, absl::Now());  // or RecordDuplicate()
//   v1::ConsumeSummary summary = stream.Summary(next_sequence);
#ifndef CONSUMER_SERVICE_CONSUME_STREAM_H_
#define CONSUMER_SERVICE_CONSUME_STREAM_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "protos/messaging/v1/messaging.pb.h"
#include "protos/messaging/v1/wire/mensaje_view.h"

namespace messaging {

// Bytes a message counts for in summaries and statistics.
uint64_t CountedBytes(const MensajeView& message);

// Decides whether a stream's peer may write a producer id.
class ProducerIdGate {
 public:
  virtual ~ProducerIdGate() = default;

  // OK, or the status that ends the stream (PERMISSION_DENIED).
  virtual absl::Status MayWrite(absl::string_view producer_id) const = 0;
};

class ConsumeStream {
 public:
  // `gate`, when not null, must outlive the stream; null lets the stream
  // carry any producer id.
  explicit ConsumeStream(const ProducerIdGate* gate = nullptr) : gate_(gate) {}

  // OK if `message` may come next on this stream; otherwise
  // INVALID_ARGUMENT naming the field at fault (an empty or too long
  // producer id, a sequence at or above kSequenceLimit, another producer
  // id than the first message's), or the gate's refusal of the first
  // message's producer id.
  absl::Status Check(const MensajeView& message);

  void RecordAccepted(const MensajeView& message, absl::Time received_at);
  void RecordDuplicate() { ++duplicates_dropped_; }

  // What this stream has accepted; `next_sequence` is the producer's
  // standing when the stream closed.
  v1::ConsumeSummary Summary(uint64_t next_sequence) const;

  // The producer id of the stream's first message, empty before it.
  const std::string& producer_id() const { return producer_id_; }

 private:
  const ProducerIdGate* const gate_;
  std::string producer_id_;
  uint64_t messages_checked_ = 0;
  uint64_t messages_received_ = 0;
  uint64_t duplicates_dropped_ = 0;
  uint64_t bytes_received_ = 0;
  uint64_t first_sequence_ = 0;
  uint64_t last_sequence_ = 0;
  absl::Time first_received_at_;
  absl::Time last_received_at_;
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_CONSUME_STREAM_H_
