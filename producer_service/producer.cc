#include "producer_service/producer.h"

#include <algorithm>
#include <optional>
#include <random>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/metadata_keys.h"
#include "common/termination_signals.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "producer_service/pacer.h"
#include "protos/messaging/v1/wire/byte_buffers.h"
#include "protos/messaging/v1/wire/method_paths.h"

namespace messaging {
namespace {

using google::protobuf::util::TimeUtil;

// Far above any sensible payload, well below gRPC's own hard limits.
constexpr int64_t kMaxPayloadBytes = 64 * 1024 * 1024;
constexpr int64_t kMaxBatchSize = 65536;
constexpr int kMaxStreams = 10000;
// A GetProducerState query beside a stream that takes longer is given up.
constexpr absl::Duration kConfirmationTimeout = absl::Seconds(10);
// At most one query per kQuerySpacing; after kMaxConfirmationStall of
// queries confirming nothing new, a stream at its limit closes instead.
constexpr absl::Duration kQuerySpacing = absl::Milliseconds(1);
constexpr absl::Duration kMaxConfirmationStall = absl::Seconds(1);
// Messages of a per-message stream kept together, as a batch would be: at
// most this many, and at most a quarter of --max_unconfirmed, since only
// whole groups already sent are dropped when confirmed mid-stream.
constexpr int64_t kMaxMessagesPerGroup = 1024;
// Stands for the producer's consumer shard in --target.
constexpr char kShardPlaceholder[] = "{shard}";

absl::Status FromGrpcStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

// Exponential backoff with ±20 % jitter, as gRPC's own reconnects do, so
// producers cut off together do not come back together.
class Backoff {
 public:
  Backoff(absl::Duration initial, absl::Duration max)
      : initial_(initial), max_(max), next_(initial) {}

  absl::Duration Next() {
    const absl::Duration current = next_;
    next_ = std::min(next_ * 2, max_);
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    return current * jitter(random_);
  }
  void Reset() { next_ = initial_; }

