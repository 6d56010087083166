#include "producer_service/production.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace messaging {
namespace {

// Messages of a per-message stream kept together, as a batch would be: at
// most this many, and at most a quarter of --max_unconfirmed, since only
// whole groups already sent are dropped when confirmed mid-stream.
constexpr int64_t kMaxMessagesPerGroup = 1024;

}  // namespace

struct Production::Batch {
  uint64_t first_sequence = 0;
  // When each message was created, in Unix nanoseconds; message i has
  // sequence first_sequence + i.
  std::vector<int64_t> created_nanos;

  size_t size() const { return created_nanos.size(); }
  // Requires size() > 0.
  uint64_t last_sequence() const { return first_sequence + size() - 1; }
  // Drops the first `count` messages, which the consumer holds.
  void DropFront(size_t count) {
    created_nanos.erase(created_nanos.begin(), created_nanos.begin() + count);
    first_sequence += count;
  }
};

Production::Production(const ProducerOptions& options, uint64_t first_sequence)
    : count_(static_cast<uint64_t>(options.count)),
      interval_(options.interval),
      rate_(options.rate),
      nanos_per_message_(options.rate > 0 ? 1e9 / options.rate : 0),
      max_unconfirmed_(static_cast<size_t>(options.max_unconfirmed)),
      // Per-message streams group messages too, to recycle them.
      batch_capacity_(
          options.batch_size > 1
              ? static_cast<size_t>(options.batch_size)
              : static_cast<size_t>(std::clamp<int64_t>(
                    options.max_unconfirmed / 4, 1, kMaxMessagesPerGroup))),
      encoder_(options.producer_id, options.payload_bytes),
      framing_(options.batch_size > 1 ? MensajeEncoder::kBatchElement
                                      : MensajeEncoder::kMessage),
      next_sequence_(first_sequence) {}

Production::~Production() = default;

void Production::StartStream() {
  // A batch left open by a broken stream is resent like the others.
  last_batch_open_ = false;
  cursor_batch_ = 0;
  cursor_message_ = 0;
}

bool Production::CanProduce() const {
  return !stopped_ && produced_ < count_ && unconfirmed_ < max_unconfirmed_;
}

void Production::AppendBatch() {
  if (spare_batches_.empty()) {
    batches_.push_back(std::make_unique<Batch>());
  } else {
    // clear() keeps the memory.
    batches_.push_back(std::move(spare_batches_.back()));
    spare_batches_.pop_back();
    batches_.back()->created_nanos.clear();
  }
  batches_.back()->first_sequence = next_sequence_;
}

void Production::RecycleFrontBatch() {
  spare_batches_.push_back(std::move(batches_.front()));
  batches_.pop_front();
}

absl::Time Production::ScheduledAt(uint64_t index) const {
  // In integer nanoseconds: absl::Seconds(double) was a tenth of a paced
  // producer's time, as it takes this for every message.
  return absl::FromUnixNanos(
      first_produced_nanos_ +
      static_cast<int64_t>(static_cast<double>(index) * nanos_per_message_));
}

absl::Time Production::NextDue() const {
  if (produced_ == 0) return absl::InfinitePast();
  if (rate_ > 0) return ScheduledAt(produced_);
  return last_produced_at_ + interval_;
}

absl::Time Production::DueAfter(size_t messages) const {
  if (produced_ > 0 && rate_ > 0) return ScheduledAt(produced_ + messages - 1);
  return NextDue();
}

size_t Production::DueCount(absl::Time now) const {
  if (!CanProduce()) return 0;
  const uint64_t allowed =
      std::min<uint64_t>(count_ - produced_, max_unconfirmed_ - unconfirmed_);
  uint64_t due = allowed;
  if (produced_ > 0 && rate_ > 0) {
    // Message k is due at ScheduledAt(k).
    const int64_t elapsed = absl::ToUnixNanos(now) - first_produced_nanos_;
    const uint64_t due_total =
        elapsed < 0 ? 0
                    : static_cast<uint64_t>(static_cast<double>(elapsed) /
                                            nanos_per_message_) +
                          1;
    due = due_total > produced_ ? due_total - produced_ : 0;
  } else if (produced_ > 0 && interval_ > absl::ZeroDuration()) {
    due = NextDue() <= now ? 1 : 0;
  } else if (rate_ > 0 || interval_ > absl::ZeroDuration()) {
    due = 1;  // the first one; the others are paced from it
  }
  return static_cast<size_t>(std::min(due, allowed));
}

