#include "consumer_service/producer_ledger.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"

namespace messaging {

ProducerLedger::Admission ProducerLedger::Judge(
    absl::Span<const MensajeView> messages,
    std::vector<Verdict>* verdicts) const {
  verdicts->clear();
  Admission admission;
  if (messages.empty()) return admission;
  admission.producer_id = messages.front().producer_id;
  {
    absl::MutexLock lock(&mutex_);
    auto found = producers_.find(admission.producer_id);
    admission.known = found != producers_.end();
    if (admission.known) {
      admission.next_sequence = found->second.next_sequence;
      admission.log_position = found->second.log_position;
    } else if (producers_.size() >= max_producers_) {
      admission.refused = absl::ResourceExhaustedError(absl::StrCat(
          "the consumer already tracks ", producers_.size(),
          " producer ids (--max_producers); new producer id '",
          admission.producer_id, "' refused, the known ones go on"));
      return admission;
    } else {
      admission.next_sequence = messages.front().sequence;
    }
  }
  for (const MensajeView& message : messages) {
    if (message.sequence > admission.next_sequence) {
      admission.refused = absl::FailedPreconditionError(absl::StrCat(
          "Mensaje.sequence ", message.sequence, " of producer '",
          admission.producer_id, "' leaves a gap: the consumer expects ",
          admission.next_sequence, "; resume from there (GetProducerState)"));
      break;
    }
    if (message.sequence < admission.next_sequence) {
      verdicts->push_back(Verdict::kDuplicate);
      ++admission.duplicates;
      continue;
    }
    verdicts->push_back(Verdict::kAccepted);
    ++admission.accepted;
    ++admission.next_sequence;
  }
  return admission;
}

void ProducerLedger::Record(const Admission& admission) {
  // A new producer whose first message was refused leaves no trace.
  if (!admission.known && admission.accepted == 0) return;
  absl::MutexLock lock(&mutex_);
  auto found = producers_.find(admission.producer_id);
  if (found == producers_.end()) {
    found = producers_.emplace(std::string(admission.producer_id), Producer())
                .first;
  }
  Producer& producer = found->second;
  producer.next_sequence = admission.next_sequence;
  producer.log_position = admission.log_position;
  producer.last_activity_unix_nanos = admission.at_unix_nanos;
  producer.messages_received += admission.accepted;
  producer.duplicates_dropped += admission.duplicates;
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

size_t ProducerLedger::ForgetIdle(int64_t idle_before_unix_nanos) {
  absl::MutexLock lock(&mutex_);
  size_t forgotten = 0;
  for (auto it = producers_.begin(); it != producers_.end();) {
    if (it->second.last_activity_unix_nanos < idle_before_unix_nanos) {
      it = producers_.erase(it);
      ++forgotten;
    } else {
      ++it;
    }
  }
  return forgotten;
}

consumer::v1::ProducerStateSnapshot ProducerLedger::Snapshot() const {
  absl::MutexLock lock(&mutex_);
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

uint64_t ProducerLedger::producer_count() const {
  absl::MutexLock lock(&mutex_);
  return producers_.size();
}

bool ProducerLedger::ListProducers(
    const ProducerRange& range,
    google::protobuf::RepeatedPtrField<v1::ProducerStats>* page) const {
  absl::MutexLock lock(&mutex_);
  // The first id of the range: the prefix's first, or the one after `after`.
  auto it = producers_.lower_bound(range.prefix);
  if (!range.after.empty() && range.after >= range.prefix) {
    it = producers_.upper_bound(range.after);
  }
  size_t added = 0;
  for (; it != producers_.end() && absl::StartsWith(it->first, range.prefix);
       ++it, ++added) {
    if (added == range.limit) return true;
    const Producer& producer = it->second;
    v1::ProducerStats* entry = page->Add();
    entry->set_producer_id(it->first);
    entry->set_messages_received(producer.messages_received);
    entry->set_last_sequence(producer.next_sequence - 1);
    entry->set_duplicates_dropped(producer.duplicates_dropped);
  }
  return false;
}

}  // namespace messaging
