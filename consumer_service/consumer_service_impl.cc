#include "consumer_service/consumer_service_impl.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "consumer_service/consume_stream.h"

namespace messaging {
namespace {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

// How long a producer refused for too many streams should wait.
constexpr absl::Duration kStreamLimitPushback = absl::Seconds(1);

}  // namespace

class ConsumeReactor;

struct StreamLink {
  absl::Mutex mutex;
  // Null once the reactor is done.
  ConsumeReactor* reactor ABSL_GUARDED_BY(mutex);
  // Finish has been called (or is about to be, by the holder of `mutex`).
  bool finished ABSL_GUARDED_BY(mutex) = false;
  // Reads are over; the stream waits for its messages to be durable.
  bool closing ABSL_GUARDED_BY(mutex) = false;
  // Time of the last message, in Unix nanoseconds; read by the reaper.
  std::atomic<int64_t> last_activity_nanos{0};

  explicit StreamLink(ConsumeReactor* owner) : reactor(owner) {}
};

// Reads one producer's stream until the producer closes it (the FIN
// signal), then, once its messages are durable, answers with the summary.
class ConsumeReactor final : public grpc::ServerReadReactor<v1::Mensaje> {
 public:
  ConsumeReactor(ConsumerServiceImpl* service, v1::ConsumeSummary* summary)
      : service_(service),
        summary_(summary),
        link_(std::make_shared<StreamLink>(this)) {
    link_->last_activity_nanos = absl::ToUnixNanos(absl::Now());
    service_->stats()->StreamStarted();
    service_->StreamOpened(link_);
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The producer closed its side: the FIN. (Or the call broke; then
      // OnCancel has run or will, and nobody receives the answer.)
      CloseWhenDurable();
      return;
    }
    const absl::Time now = absl::Now();
    link_->last_activity_nanos.store(absl::ToUnixNanos(now),
                                     std::memory_order_relaxed);
    if (absl::Status valid = stream_.Check(incoming_); !valid.ok()) {
      FinishOnce(ToGrpcStatus(valid));
      return;
    }
    absl::StatusOr<ProducerLedger::Admission> admission =
        service_->ledger()->Admit(incoming_, service_->log());
    if (!admission.ok()) {
      FinishOnce(ToGrpcStatus(admission.status()));
      return;
    }
    if (admission->verdict == ProducerLedger::Verdict::kDuplicate) {
      stream_.RecordDuplicate();
      service_->stats()->DuplicateDropped();
    } else {
      stream_.RecordAccepted(incoming_, now);
      service_->stats()->MessageAccepted(incoming_, now);
      service_->PrintConsumed(incoming_);
    }
    StartRead(&incoming_);
  }

  void OnCancel() override { cancelled_ = true; }

  void OnDone() override {
    {
      absl::MutexLock lock(&link_->mutex);
      link_->reactor = nullptr;
    }
    service_->StreamClosed(link_);
    service_->stats()->StreamEnded(completed_ && !cancelled_);
    delete this;
  }

  // For StreamLink holders, under link->mutex with link->finished unset:
  // end the stream now.
  void FinishLocked(const grpc::Status& status) {
    link_->finished = true;
    Finish(status);
  }

 private:
  void FinishOnce(const grpc::Status& status) {
    absl::MutexLock lock(&link_->mutex);
    if (!link_->finished) FinishLocked(status);
  }

  void CloseWhenDurable() {
    const ProducerLedger::Standing standing =
        stream_.producer_id().empty()
            ? ProducerLedger::Standing{}
            : service_->ledger()->Lookup(stream_.producer_id());
    {
      absl::MutexLock lock(&link_->mutex);
      if (link_->finished) return;
      link_->closing = true;
    }
    auto answer = [link = link_, standing](absl::Status durable) {
      absl::MutexLock lock(&link->mutex);
      ConsumeReactor* reactor = link->reactor;
      if (reactor == nullptr || link->finished) return;
      if (!durable.ok()) {
        reactor->FinishLocked(ToGrpcStatus(durable));
        return;
      }
      *reactor->summary_ = reactor->stream_.Summary(standing.next_sequence);
      reactor->completed_ = true;
      reactor->FinishLocked(grpc::Status::OK);
    };
    if (service_->log() == nullptr) {
      answer(absl::OkStatus());
    } else {
      service_->log()->WhenDurable(standing.log_position, std::move(answer));
    }
  }

  ConsumerServiceImpl* const service_;
  v1::ConsumeSummary* const summary_;
  const std::shared_ptr<StreamLink> link_;
  v1::Mensaje incoming_;
  ConsumeStream stream_;
  // Set under link_->mutex before Finish, read in OnDone after it.
  bool completed_ = false;
  // Set by OnCancel, which may run on another thread than the reads.
  std::atomic<bool> cancelled_{false};
};

ConsumerServiceImpl::ConsumerServiceImpl(ConsumerStatsRecorder* stats,
                                         ProducerLedger* ledger,
                                         MessageLog* log, StreamLimits limits,
                                         std::ostream* console)
    : stats_(stats),
      ledger_(ledger),
      log_(log),
      limits_(limits),
      console_(console),
      reaper_([this] { ReapIdleStreams(); }) {}

ConsumerServiceImpl::~ConsumerServiceImpl() {
  {
    absl::MutexLock lock(&streams_mutex_);
    stopping_ = true;
  }
  reaper_.join();
}

grpc::ServerReadReactor<v1::Mensaje>* ConsumerServiceImpl::Consume(
    grpc::CallbackServerContext* context, v1::ConsumeSummary* summary) {
  if (open_streams_.fetch_add(1) >= limits_.max_concurrent_streams) {
    open_streams_.fetch_sub(1);
    stats_->StreamStarted();
    stats_->StreamEnded(/*completed=*/false);
    context->AddTrailingMetadata(
        kRetryPushbackKey,
        std::to_string(absl::ToInt64Milliseconds(kStreamLimitPushback)));
    class Refusal final : public grpc::ServerReadReactor<v1::Mensaje> {
     public:
      explicit Refusal(int limit) {
        Finish(grpc::Status(
            grpc::StatusCode::RESOURCE_EXHAUSTED,
            absl::StrCat("the consumer already has ", limit,
                         " streams open (--max_concurrent_streams); retry "
                         "later")));
      }
      void OnDone() override { delete this; }
    };
    return new Refusal(limits_.max_concurrent_streams);
  }
  return new ConsumeReactor(this, summary);
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
      ledger_->Lookup(request->producer_id());
  state->set_producer_id(request->producer_id());
  state->set_known(standing.known);
  state->set_next_sequence(standing.next_sequence);
  // Only what is durable is confirmed.
  if (log_ == nullptr) {
    reactor->Finish(grpc::Status::OK);
  } else {
    log_->WhenDurable(standing.log_position, [reactor](absl::Status durable) {
      reactor->Finish(ToGrpcStatus(durable));
    });
  }
  return reactor;
}

grpc::ServerUnaryReactor* ConsumerServiceImpl::GetStats(
    grpc::CallbackServerContext* context,
    const v1::GetStatsRequest* /*request*/, v1::ConsumerStats* stats) {
  *stats = stats_->Snapshot(absl::Now());
  ledger_->AddProducerStats(stats);
  stats->set_durable(log_ != nullptr);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

void ConsumerServiceImpl::PrintConsumed(const v1::Mensaje& message) {
  if (console_ == nullptr) return;
  absl::MutexLock lock(&console_mutex_);
  *console_ << "Consumiendo: " << message.text() << std::endl;
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
