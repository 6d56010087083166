#include "consumer_service/producer_ledger.h"

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"

namespace messaging {

absl::Status ProducerLedger::Admit(absl::Span<const MensajeView> messages,
                                   MessageLog* log,
                                   std::vector<Verdict>* verdicts) {
  verdicts->clear();
  if (messages.empty()) return absl::OkStatus();
  const absl::string_view producer_id = messages.front().producer_id;
  absl::MutexLock lock(&mutex_);
  auto found = producers_.find(producer_id);
  const bool known = found != producers_.end();
  uint64_t next_sequence =
      known ? found->second.next_sequence : messages.front().sequence;
  // The encodings of the accepted messages, for the log.
  absl::InlinedVector<absl::string_view, 16> accepted;
  absl::Status refused;
  uint64_t duplicates = 0;
  for (const MensajeView& message : messages) {
    if (message.sequence > next_sequence) {
      refused = absl::FailedPreconditionError(absl::StrCat(
          "Mensaje.sequence ", message.sequence, " of producer '", producer_id,
          "' leaves a gap: the consumer expects ", next_sequence,
          "; resume from there (GetProducerState)"));
      break;
    }
    if (message.sequence < next_sequence) {
      verdicts->push_back(Verdict::kDuplicate);
      ++duplicates;
      continue;
    }
    verdicts->push_back(Verdict::kAccepted);
    accepted.push_back(message.encoding);
    ++next_sequence;
  }
  uint64_t position = known ? found->second.log_position : 0;
  if (log != nullptr && !accepted.empty()) {
    // Before this call changes anything, the state is exactly that of the
    // records appended so far, which is what the snapshot must describe.
    if (log->ShouldRoll()) log->Roll(SnapshotLocked());
    absl::StatusOr<uint64_t> appended = log->Append(accepted);
    if (!appended.ok()) {
      verdicts->clear();  // nothing of this call was accepted after all
      return appended.status();
    }
    position = *appended;
  }
  if (!known && accepted.empty()) {
    // A new producer whose first message was refused leaves no trace.
    return refused;
  }
  Producer& producer =
      known ? found->second : producers_[std::string(producer_id)];
  producer.next_sequence = next_sequence;
  producer.log_position = position;
  producer.last_activity_unix_nanos = absl::GetCurrentTimeNanos();
  producer.messages_received += accepted.size();
  producer.duplicates_dropped += duplicates;
  return refused;
}

void ProducerLedger::Restore(const v1::Mensaje& message, uint64_t end_offset) {
  absl::MutexLock lock(&mutex_);
  Producer& producer = producers_[message.producer_id()];
  producer.next_sequence = message.sequence() + 1;
  producer.log_position = end_offset;
  // The log keeps no time of admission; the producer's clock is the best
  // left.
  producer.last_activity_unix_nanos =
      google::protobuf::util::TimeUtil::TimestampToNanoseconds(
          message.created_at());
}

void ProducerLedger::OnSnapshot(
    const consumer::v1::ProducerStateSnapshot& snapshot) {
  absl::MutexLock lock(&mutex_);
  producers_.clear();
  for (const consumer::v1::ProducerState& state : snapshot.producers()) {
    Producer& producer = producers_[state.producer_id()];
    producer.next_sequence = state.next_sequence();
    producer.last_activity_unix_nanos = state.last_activity_unix_nanos();
    // log_position stays 0: everything in a snapshot is durable.
  }
}

void ProducerLedger::SnapshotTo(MessageLog* log) {
  absl::MutexLock lock(&mutex_);
  log->WriteSnapshot(SnapshotLocked());
}

consumer::v1::ProducerStateSnapshot ProducerLedger::SnapshotLocked() const {
  consumer::v1::ProducerStateSnapshot snapshot;
  for (const auto& [producer_id, producer] : producers_) {
    consumer::v1::ProducerState* state = snapshot.add_producers();
    state->set_producer_id(producer_id);
    state->set_next_sequence(producer.next_sequence);
    state->set_last_activity_unix_nanos(producer.last_activity_unix_nanos);
  }
  return snapshot;
}

ProducerLedger::Standing ProducerLedger::Lookup(
    absl::string_view producer_id) const {
  absl::MutexLock lock(&mutex_);
  auto found = producers_.find(producer_id);
  if (found == producers_.end()) return Standing{};
  return Standing{true, found->second.next_sequence,
                  found->second.log_position};
}

void ProducerLedger::AddProducerStats(v1::ConsumerStats* stats) const {
  absl::MutexLock lock(&mutex_);
  for (const auto& [producer_id, producer] : producers_) {
    v1::ProducerStats* entry = stats->add_producers();
    entry->set_producer_id(producer_id);
    entry->set_messages_received(producer.messages_received);
    entry->set_last_sequence(producer.next_sequence - 1);
    entry->set_duplicates_dropped(producer.duplicates_dropped);
  }
}

}  // namespace messaging
