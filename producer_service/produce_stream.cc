#include "producer_service/produce_stream.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/metadata_keys.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/client_callback.h"
#include "producer_service/confirmation_query.h"
#include "producer_service/pacer.h"
#include "producer_service/write_coalescer.h"
#include "protos/messaging/v1/wire/byte_buffers.h"
#include "protos/messaging/v1/wire/method_paths.h"

namespace messaging {
namespace {

// The consumer's retry pushback in `context`'s trailers; zero without one.
absl::Duration RetryPushback(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  int64_t millis = 0;
  if (auto pushback = trailers.find(kRetryPushbackKey);
      pushback != trailers.end() &&
      absl::SimpleAtoi(
          absl::string_view(pushback->second.data(), pushback->second.size()),
          &millis)) {
    return absl::Milliseconds(millis);
  }
  return absl::ZeroDuration();
}

// The outcome of one stream, left by its reactor, and the stream's pauses
// on the shared Pacer, which WakeUp() must reach however late it comes.
class ProduceCallImpl final : public ProduceCall {
 public:
  explicit ProduceCallImpl(Observer* observer) : observer_(observer) {}
  ~ProduceCallImpl() override {
    absl::MutexLock lock(&mutex_);
    mutex_.Await(absl::Condition(&done_));
  }

  absl::StatusOr<v1::ConsumeSummary> Await() override {
    absl::MutexLock lock(&mutex_);
    mutex_.Await(absl::Condition(&done_));
    if (!status_.ok()) return FromGrpcStatus(status_);
    return summary_;
  }

  bool WaitUntil(absl::Time deadline) override {
    absl::MutexLock lock(&mutex_);
    return mutex_.AwaitWithDeadline(absl::Condition(&done_), deadline);
  }

  absl::Duration retry_pushback() const override {
    absl::MutexLock lock(&mutex_);
    return retry_pushback_;
  }

  void WakeUp() override {
    absl::MutexLock lock(&mutex_);
    woken_ = true;
    Pacer::Shared().Advance(this);
  }

  // Runs `continuation` on the shared Pacer at `when`, or at once after
  // WakeUp() or ResumeNow(). Under the mutex, so that a WakeUp() either
  // comes before (and is seen) or finds the pause to end.
  void RunAt(absl::Time when, std::function<void()> continuation) {
    absl::MutexLock lock(&mutex_);
    Pacer::Shared().RunAt(this, woken_ ? absl::InfinitePast() : when,
                          std::move(continuation));
  }
  void ResumeNow() { Pacer::Shared().Advance(this); }

  // The call has ended, and its stream is gone. The observer may destroy
  // this from its callback: nothing is touched after it.
  void Finish(const grpc::Status& status, const v1::ConsumeSummary& summary,
              absl::Duration retry_pushback) {
    Observer* const observer = observer_;
    {
      absl::MutexLock lock(&mutex_);
      status_ = status;
      summary_ = summary;
      retry_pushback_ = retry_pushback;
      done_ = true;
    }
    if (observer == nullptr) return;
    if (status.ok()) {
      observer->OnProduceDone(summary, retry_pushback);
    } else {
      observer->OnProduceDone(FromGrpcStatus(status), retry_pushback);
    }
  }

