// The rules of one Consume stream, and what it has received so far.
//
// Pure logic with no gRPC dependency, so every rule is unit-testable; the
// reactor in consumer_service_impl.cc feeds it each message it reads. Rules
// across streams (sequence order, duplicates) belong to ProducerLedger.
//
// Usage:
//   ConsumeStream stream;
//   absl::Status valid = stream.Check(message);
//   if (!valid.ok()) { /* end the RPC with this status */ }
//   stream.RecordAccepted(message, absl::Now());  // or RecordDuplicate()
//   v1::ConsumeSummary summary = stream.Summary(next_sequence);
#ifndef CONSUMER_SERVICE_CONSUME_STREAM_H_
#define CONSUMER_SERVICE_CONSUME_STREAM_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "protos/messaging/v1/messaging.pb.h"
#include "protos/messaging/v1/wire/mensaje_view.h"

namespace messaging {

// Bytes a message counts for in summaries and statistics.
uint64_t CountedBytes(const MensajeView& message);

class ConsumeStream {
 public:
  // OK if `message` may come next on this stream; otherwise
  // INVALID_ARGUMENT naming the field at fault.
  absl::Status Check(const MensajeView& message);

  void RecordAccepted(const MensajeView& message, absl::Time received_at);
  void RecordDuplicate() { ++duplicates_dropped_; }

  // What this stream has accepted; `next_sequence` is the producer's
  // standing when the stream closed.
  v1::ConsumeSummary Summary(uint64_t next_sequence) const;

  // The producer id of the stream's first message, empty before it.
  const std::string& producer_id() const { return producer_id_; }

 private:
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