 private:
  const absl::Duration initial_;
  const absl::Duration max_;
  absl::Duration next_;
  std::mt19937 random_{std::random_device{}()};
};

// Adds one stream's summary to the run's.
void Accumulate(const v1::ConsumeSummary& stream, v1::ConsumeSummary* run) {
  if (run->messages_received() == 0 && stream.messages_received() > 0) {
    run->set_first_sequence(stream.first_sequence());
  }
  if (stream.messages_received() > 0) {
    run->set_last_sequence(stream.last_sequence());
  }
  run->set_producer_id(stream.producer_id());
  run->set_messages_received(run->messages_received() +
                             stream.messages_received());
  run->set_bytes_received(run->bytes_received() + stream.bytes_received());
  run->set_duplicates_dropped(run->duplicates_dropped() +
                              stream.duplicates_dropped());
  run->set_next_sequence(stream.next_sequence());
  *run->mutable_duration() = TimeUtil::NanosecondsToDuration(
      TimeUtil::DurationToNanoseconds(run->duration()) +
      TimeUtil::DurationToNanoseconds(stream.duration()));
}

}  // namespace

absl::Status ValidateProducerOptions(const ProducerOptions& options) {
  if (options.target.empty()) {
    return absl::InvalidArgumentError(
        "--target is empty; give the consumer's address, e.g. "
        "localhost:50051");
  }
  const bool has_placeholder =
      options.target.find(kShardPlaceholder) != std::string::npos;
  if (options.consumer_shards < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--consumer_shards=", options.consumer_shards, " must be at least 1"));
  }
  if (has_placeholder != (options.consumer_shards > 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--target='", options.target,
        "' and --consumer_shards=", options.consumer_shards,
        " disagree: with more than one shard the "
        "target must contain ",
        kShardPlaceholder,
        " (e.g. dns:///consumer-{shard}.consumer-headless:50051), and only "
        "then"));
  }
  if (options.count < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--count=", options.count, " is negative; use 0 or more"));
  }
  if (options.rate < 0 ||
      (options.rate > 0 && options.interval > absl::ZeroDuration())) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rate=", options.rate,
                     " must be 0 or more, and not used together "
                     "with --interval: pace by one or the other"));
  }
  if (options.payload_bytes < 0 || options.payload_bytes > kMaxPayloadBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--payload_bytes=", options.payload_bytes,
                     " is out of range; use 0 to ", kMaxPayloadBytes));
  }
  if (options.producer_id.empty()) {
    return absl::InvalidArgumentError(
        "--producer_id is empty; give this producer a name");
  }
  if (options.batch_size < 1 || options.batch_size > kMaxBatchSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--batch_size=", options.batch_size,
        " is out of range; use 1 (no batches) to ", kMaxBatchSize));
  }
  if (options.streams < 1 || options.streams > kMaxStreams) {
    return absl::InvalidArgumentError(
        absl::StrCat("--streams=", options.streams,
                     " is out of range; use 1 to ", kMaxStreams));
  }
  if (options.max_unconfirmed < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_unconfirmed=", options.max_unconfirmed, " must be at least 1"));
  }
  const struct {
    const char* flag;
    absl::Duration value;
    bool zero_allowed;
  } durations[] = {
      {"interval", options.interval, true},
      {"batch_delay", options.batch_delay, true},
      {"connect_timeout", options.connect_timeout, false},
      {"deadline", options.deadline, false},
      {"initial_backoff", options.initial_backoff, false},
      {"max_backoff", options.max_backoff, false},
  };
  for (const auto& duration : durations) {
    if (duration.value < absl::ZeroDuration() ||
        (duration.value == absl::ZeroDuration() && !duration.zero_allowed)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", duration.flag, "=", absl::FormatDuration(duration.value),
          duration.zero_allowed ? " is negative; use 0 or more, e.g. 100ms"
                                : " must be positive, e.g. 10s"));
    }
  }
  if (options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError(
        "--max_backoff must not be below --initial_backoff");
  }
  return absl::OkStatus();
}

int ConsumerShard(absl::string_view producer_id, int shards) {
  uint64_t hash = 14695981039346656037u;  // FNV-1a, 64 bits
  for (char c : producer_id) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211u;
  }
  return static_cast<int>(hash % static_cast<uint64_t>(shards));
}

std::string ResolveTarget(const ProducerOptions& options) {
  if (options.consumer_shards <= 1) return options.target;
  return absl::StrReplaceAll(
      options.target, {{kShardPlaceholder,
                        absl::StrCat(ConsumerShard(options.producer_id,
                                                   options.consumer_shards))}});
}

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
  return absl::string_view(wire_.data(),
                           static_cast<size_t>(end - wire_.data()));
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

absl::StatusOr<v1::ConsumeSummary> ProduceCall::Await() {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(&done_));
  if (!status_.ok()) return FromGrpcStatus(status_);
  return summary_;
}

void ProduceCall::WakeUp() {
  absl::MutexLock lock(&mutex_);
  woken_ = true;
  Pacer::Shared().Advance(this);
}

void ProduceCall::RunAt(absl::Time when, std::function<void()> continuation) {
  absl::MutexLock lock(&mutex_);
  Pacer::Shared().RunAt(this, woken_ ? absl::InfinitePast() : when,
                        std::move(continuation));
}

void ProduceCall::ResumeNow() { Pacer::Shared().Advance(this); }

void ProduceCall::RecordOutcome(const grpc::Status& status) {
  const auto& trailers = context_.GetServerTrailingMetadata();
  if (auto pushback = trailers.find(kRetryPushbackKey);
      pushback != trailers.end()) {
    int64_t millis = 0;
    if (absl::SimpleAtoi(
            absl::string_view(pushback->second.data(), pushback->second.size()),
            &millis)) {
      retry_pushback_ = absl::Milliseconds(millis);
    }
  }
  absl::MutexLock lock(&mutex_);
  status_ = status;
  done_ = true;
}