 private:
  Observer* const observer_;
  mutable absl::Mutex mutex_;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mutex_);
  v1::ConsumeSummary summary_ ABSL_GUARDED_BY(mutex_);
  absl::Duration retry_pushback_ ABSL_GUARDED_BY(mutex_);
  bool woken_ ABSL_GUARDED_BY(mutex_) = false;
};

// What both kinds of stream share: the call and its answer, the writes,
// the pauses and the confirmation beside the stream. A subclass makes the
// turns (Turn()) for its RPC.
class ProduceStream
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
      public ConfirmationQuery::Callbacks {
 public:
  // Makes the first turn, on the caller's thread; from here the stream
  // owns itself, and OnDone() deletes it.
  void Start() {
    production_->StartStream();
    // The first turn runs outside any reaction and may pause: gRPC
    // requires a hold taken before StartCall for that, or the call could
    // end and be freed under it.
    AddHold();
    StartCall();
    StartRead(&summary_buffer_);
    WriteNextOrClose();
    RemoveHold();
  }

  void OnWriteDone(bool ok) final {
    // A failed write means the call is over; OnDone brings its status.
    if (ok) WriteNextOrClose();
  }

  void OnReadDone(bool ok) final {
    if (!ok) return;  // no answer: OnDone brings the status
    grpc::Slice slice;
    summary_parsed_ =
        ContiguousSlice(summary_buffer_, &slice) &&
        summary_.ParseFromArray(slice.begin(), static_cast<int>(slice.size()));
  }

  void OnDone(const grpc::Status& status) final {
    ProduceCallImpl* const call = call_;
    const grpc::Status outcome =
        status.ok() && !summary_parsed_
            ? grpc::Status(grpc::StatusCode::INTERNAL,
                           "the consumer ended the stream without a valid "
                           "ConsumeSummary")
            : status;
    const v1::ConsumeSummary summary = std::move(summary_);
    const absl::Duration pushback = RetryPushback(context_);
    // The context goes first: it holds the last reference to the call,
    // which must be released while the channel is alive, and the run may
    // free the channel as soon as Await() returns.
    delete this;
    call->Finish(outcome, summary, pushback);
  }

  void OnQueryStarted() final { AddHold(); }
  void OnQueryAnswered() final {
    call_->ResumeNow();  // if the stream paused for this answer
    RemoveHold();
  }

 protected:
  ProduceStream(const std::string& method_path, ConsumerStubs* stubs,
                Production* production, const ProducerOptions& options,
                std::ostream* console, ProduceCallImpl* call)
      : production_(production),
        console_(options.print_messages ? console : nullptr),
        coalescer_(options.batch_delay),
        call_(call),
        confirmation_(stubs->typed.get(), production, options.max_unconfirmed,
                      this) {
    stubs->raw.PrepareBidiStreamingCall(&context_, method_path,
                                        grpc::StubOptions(), this);
  }

  // One turn, at `now`: Write() what is due, ContinueAt() when it will be,
  // or, with nothing more to write now, PauseOrClose().
  virtual void Turn(absl::Time now) = 0;

  // When the write after the one just made is due, for the coalescer:
  // `now` when it follows at once, its time if it is late, InfiniteFuture
  // when it is not known, or when none may follow without a confirmation
  // (which may wait for what this write carries).
  virtual absl::Time NextWriteDue(absl::Time now) const = 0;

  // Writes `request`, an encoded Mensaje or MensajeBatch, at `now`.
  void Write(grpc::ByteBuffer request, absl::Time now) {
    // gRPC holds a write with the buffer hint until a later one without
    // it, to coalesce writes into few frames and syscalls; WriteCoalescer
    // bounds how long.
    const bool hold = coalescer_.Hold(now, NextWriteDue(now));
    write_buffer_ = std::move(request);
    if (hold) {
      StartWrite(&write_buffer_, grpc::WriteOptions().set_buffer_hint());
    } else {
      StartWrite(&write_buffer_);
    }
  }

  // Makes the next turn at `when`, keeping the call alive meanwhile.
  void ContinueAt(absl::Time when) {
    // The hold keeps the call alive until the next operation has started.
    AddHold();
    call_->RunAt(when, [this] {
      WriteNextOrClose();
      RemoveHold();
    });
  }

  // Nothing more to write now: waits for confirmation at the unconfirmed
  // limit, or closes the stream, which is the FIN signal.
  void PauseOrClose(absl::Time now) {
    const std::optional<absl::Time> resume = confirmation_.ResumeAt(now);
    if (!resume.has_value()) {
      StartWritesDone();
      return;
    }
    ContinueAt(*resume);
    // The answer may have come before the pause was set up.
    if (confirmation_.answered()) call_->ResumeNow();
  }

  Production& production() const { return *production_; }
  std::ostream* console() const { return console_; }
  const WriteCoalescer& coalescer() const { return coalescer_; }

 private:
  void WriteNextOrClose() {
    // Messages made back to back share one creation time: reading the
    // clock for each was a visible share of the producer's time.
    const absl::Time now = absl::Now();
    confirmation_.TakeAnswer(now);
    confirmation_.MaybeAsk(now);
    Turn(now);
  }

  Production* const production_;
  std::ostream* const console_;
  // Which writes gRPC may hold for the next ones.
  WriteCoalescer coalescer_;
  ProduceCallImpl* const call_;
  grpc::ClientContext context_;
  ConfirmationQuery confirmation_;
  // The write in flight, and the answer: a ConsumeSummary.
  grpc::ByteBuffer write_buffer_;
  grpc::ByteBuffer summary_buffer_;
  v1::ConsumeSummary summary_;
  bool summary_parsed_ = false;
};

// A Consume stream: a message per write, the unconfirmed ones first, then
// new ones as they fall due.
class MessageStream final : public ProduceStream {
 public:
  MessageStream(ConsumerStubs* stubs, Production* production,
                const ProducerOptions& options, std::ostream* console,
                ProduceCallImpl* call)
      : ProduceStream(ConsumePath(), stubs, production, options, console,
                      call) {}

