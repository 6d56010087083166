// The rules one Consume stream must follow, and what it has received so far.
//
// Pure logic with no gRPC dependency, so every rule is unit-testable; the
// reactor in consumer_service_impl.h feeds it each message it reads.
//
// Usage:
//   ConsumeStream stream(absl::Now());
//   absl::Status accepted = stream.Accept(message, absl::Now());
//   if (!accepted.ok()) { /* end the RPC with this status */ }
//   messaging::v1::ConsumeSummary summary = stream.Summary();
#ifndef CONSUMER_SERVICE_CONSUME_STREAM_H_
#define CONSUMER_SERVICE_CONSUME_STREAM_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

// Bytes a message counts for in summaries and statistics.
uint64_t CountedBytes(const v1::Mensaje& message);

class ConsumeStream {
 public:
  // Returns OK and records the message if it may follow the messages
  // accepted so far; otherwise INVALID_ARGUMENT naming the field at fault,
  // and the stream's state is unchanged.
  absl::Status Accept(const v1::Mensaje& message, absl::Time received_at);

  // What this stream has accepted.
  v1::ConsumeSummary Summary() const;

  uint64_t messages_received() const { return messages_received_; }

 private:
  std::string producer_id_;
  uint64_t messages_received_ = 0;
  uint64_t bytes_received_ = 0;
  uint64_t first_sequence_ = 0;
  uint64_t last_sequence_ = 0;
  absl::Time first_received_at_;
  absl::Time last_received_at_;
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_CONSUME_STREAM_H_
