// What the consumer knows of each producer: the next sequence it expects,
// where that producer's last accepted message sits in the log, when it was
// last active, and how many of its messages were received and dropped as
// duplicates. This is the de-duplication state, rebuilt at start from the
// log's newest producer-state snapshot and the records after it (the ledger
// is the log's LogRecoveryListener), and snapshotted whenever the log rolls.
//
// The ledger decides; it does not write. Admitting messages is two steps,
// Judge (the verdicts, changing nothing) and Record (the outcome), so that
// the Acceptor can append the accepted messages to the log between them and
// record nothing when the append fails.
//
// Usage:
//   ProducerLedger ledger;
//   std::vector<ProducerLedger::Verdict> verdicts;
//   ProducerLedger::Admission admission = ledger.Judge({view}, &verdicts);
//   admission.log_position = ...;  // where the log put the accepted ones
//   ledger.Record(admission);
//   if (verdicts[0] == ProducerLedger::Verdict::kDuplicate) ...
//   ProducerLedger::Standing standing = ledger.Lookup("producer-1");
//   uint64_t tracked = ledger.producer_count();
//   bool more = ledger.ListProducers({.after = "p-7", .limit = 100}, &page);
//   log->Roll(ledger.Snapshot());  // when the log is due to roll
#ifndef CONSUMER_SERVICE_PRODUCER_LEDGER_H_
#define CONSUMER_SERVICE_PRODUCER_LEDGER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "consumer_service/log_formats.pb.h"
#include "consumer_service/message_log.h"
#include "protos/messaging/v1/messaging.pb.h"
#include "protos/messaging/v1/wire/mensaje_view.h"

namespace messaging {

class ProducerLedger : public LogRecoveryListener {
 public:
  enum class Verdict { kAccepted, kDuplicate };

  // A safe --max_producers: about 40 MB of state at most.
  static constexpr size_t kDefaultMaxProducers = 100000;

  // Judge admits no new producer id once `max_producers` are known; ids
  // restored from the log count too, and are all kept even if more.
  explicit ProducerLedger(size_t max_producers = kDefaultMaxProducers)
      : max_producers_(max_producers) {}

  // What admitting a run of one producer's messages would change.
  struct Admission {
    // Points into the judged messages.
    absl::string_view producer_id;
    bool known = false;
    // The producer's next sequence once the accepted messages are recorded.
    uint64_t next_sequence = 0;
    // Where the producer's last accepted message ends in the log: its
    // current standing, which the caller moves to where the log put the
    // newly accepted ones.
    uint64_t log_position = 0;
    uint64_t accepted = 0;
    uint64_t duplicates = 0;
    // When it is admitted (Unix ns): the producer's last activity, which
    // snapshots keep and ForgetIdle goes by. Set by the caller.
    int64_t at_unix_nanos = 0;
    // FAILED_PRECONDITION for the message that leaves a gap (the verdicts
    // stop before it); RESOURCE_EXHAUSTED for a new producer id beyond
    // max_producers (no verdicts).
    absl::Status refused;
  };

  // Judges `messages`, all of one producer, in order, without changing the
  // ledger: a message whose sequence is the producer's next one (or any
  // sequence, for a producer not seen yet) is accepted; one below is a
  // duplicate; one above leaves a gap, and judging stops there. `verdicts`
  // gets one verdict per message judged. A producer not seen yet while
  // max_producers are known is refused whole.
  //
  // Between a Judge and the Record of its admission, no other admission of
  // the same producer may be judged or recorded: the caller serializes them
  // (Acceptor holds one lock across both and the log append).
  Admission Judge(absl::Span<const MensajeView> messages,
                  std::vector<Verdict>* verdicts) const;

  // Makes `admission`, from Judge, the producer's standing and counts its
  // messages. A producer not seen before and accepted nothing leaves no
  // trace.
  void Record(const Admission& admission);

  // Records a message replayed from the log, ending at `end_offset`.
  void Restore(const v1::Mensaje& message, uint64_t end_offset);

  // LogRecoveryListener: a snapshot replaces the state; records Restore.
  void OnSnapshot(const consumer::v1::ProducerStateSnapshot& snapshot) override;
  void OnRecord(const v1::Mensaje& message, uint64_t end_offset) override {
    Restore(message, end_offset);
  }

  // Forgets every producer last active before `idle_before_unix_nanos`, as
  // Kafka expires idle producer ids: a producer that comes back is new
  // again. The number forgotten.
  size_t ForgetIdle(int64_t idle_before_unix_nanos);

  // Every producer's standing, for a producer-state snapshot. It describes
  // the log's records exactly when no admission is between its Judge and
  // its Record, which the Acceptor's lock ensures.
  consumer::v1::ProducerStateSnapshot Snapshot() const;

  struct Standing {
    bool known = false;
    uint64_t next_sequence = 0;
    // Everything below next_sequence is durable once the log is durable
    // up to this offset.
    uint64_t log_position = 0;
  };
  Standing Lookup(absl::string_view producer_id) const;

  // Producers tracked, in O(1) (the map keeps its size): GetStats and every
  // scrape ask, and must not walk 100,000 producers under the lock the
  // streams' admissions take.
  uint64_t producer_count() const;

  // Which producers ListProducers adds.
  struct ProducerRange {
    // Only ids that sort after this one (empty: from the first).
    absl::string_view after;
    // Only ids that start with this.
    absl::string_view prefix;
    size_t limit = 0;
  };
  // Adds the first `range.limit` producers of `range` to `page`, ordered by
  // id, in O(log n + limit). Whether more producers of the range follow.
  bool ListProducers(
      const ProducerRange& range,
      google::protobuf::RepeatedPtrField<v1::ProducerStats>* page) const;

 private:
  struct Producer {
    uint64_t next_sequence = 0;
    uint64_t log_position = 0;
    // When a message of it was last admitted (Unix ns), for snapshots.
    int64_t last_activity_unix_nanos = 0;
    uint64_t messages_received = 0;
    uint64_t duplicates_dropped = 0;
  };

  const size_t max_producers_;
  mutable absl::Mutex mutex_;
  std::map<std::string, Producer, std::less<>> producers_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_PRODUCER_LEDGER_H_