template <typename Request>
ProduceReactor<Request>::ProduceReactor(ConsumerStubs* stubs,
                                        Production* production,
                                        const ProducerOptions& options,
                                        std::ostream* console)
    : stubs_(stubs),
      production_(production),
      batch_size_(
          static_cast<size_t>(std::max<int64_t>(1, options.batch_size))),
      confirmation_threshold_(static_cast<size_t>(
          std::max<int64_t>(1, options.max_unconfirmed / 4))),
      console_(console),
      coalescer_(options.batch_delay) {
  production_->StartStream();
  stubs_->raw.PrepareBidiStreamingCall(&context_,
                                       std::is_same_v<Request, v1::MensajeBatch>
                                           ? ConsumeBatchesPath()
                                           : ConsumePath(),
                                       grpc::StubOptions(), this);
  // The first operation is started here, outside any reaction, and may
  // be a pause: gRPC requires a hold taken before StartCall for that, or
  // the call could end and be freed under it.
  AddHold();
  StartCall();
  StartRead(&summary_buffer_);
  WriteNextOrClose();
  RemoveHold();
}

template <typename Request>
void ProduceReactor<Request>::OnReadDone(bool ok) {
  if (!ok) return;  // no answer: OnDone brings the status
  grpc::Slice slice;
  summary_parsed_ =
      ContiguousSlice(summary_buffer_, &slice) &&
      summary_.ParseFromArray(slice.begin(), static_cast<int>(slice.size()));
}

template <typename Request>
void ProduceReactor<Request>::OnDone(const grpc::Status& status) {
  if (status.ok() && !summary_parsed_) {
    RecordOutcome(grpc::Status(
        grpc::StatusCode::INTERNAL,
        "the consumer ended the stream without a valid ConsumeSummary"));
    return;
  }
  RecordOutcome(status);
}

template <typename Request>
void ProduceReactor<Request>::Write(absl::string_view request, absl::Time now) {
  // gRPC holds a write with the buffer hint until a later one without it,
  // to coalesce writes into few frames and syscalls; WriteCoalescer bounds
  // how long. It needs when the next write is due: now for a resend or a
  // full batch already due; a single message's successor when it is due,
  // in the past if it is late; never while nothing more may be produced
  // (a confirmation may wait for what this write carries). A batch not yet
  // full is left unknown: it is sent when full or when the batch delay has
  // passed, whichever is first.
  absl::Time next_due = absl::InfiniteFuture();
  if constexpr (std::is_same_v<Request, v1::MensajeBatch>) {
    if (production_->HasUnsentBatch() ||
        production_->DueCount(now) >= batch_size_) {
      next_due = now;
    }
  } else {
    if (!production_->NextIsNew()) {
      next_due = now;
    } else if (production_->CanProduce()) {
      next_due = production_->NextDue();
    }
  }
  const bool hold = coalescer_.Hold(now, next_due);
  write_buffer_ = ByteBufferOf(request);
  if (hold) {
    StartWrite(&write_buffer_, grpc::WriteOptions().set_buffer_hint());
  } else {
    StartWrite(&write_buffer_);
  }
}

