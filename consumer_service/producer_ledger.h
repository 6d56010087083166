// What the consumer knows of each producer: the next sequence it expects
// and where that producer's last accepted message sits in the log. This is
// the de-duplication state, rebuilt from the log at start.
//
// Usage:
//   ProducerLedger ledger;
//   std::vector<ProducerLedger::Verdict> verdicts;
//   absl::Status admitted = ledger.Admit({view}, log, &verdicts);
//   if (verdicts[0] == ProducerLedger::Verdict::kDuplicate) ...
//   ProducerLedger::Standing standing = ledger.Lookup("producer-1");
#ifndef CONSUMER_SERVICE_PRODUCER_LEDGER_H_
#define CONSUMER_SERVICE_PRODUCER_LEDGER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "consumer_service/message_log.h"
#include "protos/messaging/v1/messaging.pb.h"
#include "protos/messaging/v1/wire/mensaje_view.h"

namespace messaging {

class ProducerLedger {
 public:
  enum class Verdict { kAccepted, kDuplicate };

  // Admits `messages`, all of one producer, in order: a message whose
  // sequence is the producer's next one (or any sequence, for a producer
  // not seen yet) is accepted and appended to `log` (null: keep nothing);
  // one below is a duplicate and is not appended. Ledger and log are each
  // locked once for all of them, and each producer's messages reach the
  // log in sequence order. `verdicts` gets one verdict per admitted
  // message. Stops at the first message refused: FAILED_PRECONDITION for a
  // gap, or the log's error; the messages before it stay admitted.
  absl::Status Admit(absl::Span<const MensajeView> messages, MessageLog* log,
                     std::vector<Verdict>* verdicts);

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
