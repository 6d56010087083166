#include "consumer_service/consumer_service_impl.h"

#include <algorithm>
#include <memory>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "consumer_service/consume_stream.h"
#include "protos/messaging/v1/wire/byte_buffers.h"
#include "protos/messaging/v1/wire/mensaje_decoder.h"

namespace messaging {
namespace {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

// How long a producer refused for too many streams should wait.
constexpr absl::Duration kStreamLimitPushback = absl::Seconds(1);

// Answers a stream over the limit at once.
class Refusal final : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  explicit Refusal(const StreamLimits& limits) {
    Finish(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("the consumer already has ", limits.max_concurrent_streams,
                     " streams open (--max_concurrent_streams); retry later")));
  }
  void OnDone() override { delete this; }
};

// Answers GetProducerState once the state it reports is durable. Held by
// the log's pending callback; `reactor` is gRPC's, alive until Finish.
class ProducerStateAnswer final : public DurabilityWaiter {
 public:
  explicit ProducerStateAnswer(grpc::ServerUnaryReactor* reactor)
      : reactor_(reactor) {}

  void OnDurable(absl::Status durable) override {
    reactor_->Finish(ToGrpcStatus(durable));
  }

 private:
  grpc::ServerUnaryReactor* const reactor_;
};

}  // namespace

class StreamReactor;

// Also what the log tells once the stream's messages are durable; it may
// do so after OnDone, which is why it holds the link, not the reactor.
struct StreamLink final : public DurabilityWaiter {
  absl::Mutex mutex;
  // Null once the reactor is done.
  StreamReactor* reactor ABSL_GUARDED_BY(mutex);
  // Finish has been called (or is about to be, by the holder of `mutex`).
  bool finished ABSL_GUARDED_BY(mutex) = false;
  // Reads are over; the stream waits for its messages to be durable.
  bool closing ABSL_GUARDED_BY(mutex) = false;
  // Time of the last message, in Unix nanoseconds; read by the reaper.
  std::atomic<int64_t> last_activity_nanos{0};

  // The producer's standing at the FIN, which the summary reports.
  ProducerLedger::Standing standing ABSL_GUARDED_BY(mutex);

  explicit StreamLink(StreamReactor* owner) : reactor(owner) {}

  void OnDurable(absl::Status durable) override;
};

// What every Consume and ConsumeBatches stream shares: the rules applied
// to each message, and the durable summary at the end.
class StreamReactor {
 public:
  StreamReactor(ConsumerServiceImpl* service, grpc::ByteBuffer* summary)
      : service_(service),
        summary_(summary),
        link_(std::make_shared<StreamLink>(this)) {
    link_->last_activity_nanos = absl::ToUnixNanos(absl::Now());
    service_->stats()->StreamStarted();
    service_->StreamOpened(link_);
  }
  virtual ~StreamReactor() = default;

  // For StreamLink holders, under link->mutex with link->finished unset:
  // end the stream now.
  void FinishLocked(const grpc::Status& status) {
    link_->finished = true;
    FinishCall(status);
  }

  // StreamLink::OnDurable's, under link_->mutex: the answer.
  void FinishDurable() {
    *summary_ = ByteBufferOf(
        stream_.Summary(link_->standing.next_sequence).SerializeAsString());
    completed_ = true;
    FinishLocked(grpc::Status::OK);
  }

 protected:
  virtual void FinishCall(const grpc::Status& status) = 0;

  // The messages of one read, given to the acceptor; an error ends the
  // stream, and the messages before the one at fault stay accepted.
  absl::Status Take(absl::Span<const MensajeView> messages, absl::Time now) {
    return service_->acceptor()->Accept(messages, now, &stream_);
  }

  void Touch(absl::Time now) {
    link_->last_activity_nanos.store(absl::ToUnixNanos(now),
                                     std::memory_order_relaxed);
  }

  void FinishOnce(const grpc::Status& status) {
    absl::MutexLock lock(&link_->mutex);
    if (!link_->finished) FinishLocked(status);
  }

  // The producer closed its side: the FIN. (Or the call broke; then
  // OnCancel has run or will, and nobody receives the answer.) Answers
  // once everything this producer sent is durable.
  void CloseWhenDurable() {
    const ProducerLedger::Standing standing =
        stream_.producer_id().empty()
            ? ProducerLedger::Standing{}
            : service_->acceptor()->ledger().Lookup(stream_.producer_id());
    {
      absl::MutexLock lock(&link_->mutex);
      if (link_->finished) return;
      link_->closing = true;
      link_->standing = standing;
    }
    service_->acceptor()->WhenDurable(standing, link_);
  }