template <typename Request>
void ProduceReactor<Request>::WriteNextOrClose() {
  // Messages made back to back share one creation time: reading the clock
  // for each was a visible share of the producer's time.
  const absl::Time now = absl::Now();
  TakeConfirmation(now);
  MaybeAskForConfirmation(now);
  if constexpr (std::is_same_v<Request, v1::MensajeBatch>) {
    if (std::optional<absl::string_view> resent =
            production_->NextUnsentBatch()) {
      Write(*resent, now);
      return;
    }
    size_t open;
    while ((open = production_->open_batch_size()) < batch_size_ &&
           production_->CanProduce()) {
      const absl::Time due = production_->NextDue();
      if (due > now) {
        // Send the open batch if its first message would wait past the
        // batch delay (the coalescer's bound too); else sleep until the
        // batch is full or must be sent. Messages made late carry their
        // scheduled time (--rate), so the sleep counts in their latency.
        const absl::Time send_by =
            (open > 0 ? production_->open_batch_started() : due) +
            coalescer_.max_delay();
        if (open > 0 && due >= send_by) break;
        ContinueAt(
            std::min(send_by, production_->DueAfter(batch_size_ - open)));
        return;
      }
      // The next one is due, and maybe more: make them in one go.
      production_->ProduceIntoOpenBatch(
          console_, now,
          std::clamp<size_t>(production_->DueCount(now), 1,
                             batch_size_ - open));
    }
    if (production_->open_batch_size() > 0) {
      Write(production_->SealOpenBatch(), now);
    } else if (!PauseForConfirmation(now)) {
      StartWritesDone();
    }
  } else {
    if (production_->NextIsNew() && production_->CanProduce()) {
      const absl::Time due = production_->NextDue();
      if (due > now) {
        // While writes are held, the messages due until they must be sent
        // are made then, together.
        ContinueAt(coalescer_.ResumeAt(due));
        return;
      }
    }
    if (std::optional<absl::string_view> next =
            production_->NextToSend(console_)) {
      Write(*next, now);
    } else if (!PauseForConfirmation(now)) {
      StartWritesDone();
    }
  }
}

template <typename Request>
void ProduceReactor<Request>::ContinueAt(absl::Time when) {
  // The hold keeps the call alive until the next operation has started.
  AddHold();
  RunAt(when, [this] {
    WriteNextOrClose();
    RemoveHold();
  });
}

template <typename Request>
void ProduceReactor<Request>::MaybeAskForConfirmation(absl::Time now) {
  // At the limit PauseForConfirmation() asks instead.
  if (query_state_.load(std::memory_order_acquire) == QueryState::kIdle &&
      now >= next_query_at_ &&
      production_->unconfirmed() >= confirmation_threshold_ &&
      !production_->HeldBackByLimit()) {
    AskForConfirmation();
  }
}

template <typename Request>
void ProduceReactor<Request>::AskForConfirmation() {
  query_ = std::make_unique<ConfirmationQuery>();
  query_->request.set_producer_id(production_->producer_id());
  query_->context.set_deadline(
      absl::ToChronoTime(absl::Now() + kConfirmationTimeout));
  query_state_.store(QueryState::kInFlight, std::memory_order_relaxed);
  // The hold keeps the stream, and so this reactor, alive for the answer.
  AddHold();
  stubs_->typed->async()->GetProducerState(
      &query_->context, &query_->request, &query_->state,
      [this](grpc::Status status) {
        query_->status = std::move(status);
        query_state_.store(QueryState::kAnswered, std::memory_order_release);
        ResumeNow();  // if the stream paused for this answer
        RemoveHold();
      });
}

template <typename Request>
void ProduceReactor<Request>::TakeConfirmation(absl::Time now) {
  if (query_state_.load(std::memory_order_acquire) != QueryState::kAnswered) {
    return;
  }
  const size_t waiting = production_->unconfirmed();
  last_query_failed_ = !query_->status.ok();
  // A producer still unknown to the consumer has nothing confirmed yet.
  if (query_->status.ok() && query_->state.known()) {
    production_->ConfirmSent(query_->state.next_sequence());
  }
  stalled_since_ = production_->unconfirmed() < waiting
                       ? absl::InfiniteFuture()
                       : std::min(stalled_since_, now);
  next_query_at_ = now + kQuerySpacing;
  query_state_.store(QueryState::kIdle, std::memory_order_relaxed);
}