void Production::Produce(std::ostream* console, absl::Time now) {
  // With --rate a message is created at its time in the schedule: one made
  // late, after a pause that overslept or a reconnect, carries the wait in
  // its latency, as it would in an application producing at that rate.
  const absl::Time created =
      rate_ > 0 && produced_ > 0 ? std::min(now, NextDue()) : now;
  const int64_t created_nanos = absl::ToUnixNanos(created);
  if (produced_ == 0) first_produced_nanos_ = created_nanos;
  last_produced_at_ = created;
  batches_.back()->created_nanos.push_back(created_nanos);
  if (console != nullptr) {
    *console << "Produciendo: Mensaje " << next_sequence_ << std::endl;
  }
  ++next_sequence_;
  ++produced_;
  ++unconfirmed_;
}

absl::string_view Production::Encode(const Batch& batch, size_t first,
                                     size_t count) {
  const size_t room = count * encoder_.max_encoded_size();
  if (wire_.size() < room) wire_.resize(room);
  char* end = wire_.data();
  for (size_t i = first; i < first + count; ++i) {
    end = encoder_.Encode(batch.first_sequence + i,
                          absl::FromUnixNanos(batch.created_nanos[i]), framing_,
                          end);
  }
  wire_used_ = static_cast<size_t>(end - wire_.data());
  return absl::string_view(wire_.data(), wire_used_);
}

std::string Production::TakeEncoding() {
  wire_.resize(wire_used_);
  wire_used_ = 0;
  return std::exchange(wire_, std::string());
}

std::optional<absl::string_view> Production::NextToSend(std::ostream* console) {
  while (cursor_batch_ < batches_.size()) {
    const Batch& batch = *batches_[cursor_batch_];
    if (cursor_message_ < batch.size()) {
      return Encode(batch, cursor_message_++, 1);
    }
    if (cursor_batch_ + 1 == batches_.size()) break;  // room left in it
    ++cursor_batch_;
    cursor_message_ = 0;
  }
  if (!CanProduce()) return std::nullopt;
  if (batches_.empty() || batches_.back()->size() >= batch_capacity_) {
    AppendBatch();
  }
  Produce(console, absl::Now());
  cursor_batch_ = batches_.size() - 1;
  cursor_message_ = batches_.back()->size();
  return Encode(*batches_.back(), cursor_message_ - 1, 1);
}

bool Production::NextIsNew() const {
  return batches_.empty() || (cursor_batch_ == batches_.size() - 1 &&
                              cursor_message_ == batches_.back()->size());
}

bool Production::HasUnsentBatch() const {
  return cursor_batch_ < batches_.size() - (last_batch_open_ ? 1 : 0);
}

std::optional<absl::string_view> Production::NextUnsentBatch() {
  if (!HasUnsentBatch()) return std::nullopt;
  const Batch& batch = *batches_[cursor_batch_++];
  return Encode(batch, 0, batch.size());
}

size_t Production::ProduceIntoOpenBatch(std::ostream* console, absl::Time now,
                                        size_t count) {
  size_t produced = 0;
  for (; produced < count && CanProduce(); ++produced) {
    if (!last_batch_open_) {
      // Batches of a batch stream start empty, so no message is sent twice
      // on one stream.
      AppendBatch();
      last_batch_open_ = true;
    }
    Produce(console, now);
  }
  return produced;
}

size_t Production::open_batch_size() const {
  return last_batch_open_ ? batches_.back()->size() : 0;
}

absl::Time Production::open_batch_started() const {
  return absl::FromUnixNanos(batches_.back()->created_nanos.front());
}

absl::string_view Production::SealOpenBatch() {
  last_batch_open_ = false;
  cursor_batch_ = batches_.size();
  return Encode(*batches_.back(), 0, batches_.back()->size());
}

void Production::Confirm(uint64_t next_sequence) {
  while (!batches_.empty()) {
    Batch& front = *batches_.front();
    const size_t confirmed =
        next_sequence <= front.first_sequence
            ? 0
            : std::min<uint64_t>(next_sequence - front.first_sequence,
                                 front.size());
    unconfirmed_ -= confirmed;
    if (confirmed < front.size()) {
      front.DropFront(confirmed);
      break;
    }
    RecycleFrontBatch();
  }
  last_batch_open_ = false;
  cursor_batch_ = 0;
  cursor_message_ = 0;
}

void Production::ConfirmSent(uint64_t next_sequence) {
  while (cursor_batch_ > 0) {
    const Batch& front = *batches_.front();
    if (front.size() > 0 && front.last_sequence() >= next_sequence) break;
    unconfirmed_ -= front.size();
    RecycleFrontBatch();
    --cursor_batch_;
  }
}

bool Production::HeldBackByLimit() const {
  return !stopped_ && produced_ < count_ && unconfirmed_ >= max_unconfirmed_;
}

bool Production::Finished() const {
  return unconfirmed_ == 0 && (stopped_ || produced_ >= count_);
}

uint64_t Production::first_unconfirmed_sequence() const {
  return batches_.empty() ? next_sequence_ : batches_.front()->first_sequence;
}

}  // namespace messaging