  // The reactor's OnDone: the only place a stream dies.
  void Done() {
    {
      absl::MutexLock lock(&link_->mutex);
      link_->reactor = nullptr;
    }
    service_->StreamClosed(link_);
    service_->stats()->StreamEnded(completed_ && !cancelled_);
    delete this;
  }

  ConsumerServiceImpl* const service_;
  // The answer, a serialized ConsumeSummary.
  grpc::ByteBuffer* const summary_;
  const std::shared_ptr<StreamLink> link_;
  ConsumeStream stream_;
  // Set under link_->mutex before Finish, read in OnDone after it.
  bool completed_ = false;
  // Set by OnCancel, which may run on another thread than the reads.
  std::atomic<bool> cancelled_{false};
};

void StreamLink::OnDurable(absl::Status durable) {
  absl::MutexLock lock(&mutex);
  if (reactor == nullptr || finished) return;
  if (!durable.ok()) {
    reactor->FinishLocked(ToGrpcStatus(durable));
    return;
  }
  reactor->FinishDurable();
}

// Reads one producer's stream, a message (Mensaje) or a batch of them
// (MensajeBatch) at a time, until the producer closes it.
template <typename Request>
class ConsumeReactor final : public grpc::ServerReadReactor<grpc::ByteBuffer>,
                             public StreamReactor {
 public:
  ConsumeReactor(ConsumerServiceImpl* service, grpc::ByteBuffer* summary)
      : StreamReactor(service, summary) {
    StartRead(&read_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      CloseWhenDurable();
      return;
    }
    const absl::Time now = absl::Now();
    Touch(now);
    if (absl::Status taken = DecodeAndTake(now); !taken.ok()) {
      FinishOnce(ToGrpcStatus(taken));
      return;
    }
    StartRead(&read_);
  }

  void OnCancel() override { cancelled_ = true; }
  void OnDone() override { Done(); }

 private:
  void FinishCall(const grpc::Status& status) override { Finish(status); }

  // Where the reads of every stream served by this thread are decoded.
  // Views into the read copy nothing, and a kept vector of them allocates
  // nothing per read; keeping it per thread rather than per stream costs
  // the same for thousands of streams as for a few. That is safe because a
  // read's messages are done with before OnReadDone returns.
  static DecodeScratch& ThreadScratch() {
    thread_local DecodeScratch scratch;
    return scratch;
  }

  absl::Status DecodeAndTake(absl::Time now) {
    grpc::Slice slice;
    if (!ContiguousSlice(read_, &slice)) {
      return absl::InternalError("a read arrived without its bytes");
    }
    read_.Clear();
    ++reads_;
    const absl::string_view bytes = AsStringView(slice);
    DecodeScratch& scratch = ThreadScratch();
    Decoded decoded;
    if constexpr (std::is_same_v<Request, v1::MensajeBatch>) {
      decoded = DecodeMensajeBatch(bytes, &scratch.views, &scratch.parsed);
    } else {
      scratch.views.resize(1);
      decoded = DecodeMensaje(bytes, &scratch.views[0], &scratch.parsed);
    }
    if (decoded == Decoded::kMalformed) {
      scratch = DecodeScratch();
      return absl::InvalidArgumentError(
          absl::StrCat("message ", reads_, " of the stream is not a valid ",
                       Request::descriptor()->full_name(),
                       "; send it as protobuf encodes it, with UTF-8 strings"));
    }

    const absl::Status taken = Take(scratch.views, now);
    // Memory is kept only for what producers send: a read of very many
    // messages, or one the generated parser took, frees what it needed.
    if (decoded == Decoded::kByGeneratedParser ||
        scratch.views.capacity() > kMaxKeptViews) {
      scratch = DecodeScratch();
    }
    return taken;
  }

  // About 1 MiB of views.
  static constexpr size_t kMaxKeptViews = (1 << 20) / sizeof(MensajeView);

  grpc::ByteBuffer read_;
  uint64_t reads_ = 0;
};