template <typename Request>
bool ProduceReactor<Request>::PauseForConfirmation(absl::Time now) {
  if (!production_->HeldBackByLimit()) return false;
  if (query_state_.load(std::memory_order_acquire) == QueryState::kIdle) {
    // A failed query, or a consumer that confirms nothing for long (it may
    // also have ended the stream, which this side only learns by writing):
    // close, and let the stream's summary or error say the rest.
    if (last_query_failed_ || now - stalled_since_ > kMaxConfirmationStall) {
      return false;
    }
    if (now < next_query_at_) {
      ContinueAt(next_query_at_);
      return true;
    }
    AskForConfirmation();
  }
  ContinueAt(absl::InfiniteFuture());
  // The answer may have come before the pause was set up.
  if (query_state_.load(std::memory_order_acquire) == QueryState::kAnswered) {
    ResumeNow();
  }
  return true;
}

template <typename Request>
void ProduceReactor<Request>::OnWriteDone(bool ok) {
  // A failed write means the call is over; OnDone brings its status.
  if (ok) WriteNextOrClose();
}

template class ProduceReactor<v1::Mensaje>;
template class ProduceReactor<v1::MensajeBatch>;

bool IsRetryable(absl::StatusCode code, bool consumer_asked_to_retry) {
  switch (code) {
    case absl::StatusCode::kUnavailable:  // consumer down or restarting
    case absl::StatusCode::kCancelled:    // cut by the consumer's shutdown
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDeadlineExceeded:  // idle stream, slow answer
      return true;
    case absl::StatusCode::kResourceExhausted:
      // Too many streams is worth a retry; a message too large is not.
      return consumer_asked_to_retry;
    default:
      return false;
  }
}

std::string FormatSummary(const v1::ConsumeSummary& summary) {
  std::string line =
      absl::StrCat("Consumer summary: ", summary.messages_received(),
                   " messages, ", summary.bytes_received(), " bytes");
  if (summary.messages_received() > 0) {
    absl::StrAppend(&line, ", producer ", summary.producer_id(), ", sequences ",
                    summary.first_sequence(), "..", summary.last_sequence(),
                    " in ",
                    absl::FormatDuration(absl::Nanoseconds(
                        TimeUtil::DurationToNanoseconds(summary.duration()))));
  }
  if (summary.duplicates_dropped() > 0) {
    absl::StrAppend(&line, ", ", summary.duplicates_dropped(),
                    " duplicates dropped");
  }
  return line;
}

namespace {

// Runs the production to its end over as many streams as it takes.
class ProducerRun {
 public:
  ProducerRun(const ProducerOptions& options, std::ostream& out,
              ConsumerStubs* stubs)
      : options_(options),
        out_(out),
        stubs_(stubs),
        deadline_(absl::Now() + options.deadline),
        backoff_(options.initial_backoff, options.max_backoff) {}

  // Sends everything; the run's summary is summary() afterwards, also
  // after an early stop.
  absl::Status Run();
  // From the signal watcher: close the stream cleanly and stop.
  void Stop();
  const v1::ConsumeSummary& summary() const { return run_summary_; }

 private:
  // Asks where to resume; on the first call, also where to start.
  absl::Status Resume();
  // One stream; sets `failed` when it broke (then OK means: retry).
  absl::Status Stream(bool* failed);
  // Waits before the next attempt, or gives up with the last error.
  absl::Status BackOff(const absl::Status& failure, absl::Duration pushback);

  const ProducerOptions& options_;
  std::ostream& out_;
  ConsumerStubs* const stubs_;
  const absl::Time deadline_;
  Backoff backoff_;
  std::optional<Production> production_;
  v1::ConsumeSummary run_summary_;
  int failures_ = 0;

