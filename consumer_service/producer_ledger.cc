#include "consumer_service/producer_ledger.h"

#include "absl/strings/str_cat.h"

namespace messaging {

absl::StatusOr<ProducerLedger::Admission> ProducerLedger::Admit(
    const v1::Mensaje& message, MessageLog* log) {
  absl::MutexLock lock(&mutex_);
  auto found = producers_.find(message.producer_id());
  const bool known = found != producers_.end();
  if (known) {
    Producer& producer = found->second;
    if (message.sequence() < producer.next_sequence) {
      ++producer.duplicates_dropped;
      return Admission{Verdict::kDuplicate, producer.log_position};
    }
    if (message.sequence() > producer.next_sequence) {
      return absl::FailedPreconditionError(absl::StrCat(
          "Mensaje.sequence ", message.sequence(), " of producer '",
          message.producer_id(), "' leaves a gap: the consumer expects ",
          producer.next_sequence, "; resume from there (GetProducerState)"));
    }
  }
  uint64_t position = 0;
  if (log != nullptr) {
    absl::StatusOr<uint64_t> appended = log->Append(message);
    if (!appended.ok()) return appended.status();
    position = *appended;
  }
  Producer& producer =
      known ? found->second : producers_[message.producer_id()];
  producer.next_sequence = message.sequence() + 1;
  producer.log_position = position;
  ++producer.messages_received;
  return Admission{Verdict::kAccepted, position};
}

void ProducerLedger::Restore(const v1::Mensaje& message, uint64_t position) {
  absl::MutexLock lock(&mutex_);
  Producer& producer = producers_[message.producer_id()];
  producer.next_sequence = message.sequence() + 1;
  producer.log_position = position;
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
