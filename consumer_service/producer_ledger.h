// What the consumer knows of each producer: the next sequence it expects
// and where that producer's last accepted message sits in the log. This is
// the de-duplication state, rebuilt from the log at start.
//
// Usage:
//   ProducerLedger ledger;
//   absl::StatusOr<Admission> admission = ledger.Admit(message, log);
//   if (admission.ok() && admission->verdict == Verdict::kDuplicate) ...
//   ProducerLedger::Standing standing = ledger.Lookup("producer-1");
#ifndef CONSUMER_SERVICE_PRODUCER_LEDGER_H_
#define CONSUMER_SERVICE_PRODUCER_LEDGER_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "consumer_service/message_log.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

class ProducerLedger {
 public:
  enum class Verdict { kAccepted, kDuplicate };

  struct Admission {
    Verdict verdict;
    // Once the log is durable up to here, this message (accepted or a
    // duplicate of an accepted one) is durable. 0 without a log.
    uint64_t log_position;
  };

  // Accepts `message` if its sequence is the producer's next one (or the
  // producer is new), appending it to `log` (null: keep nothing) in the
  // same critical section, so the log holds each producer's messages in
  // sequence order. A sequence below the next one is a duplicate and is
  // not appended. FAILED_PRECONDITION for a gap; the log's error if it
  // cannot take the message.
  absl::StatusOr<Admission> Admit(const v1::Mensaje& message, MessageLog* log);

  // Records a message replayed from the log at `position`.
  void Restore(const v1::Mensaje& message, uint64_t position);

  struct Standing {
    bool known = false;
    uint64_t next_sequence = 0;
    // Everything below next_sequence is durable once the log is durable
    // up to here.
    uint64_t log_position = 0;
  };
  Standing Lookup(absl::string_view producer_id) const;

  // Adds one ProducerStats per producer, ordered by id.
  void AddProducerStats(v1::ConsumerStats* stats) const;

 private:
  struct Producer {
    uint64_t next_sequence = 0;
    uint64_t log_position = 0;
    uint64_t messages_received = 0;
    uint64_t duplicates_dropped = 0;
  };

  mutable absl::Mutex mutex_;
  std::map<std::string, Producer, std::less<>> producers_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_PRODUCER_LEDGER_H_