  absl::Mutex mutex_;
  bool stop_requested_ ABSL_GUARDED_BY(mutex_) = false;
  ProduceCall* current_reactor_ ABSL_GUARDED_BY(mutex_) = nullptr;
};

void ProducerRun::Stop() {
  absl::MutexLock lock(&mutex_);
  stop_requested_ = true;
  if (production_.has_value()) production_->Stop();
  if (current_reactor_ != nullptr) current_reactor_->WakeUp();
}

absl::Status ProducerRun::Resume() {
  grpc::ClientContext context;
  context.set_wait_for_ready(true);
  context.set_deadline(absl::ToChronoTime(
      std::min(deadline_, absl::Now() + options_.connect_timeout)));
  v1::GetProducerStateRequest request;
  request.set_producer_id(options_.producer_id);
  v1::ProducerState state;
  grpc::Status status =
      stubs_->typed->GetProducerState(&context, request, &state);
  if (!status.ok()) return FromGrpcStatus(status);

  absl::MutexLock lock(&mutex_);
  if (!production_.has_value()) {
    // A producer id's sequence goes on across runs: start where the
    // consumer expects this producer.
    production_.emplace(options_, state.next_sequence());
    if (stop_requested_) production_->Stop();
    return absl::OkStatus();
  }
  const uint64_t first_unconfirmed = production_->first_unconfirmed_sequence();
  if (!state.known() || state.next_sequence() < first_unconfirmed) {
    LogWarning(absl::StrCat("the consumer no longer holds sequences it "
                            "confirmed before ",
                            first_unconfirmed,
                            " (it restarted without --data_dir, or lost its "
                            "log); sending the unconfirmed ones from ",
                            first_unconfirmed),
               {{"producer_id", options_.producer_id},
                {"resend_from_sequence", first_unconfirmed}});
  } else {
    production_->Confirm(state.next_sequence());
  }
  return absl::OkStatus();
}

absl::Status ProducerRun::Stream(bool* failed) {
  std::unique_ptr<ProduceCall> reactor;
  {
    absl::MutexLock lock(&mutex_);
    std::ostream* console = options_.print_messages ? &out_ : nullptr;
    if (options_.batch_size > 1) {
      reactor = std::make_unique<ProduceReactor<v1::MensajeBatch>>(
          stubs_, &*production_, options_, console);
    } else {
      reactor = std::make_unique<ProduceReactor<v1::Mensaje>>(
          stubs_, &*production_, options_, console);
    }
    current_reactor_ = reactor.get();
  }
  absl::StatusOr<v1::ConsumeSummary> summary = reactor->Await();
  {
    absl::MutexLock lock(&mutex_);
    current_reactor_ = nullptr;
  }
  if (!summary.ok()) {
    *failed = true;
    return BackOff(summary.status(), reactor->retry_pushback());
  }
  production_->Confirm(summary->next_sequence());
  Accumulate(*summary, &run_summary_);
  backoff_.Reset();
  return absl::OkStatus();
}

absl::Status ProducerRun::BackOff(const absl::Status& failure,
                                  absl::Duration pushback) {
  ++failures_;
  const bool retryable =
      IsRetryable(failure.code(), pushback > absl::ZeroDuration());
  const std::string what = absl::StrCat(
      absl::StatusCodeToString(failure.code()), ": ", failure.message());
  if (!retryable) {
    return absl::Status(failure.code(),
                        absl::StrCat("the consumer refused the messages (",
                                     what, "); not retrying"));
  }
  const absl::Duration delay = std::max(pushback, backoff_.Next());
  if (absl::Now() + delay > deadline_) {
    return absl::DeadlineExceededError(absl::StrCat(
        "gave up after ", failures_, " failed attempts within --deadline=",
        absl::FormatDuration(options_.deadline), "; last error: ", what));
  }
  LogWarning(absl::StrCat("attempt failed (", what, "); retrying in ",
                          absl::FormatDuration(
                              absl::Trunc(delay, absl::Milliseconds(1)))),
             {{"producer_id", options_.producer_id},
              {"status_code", absl::StatusCodeToString(failure.code())},
              {"attempt", failures_},
              {"retry_in_ms", absl::ToInt64Milliseconds(delay)}});
  absl::MutexLock lock(&mutex_);
  mutex_.AwaitWithTimeout(absl::Condition(&stop_requested_), delay);
  return absl::OkStatus();
}

absl::Status ProducerRun::Run() {
  // Where to resume is asked first and after every failure; a stream that
  // ended well has said it in its summary.
  bool resume = true;
  while (true) {
    if (resume) {
      if (absl::Status resumed = Resume(); !resumed.ok()) {
        // The first time there is nothing to do without the consumer.
        if (!production_.has_value() &&
            resumed.code() == absl::StatusCode::kDeadlineExceeded) {
          return absl::UnavailableError(
              absl::StrCat("consumer at ", ResolveTarget(options_),
                           " is not reachable after ",
                           absl::FormatDuration(options_.connect_timeout),
                           "; start consumer_service there, or set --target / "
                           "--connect_timeout"));
        }
        if (absl::Status waited = BackOff(resumed, absl::ZeroDuration());
            !waited.ok()) {
          return waited;
        }
        continue;
      }
      resume = false;
    }
    if (production_->Finished()) break;
    if (absl::Status streamed = Stream(&resume); !streamed.ok()) {
      return streamed;
    }
  }
  if (production_->stopped()) {
    return absl::CancelledError(absl::StrCat(
        "stopped by a signal after ", production_->produced(), " of ",
        options_.count, " messages; every one sent was confirmed"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunProducer(const ProducerOptions& options, std::ostream& out) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(options.use_tls, options.tls);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments arguments;
  // Channelz, which nothing here reads, reads the clock and counts for
  // every message sent.
  arguments.SetInt(GRPC_ARG_ENABLE_CHANNELZ, 0);
  if (!options.tls_server_name.empty()) {
    arguments.SetSslTargetNameOverride(options.tls_server_name);
  }
  const std::string target = ResolveTarget(options);
  if (target != options.target) {
    LogInfo(absl::StrCat("producer ", options.producer_id, " uses consumer ",
                         target),
            {{"producer_id", options.producer_id}, {"target", target}});
  }
  ConsumerStubs stubs(
      grpc::CreateCustomChannel(target, *credentials, arguments));

  // One run per stream, each with a producer id of its own.
  std::vector<std::unique_ptr<ProducerRun>> runs;
  std::vector<ProducerOptions> stream_options(options.streams, options);
  for (int i = 0; i < options.streams; ++i) {
    if (options.streams > 1) {
      stream_options[i].producer_id = absl::StrCat(options.producer_id, "-", i);
    }
    runs.push_back(
        std::make_unique<ProducerRun>(stream_options[i], out, &stubs));
  }
  TerminationSignalWatcher stop_on_signal([&runs](int) {
    for (auto& run : runs) run->Stop();
  });
  std::vector<absl::Status> statuses(runs.size());
  const absl::Time started = absl::Now();
  {
    std::vector<std::thread> threads;
    for (size_t i = 1; i < runs.size(); ++i) {
      threads.emplace_back([&, i] { statuses[i] = runs[i]->Run(); });
    }
    statuses[0] = runs[0]->Run();
    for (std::thread& thread : threads) thread.join();
  }

  v1::ConsumeSummary total;
  for (const auto& run : runs) Accumulate(run->summary(), &total);
  if (options.streams > 1) {
    total.set_producer_id(absl::StrCat(options.producer_id, "-0..",
                                       options.producer_id, "-",
                                       options.streams - 1));
    // The streams ran side by side: their durations do not add up.
    *total.mutable_duration() = TimeUtil::NanosecondsToDuration(
        absl::ToInt64Nanoseconds(absl::Now() - started));
  }
  for (const absl::Status& status : statuses) {
    if (!status.ok() && status.code() != absl::StatusCode::kCancelled) {
      return status;
    }
  }
  out << FormatSummary(total) << std::endl;
  for (const absl::Status& status : statuses) {
    if (!status.ok()) return status;
  }
  out << "Todos los procesos han terminado." << std::endl;
  return absl::OkStatus();
}

}  // namespace messaging