ConsumerServiceImpl::ConsumerServiceImpl(ConsumerStatsRecorder* stats,
                                         Acceptor* acceptor,
                                         StreamLimits limits)
    : stats_(stats),
      acceptor_(acceptor),
      limits_(limits),
      reaper_([this] { ReapIdleStreams(); }) {}

ConsumerServiceImpl::~ConsumerServiceImpl() {
  {
    absl::MutexLock lock(&streams_mutex_);
    stopping_ = true;
  }
  reaper_.join();
}

bool ConsumerServiceImpl::AdmitStream(grpc::CallbackServerContext* context) {
  if (open_streams_.fetch_add(1) < limits_.max_concurrent_streams) {
    return true;
  }
  open_streams_.fetch_sub(1);
  stats_->StreamStarted();
  stats_->StreamEnded(/*completed=*/false);
  context->AddTrailingMetadata(
      kRetryPushbackKey,
      std::to_string(absl::ToInt64Milliseconds(kStreamLimitPushback)));
  return false;
}

grpc::ServerReadReactor<grpc::ByteBuffer>* ConsumerServiceImpl::Consume(
    grpc::CallbackServerContext* context, grpc::ByteBuffer* summary) {
  if (!AdmitStream(context)) return new Refusal(limits_);
  return new ConsumeReactor<v1::Mensaje>(this, summary);
}

grpc::ServerReadReactor<grpc::ByteBuffer>* ConsumerServiceImpl::ConsumeBatches(
    grpc::CallbackServerContext* context, grpc::ByteBuffer* summary) {
  if (!AdmitStream(context)) return new Refusal(limits_);
  return new ConsumeReactor<v1::MensajeBatch>(this, summary);
}

grpc::ServerUnaryReactor* ConsumerServiceImpl::GetProducerState(
    grpc::CallbackServerContext* context,
    const v1::GetProducerStateRequest* request, v1::ProducerState* state) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->producer_id().empty()) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        "GetProducerStateRequest.producer_id is empty; name the producer"));
    return reactor;
  }
  const ProducerLedger::Standing standing =
      acceptor_->ledger().Lookup(request->producer_id());
  state->set_producer_id(request->producer_id());
  state->set_known(standing.known);
  state->set_next_sequence(standing.next_sequence);
  // Only what is durable is confirmed.
  acceptor_->WhenDurable(standing,
                         std::make_shared<ProducerStateAnswer>(reactor));
  return reactor;
}

grpc::ServerUnaryReactor* ConsumerServiceImpl::GetStats(
    grpc::CallbackServerContext* context,
    const v1::GetStatsRequest* /*request*/, v1::ConsumerStats* stats) {
  *stats = stats_->Snapshot(absl::Now());
  acceptor_->ledger().AddProducerStats(stats);
  stats->set_durable(acceptor_->log() != nullptr);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

void ConsumerServiceImpl::StreamOpened(std::shared_ptr<StreamLink> link) {
  absl::MutexLock lock(&streams_mutex_);
  streams_.insert(std::move(link));
}

void ConsumerServiceImpl::StreamClosed(
    const std::shared_ptr<StreamLink>& link) {
  {
    absl::MutexLock lock(&streams_mutex_);
    streams_.erase(link);
  }
  open_streams_.fetch_sub(1);
}

void ConsumerServiceImpl::ReapIdleStreams() {
  // Checking a few times per timeout keeps the overshoot small.
  const absl::Duration period = std::clamp(
      limits_.idle_timeout / 4, absl::Milliseconds(10), absl::Seconds(1));
  absl::MutexLock lock(&streams_mutex_);
  while (!stopping_) {
    streams_mutex_.AwaitWithTimeout(absl::Condition(&stopping_), period);
    const int64_t idle_before =
        absl::ToUnixNanos(absl::Now() - limits_.idle_timeout);
    for (const std::shared_ptr<StreamLink>& link : streams_) {
      if (link->last_activity_nanos.load(std::memory_order_relaxed) >
          idle_before) {
        continue;
      }
      absl::MutexLock stream_lock(&link->mutex);
      if (link->reactor == nullptr || link->finished || link->closing) {
        continue;
      }
      link->reactor->FinishLocked(grpc::Status(
          grpc::StatusCode::DEADLINE_EXCEEDED,
          absl::StrCat("the stream sent nothing for ",
                       absl::FormatDuration(limits_.idle_timeout),
                       " (--stream_idle_timeout); reconnect to go on")));
    }
  }
}

}  // namespace messaging
