#include "consumer_service/acceptor.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace messaging {
namespace {

using Verdict = ProducerLedger::Verdict;

// What Accept reuses from read to read. Kept per thread rather than per
// stream, as the decoder's scratch is: a read's verdicts and totals are
// done with before Accept returns.
struct AcceptScratch {
  std::vector<Verdict> verdicts;
  StatsDelta delta;
};

AcceptScratch& ThreadScratch() {
  thread_local AcceptScratch scratch;
  return scratch;
}

}  // namespace

Acceptor::Acceptor(std::unique_ptr<ProducerLedger> ledger,
                   std::unique_ptr<MessageLog> log,
                   ConsumerStatsRecorder* stats, std::ostream* console,
                   absl::Duration producer_state_expiry)
    : ledger_(std::move(ledger)),
      log_(std::move(log)),
      stats_(stats),
      producer_state_expiry_(producer_state_expiry),
      expiry_check_interval_(std::clamp(producer_state_expiry / 10,
                                        absl::Seconds(1), absl::Minutes(1))),
      console_(console) {}

Acceptor::~Acceptor() {
  // The log's destructor makes everything appended durable, and the writer
  // thread tells OnDurable, which counts into uncounted_ and stats_: those
  // must not be destroyed yet, as members declared after log_ would be.
  log_.reset();
}

absl::Status Acceptor::Accept(absl::Span<const MensajeView> messages,
                              absl::Time now, ConsumeStream* stream) {
  absl::Status invalid;
  size_t valid = 0;
  for (; valid < messages.size(); ++valid) {
    invalid = stream->Check(messages[valid]);
    if (!invalid.ok()) break;
  }
  AcceptScratch& scratch = ThreadScratch();
  uint64_t end_offset = 0;
  const absl::Status admitted =
      Admit(messages.subspan(0, valid), now, &scratch.verdicts, &end_offset);
  StatsDelta& delta = scratch.delta;
  delta.Clear();
  for (size_t i = 0; i < scratch.verdicts.size(); ++i) {
    if (scratch.verdicts[i] == Verdict::kDuplicate) {
      stream->RecordDuplicate();
      ++delta.duplicates;
    } else {
      stream->RecordAccepted(messages[i], now);
      delta.Accepted(messages[i], now);
      PrintConsumed(messages[i]);
    }
  }
  if (log_ != nullptr && delta.messages > 0) {
    // Statistics count a message once it is durable, as summaries confirm.
    CountWhenDurable(end_offset, delta.messages, delta.bytes);
    delta.messages = 0;
    delta.bytes = 0;
  }
  stats_->Record(delta);
  return admitted.ok() ? invalid : admitted;
}

absl::Status Acceptor::Admit(absl::Span<const MensajeView> messages,
                             absl::Time now, std::vector<Verdict>* verdicts,
                             uint64_t* end_offset) {
  absl::MutexLock lock(&admission_mutex_);
  MaybeForgetIdle(now);
  ProducerLedger::Admission admission = ledger_->Judge(messages, verdicts);
  admission.at_unix_nanos = absl::ToUnixNanos(now);
  if (log_ != nullptr && admission.accepted > 0) {
    absl::InlinedVector<absl::string_view, 16> encodings;
    for (size_t i = 0; i < verdicts->size(); ++i) {
      if ((*verdicts)[i] == Verdict::kAccepted) {
        encodings.push_back(messages[i].encoding);
      }
    }
    if (log_->ShouldRoll()) log_->Roll(ledger_->Snapshot());
    absl::StatusOr<uint64_t> appended = log_->Append(encodings);
    if (!appended.ok()) {
      verdicts->clear();  // nothing of this read was accepted after all
      return appended.status();
    }
    admission.log_position = *appended;
    *end_offset = *appended;
  }
  ledger_->Record(admission);
  return admission.refused;
}

void Acceptor::WhenDurable(const ProducerLedger::Standing& standing,
                           std::shared_ptr<DurabilityWaiter> waiter) {
  if (log_ == nullptr) {
    waiter->OnDurable(absl::OkStatus());
    return;
  }
  // The log takes a function; this one only carries the waiter to it.
  log_->WhenDurable(standing.log_position,
                    [waiter = std::move(waiter)](absl::Status durable) {
                      waiter->OnDurable(std::move(durable));
                    });
}

bool Acceptor::WhenLogHasRoom(std::shared_ptr<LogRoomWaiter> waiter) {
  return log_ == nullptr ||
         log_->WhenQueueHasRoom(
             [waiter = std::move(waiter)] { waiter->OnLogRoom(); });
}

void Acceptor::MaybeForgetIdle(absl::Time now) {
  if (producer_state_expiry_ == absl::InfiniteDuration() ||
      now < next_expiry_check_) {
    return;
  }
  next_expiry_check_ = now + expiry_check_interval_;
  // Under the admission lock: the ledger then describes exactly the log's
  // records, and the next snapshot leaves the forgotten producers out.
  const size_t forgotten =
      ledger_->ForgetIdle(absl::ToUnixNanos(now - producer_state_expiry_));
  if (forgotten > 0) {
    LogInfo(absl::StrCat("forgot ", forgotten, " producers idle for over ",
                         absl::FormatDuration(producer_state_expiry_),
                         " (--producer_state_expiry)"),
            {{"producers_forgotten", forgotten}});
  }
}

void Acceptor::CountWhenDurable(uint64_t end_offset, uint64_t messages,
                                uint64_t bytes) {
  {
    absl::MutexLock lock(&uncounted_mutex_);
    // The log may have become durable past them before they got here; then
    // no later OnDurable would come for them.
    if (end_offset > durable_offset_) {
      uncounted_.push_back({end_offset, messages, bytes});
      return;
    }
  }
  stats_->RecordDurable(messages, bytes);
}

void Acceptor::OnDurable(uint64_t offset) {
  uint64_t messages = 0;
  uint64_t bytes = 0;
  {
    absl::MutexLock lock(&uncounted_mutex_);
    durable_offset_ = std::max(durable_offset_, offset);
    auto durable = std::partition(
        uncounted_.begin(), uncounted_.end(),
        [offset](const Uncounted& read) { return read.end_offset > offset; });
    for (auto read = durable; read != uncounted_.end(); ++read) {
      messages += read->messages;
      bytes += read->bytes;
    }
    uncounted_.erase(durable, uncounted_.end());
  }
  if (messages > 0) stats_->RecordDurable(messages, bytes);
}

void Acceptor::SnapshotForShutdown() {
  if (log_ == nullptr) return;
  absl::MutexLock lock(&admission_mutex_);
  log_->WriteSnapshot(ledger_->Snapshot());
}

void Acceptor::PrintConsumed(const MensajeView& message) {
  if (console_ == nullptr) return;
  absl::MutexLock lock(&console_mutex_);
  *console_ << "Consumiendo: " << message.text << std::endl;
}

}  // namespace messaging
