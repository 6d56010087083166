// What the consumer knows of each producer: the next sequence it expects
// and where that producer's last accepted message sits in the log. This is
// the de-duplication state, rebuilt at start from the log's newest
// producer-state snapshot and the records after it (the ledger is the
// log's LogRecoveryListener), and snapshotted whenever the log rolls.
//
// Usage:
//   ProducerLedger ledger;
//   std::vector<ProducerLedger::Verdict> verdicts;
//   absl::Status admitted = ledger.Admit({view}, log, &verdicts);
//   if (verdicts[0] == ProducerLedger::Verdict::kDuplicate) ...
//   ProducerLedger::Standing standing = ledger.Lookup("producer-1");
//   ledger.SnapshotTo(log);  // at a clean shutdown, after the last Admit
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
#include "consumer_service/log_formats.pb.h"
#include "consumer_service/mensaje_view.h"
#include "consumer_service/message_log.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

class ProducerLedger : public LogRecoveryListener {
 public:
  enum class Verdict { kAccepted, kDuplicate };

  // Admits `messages`, all of one producer, in order: a message whose
  // sequence is the producer's next one (or any sequence, for a producer
  // not seen yet) is accepted and appended to `log` (null: keep nothing);
  // one below is a duplicate and is not appended. Ledger and log are each
  // locked once for all of them, and each producer's messages reach the
  // log in sequence order. `verdicts` gets one verdict per admitted
  // message. Stops at the first message refused: FAILED_PRECONDITION for a
  // gap, or the log's error; the messages before it stay admitted. Rolls
  // the log first when it is due, snapshotting the state under the same
  // lock that orders the appends.
  absl::Status Admit(absl::Span<const MensajeView> messages, MessageLog* log,
                     std::vector<Verdict>* verdicts);

  // Records a message replayed from the log, ending at `end_offset`.
  void Restore(const v1::Mensaje& message, uint64_t end_offset);

  // LogRecoveryListener: a snapshot replaces the state; records Restore.
  void OnSnapshot(const consumer::v1::ProducerStateSnapshot& snapshot) override;
  void OnRecord(const v1::Mensaje& message, uint64_t end_offset) override {
    Restore(message, end_offset);
  }

  // Has `log` snapshot the state at its current end, for a clean shutdown
  // (then the next start replays nothing). Call after the last Admit.
  void SnapshotTo(MessageLog* log);

  struct Standing {
    bool known = false;
    uint64_t next_sequence = 0;
    // Everything below next_sequence is durable once the log is durable
    // up to this offset.
    uint64_t log_position = 0;
  };
  Standing Lookup(absl::string_view producer_id) const;

  // Adds one ProducerStats per producer, ordered by id.
  void AddProducerStats(v1::ConsumerStats* stats) const;

 private:
  struct Producer {
    uint64_t next_sequence = 0;
    uint64_t log_position = 0;
    // When a message of it was last admitted (Unix ns), for snapshots.
    int64_t last_activity_unix_nanos = 0;
    uint64_t messages_received = 0;
    uint64_t duplicates_dropped = 0;
  };

  consumer::v1::ProducerStateSnapshot SnapshotLocked() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  mutable absl::Mutex mutex_;
  std::map<std::string, Producer, std::less<>> producers_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_PRODUCER_LEDGER_H_