 private:
  void Turn(absl::Time now) override {
    if (production().NextIsNew() && production().CanProduce()) {
      const absl::Time due = production().NextDue();
      if (due > now) {
        // While writes are held, the messages due until they must be sent
        // are made then, together.
        ContinueAt(coalescer().ResumeAt(due));
        return;
      }
    }
    if (std::optional<absl::string_view> next =
            production().NextToSend(console())) {
      Write(ByteBufferOf(*next), now);
    } else {
      PauseOrClose(now);
    }
  }

  absl::Time NextWriteDue(absl::Time now) const override {
    // A resent message follows at once, a new one when it is due.
    if (!production().NextIsNew()) return now;
    if (production().CanProduce()) return production().NextDue();
    return absl::InfiniteFuture();
  }
};

// A ConsumeBatches stream: the unconfirmed batches first, then new ones,
// each sent when full, when its first message would wait past the batch
// delay, or at the end.
class BatchStream final : public ProduceStream {
 public:
  BatchStream(ConsumerStubs* stubs, Production* production,
              const ProducerOptions& options, std::ostream* console,
              ProduceCallImpl* call)
      : ProduceStream(ConsumeBatchesPath(), stubs, production, options, console,
                      call),
        batch_size_(static_cast<size_t>(options.batch_size)) {}

 private:
  void Turn(absl::Time now) override {
    // A batch's bytes go to gRPC as they are: 1,000 streams each with a
    // copy in flight and a buffer kept for the next took 35 MiB.
    if (production().NextUnsentBatch()) {
      Write(ByteBufferOwning(production().TakeEncoding()), now);
      return;
    }
    size_t open;
    while ((open = production().open_batch_size()) < batch_size_ &&
           production().CanProduce()) {
      const absl::Time due = production().NextDue();
      if (due > now) {
        // Send the open batch if its first message would wait past the
        // batch delay (the coalescer's bound too); else sleep until the
        // batch is full or must be sent. Messages made late carry their
        // scheduled time (--rate), so the sleep counts in their latency.
        const absl::Time send_by =
            (open > 0 ? production().open_batch_started() : due) +
            coalescer().max_delay();
        if (open > 0 && due >= send_by) break;
        ContinueAt(
            std::min(send_by, production().DueAfter(batch_size_ - open)));
        return;
      }
      // The next one is due, and maybe more: make them in one go.
      production().ProduceIntoOpenBatch(
          console(), now,
          std::clamp<size_t>(production().DueCount(now), 1,
                             batch_size_ - open));
    }
    if (production().open_batch_size() > 0) {
      production().SealOpenBatch();
      Write(ByteBufferOwning(production().TakeEncoding()), now);
    } else {
      PauseOrClose(now);
    }
  }

  absl::Time NextWriteDue(absl::Time now) const override {
    // A resent batch, or a full one already due, follows at once; a batch
    // not yet full is sent when full or when the batch delay has passed,
    // whichever is first.
    if (production().HasUnsentBatch() ||
        production().DueCount(now) >= batch_size_) {
      return now;
    }
    return absl::InfiniteFuture();
  }

  const size_t batch_size_;
};

}  // namespace

std::unique_ptr<ProduceCall> StartProduceStream(
    ConsumerStubs* stubs, Production* production,
    const ProducerOptions& options, std::ostream* console,
    ProduceCall::Observer* observer) {
  auto call = std::make_unique<ProduceCallImpl>(observer);
  ProduceStream* stream;
  if (options.batch_size > 1) {
    stream = new BatchStream(stubs, production, options, console, call.get());
  } else {
    stream = new MessageStream(stubs, production, options, console, call.get());
  }
  stream->Start();
  return call;
}

}  // namespace messaging
