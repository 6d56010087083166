#include "producer_service/producer.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "common/termination_signals.h"
#include "common/tls_credentials.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "producer_service/backoff.h"
#include "producer_service/consumer_stubs.h"
#include "producer_service/pacer.h"
#include "producer_service/produce_stream.h"
#include "producer_service/producer_state_call.h"
#include "producer_service/production.h"
#include "producer_service/run_summary.h"

namespace messaging {

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

namespace {

// Below this many unconfirmed messages per stream (8 bytes each in its
// Production, 8 MiB at 1,000 streams) a stream waits for confirmations
// more than it sends.
constexpr int64_t kMinStreamWindow = 1024;

// The unconfirmed window of each of `options.streams` streams, so that
// --max_unconfirmed bounds the producer's memory, not each stream's: the
// budget split evenly, but not below kMinStreamWindow or two batches (one
// in flight while the next fills), and never above the budget itself. One
// stream keeps it all.
int64_t StreamWindow(const ProducerOptions& options) {
  if (options.streams <= 1) return options.max_unconfirmed;
  const int64_t share =
      (options.max_unconfirmed + options.streams - 1) / options.streams;
  return std::min(options.max_unconfirmed,
                  std::max({share, kMinStreamWindow, 2 * options.batch_size}));
}

// Runs the production to its end over as many streams as it takes, as a
// state machine driven by its calls' callbacks, so that a run takes no
// thread of its own: Resume() asks where to resume (GetProducerState), then
// StreamOrFinish() streams (ProduceCall) until the production is finished;
// after a failure BackOff() waits on the shared Pacer and resumes again.
// Each step runs on the thread of the callback that brought it (gRPC's, or
// the Pacer's), one at a time; what other threads touch (Stop(),
// StopAtDeadline()) is behind mutex_.
class ProducerRun final : public ProducerStateCall::Callbacks,
                          public ProduceCall::Observer {
 public:
  // What RunProducer is told.
  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // The run has ended, with status(); the run is not touched after this
    // call, and may be destroyed.
    virtual void OnRunDone() = 0;
  };

  ProducerRun(const ProducerOptions& options, std::ostream& out,
              ConsumerStubs* stubs, absl::Time deadline, Callbacks* callbacks)
      : options_(options),
        out_(out),
        stubs_(stubs),
        deadline_(deadline),
        callbacks_(callbacks),
        backoff_(options.initial_backoff, options.max_backoff) {}

  // Sends everything, then tells OnRunDone(); returns at once.
  void Start() { Resume(); }
  // From the signal watcher: close the stream cleanly and stop.
  void Stop();
  // From the deadline's Pacer callback: a stream in progress closes cleanly
  // and the run ends with DEADLINE_EXCEEDED.
  void StopAtDeadline();
  // After OnRunDone(): the run's outcome, and its summary, also after an
  // early stop.
  const absl::Status& status() const { return status_; }
  const v1::ConsumeSummary& summary() const { return run_summary_; }

 private:
  // Asks where to resume; on the first call, also where to start.
  void Resume();
  void OnProducerState(const grpc::Status& status,
                       const v1::ProducerState& state) override;
  // Starts the next stream, or ends the run when all is confirmed.
  void StreamOrFinish();
  void OnProduceDone(const absl::StatusOr<v1::ConsumeSummary>& outcome,
                     absl::Duration retry_pushback) override;
  // Resumes after a pause, or ends the run with the last error.
  void BackOff(const absl::Status& failure, absl::Duration pushback);
  // No more new messages; the stream in progress closes cleanly.
  void StopProducing() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The outcome of a run whose production has finished.
  absl::Status Conclusion();
  void Finish(absl::Status status);

  const ProducerOptions& options_;
  std::ostream& out_;
  ConsumerStubs* const stubs_;
  const absl::Time deadline_;
  Callbacks* const callbacks_;
  Backoff backoff_;
  v1::ConsumeSummary run_summary_;
  int failures_ = 0;
  absl::Status status_;

  absl::Mutex mutex_;
  // Written only by the run's steps, under the mutex for Stop().
  std::optional<Production> production_;
  bool stop_requested_ ABSL_GUARDED_BY(mutex_) = false;
  // The deadline passed during a stream, which was then closed.
  bool deadline_reached_ ABSL_GUARDED_BY(mutex_) = false;
  std::unique_ptr<ProduceCall> current_call_ ABSL_GUARDED_BY(mutex_);
};

void ProducerRun::Stop() {
  absl::MutexLock lock(&mutex_);
  stop_requested_ = true;
  StopProducing();
  Pacer::Shared().Advance(&backoff_);  // a retry waits no longer
}

void ProducerRun::StopAtDeadline() {
  absl::MutexLock lock(&mutex_);
  if (current_call_ == nullptr) return;  // BackOff() sees the deadline
  deadline_reached_ = true;
  StopProducing();
}

void ProducerRun::StopProducing() {
  if (production_.has_value()) production_->Stop();
  if (current_call_ != nullptr) current_call_->WakeUp();
}

void ProducerRun::Resume() {
  StartProducerStateCall(
      stubs_->typed.get(), options_.producer_id,
      std::min(deadline_, absl::Now() + options_.connect_timeout),
      /*wait_for_ready=*/true, this);
}

void ProducerRun::OnProducerState(const grpc::Status& status,
                                  const v1::ProducerState& state) {
  if (!status.ok()) {
    // The first time there is nothing to do without the consumer.
    if (!production_.has_value() &&
        status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      Finish(absl::UnavailableError(absl::StrCat(
          "consumer at ", ResolveTarget(options_), " is not reachable after ",
          absl::FormatDuration(options_.connect_timeout),
          "; start consumer_service there, or set --target / "
          "--connect_timeout")));
      return;
    }
    BackOff(FromGrpcStatus(status), absl::ZeroDuration());
    return;
  }
  if (!production_.has_value()) {
    // A producer id's sequence goes on across runs: start where the
    // consumer expects this producer.
    absl::MutexLock lock(&mutex_);
    production_.emplace(options_, state.next_sequence());
    if (stop_requested_) production_->Stop();
  } else if (const uint64_t first_unconfirmed =
                 production_->first_unconfirmed_sequence();
             !state.known() || state.next_sequence() < first_unconfirmed) {
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
  StreamOrFinish();
}

void ProducerRun::StreamOrFinish() {
  if (production_->Finished()) {
    Finish(Conclusion());
    return;
  }
  absl::MutexLock lock(&mutex_);
  current_call_ =
      StartProduceStream(stubs_, &*production_, options_, &out_, this);
  if (absl::Now() >= deadline_) {
    // Closing the stream, rather than cutting it, has what it carried
    // confirmed by its summary.
    deadline_reached_ = true;
    StopProducing();
  }
}

void ProducerRun::OnProduceDone(
    const absl::StatusOr<v1::ConsumeSummary>& outcome,
    absl::Duration retry_pushback) {
  std::unique_ptr<ProduceCall> ended;
  {
    absl::MutexLock lock(&mutex_);
    ended = std::move(current_call_);
  }
  ended.reset();
  if (!outcome.ok()) {
    BackOff(outcome.status(), retry_pushback);
    return;
  }
  production_->Confirm(outcome->next_sequence());
  AccumulateSummary(*outcome, &run_summary_);
  backoff_.Reset();
  StreamOrFinish();
}

void ProducerRun::BackOff(const absl::Status& failure,
                          absl::Duration pushback) {
  ++failures_;
  const bool retryable =
      IsRetryable(failure.code(), pushback > absl::ZeroDuration());
  const std::string what = absl::StrCat(
      absl::StatusCodeToString(failure.code()), ": ", failure.message());
  if (!retryable) {
    Finish(absl::Status(failure.code(),
                        absl::StrCat("the consumer refused the messages (",
                                     what, "); not retrying")));
    return;
  }
  const absl::Duration delay = std::max(pushback, backoff_.Next());
  if (absl::Now() + delay > deadline_) {
    Finish(absl::DeadlineExceededError(absl::StrCat(
        "gave up after ", failures_, " failed attempts within --deadline=",
        absl::FormatDuration(options_.deadline), "; last error: ", what)));
    return;
  }
  LogWarning(absl::StrCat("attempt failed (", what, "); retrying in ",
                          absl::FormatDuration(
                              absl::Trunc(delay, absl::Milliseconds(1)))),
             {{"producer_id", options_.producer_id},
              {"status_code", absl::StatusCodeToString(failure.code())},
              {"attempt", failures_},
              {"retry_in_ms", absl::ToInt64Milliseconds(delay)}});
  // Under the mutex, so that a Stop() either comes before (and is seen) or
  // finds the pause to end.
  absl::MutexLock lock(&mutex_);
  Pacer::Shared().RunAt(
      &backoff_, stop_requested_ ? absl::InfinitePast() : absl::Now() + delay,
      [this] { Resume(); });
}

absl::Status ProducerRun::Conclusion() {
  bool stopped_by_signal;
  bool deadline_reached;
  {
    absl::MutexLock lock(&mutex_);
    stopped_by_signal = stop_requested_;
    deadline_reached = deadline_reached_;
  }
  const uint64_t produced = production_->produced();
  if (stopped_by_signal) {
    return absl::CancelledError(absl::StrCat(
        "stopped by a signal after ", produced, " of ", options_.count,
        " messages; every one sent was confirmed"));
  }
  if (deadline_reached && produced < static_cast<uint64_t>(options_.count)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "stopped at --deadline=", absl::FormatDuration(options_.deadline),
        " after ", produced, " of ", options_.count,
        " messages; every one sent was confirmed; raise --deadline, or lower "
        "--count or ",
        options_.interval > absl::ZeroDuration() ? "--interval"
                                                 : "raise --rate"));
  }
  return absl::OkStatus();
}

void ProducerRun::Finish(absl::Status status) {
  status_ = std::move(status);
  callbacks_->OnRunDone();
}

// How many runs are still going, for RunProducer to wait on.
class RunsLeft final : public ProducerRun::Callbacks {
 public:
  explicit RunsLeft(int runs) : left_(runs) {}

  void OnRunDone() override {
    absl::MutexLock lock(&mutex_);
    --left_;
  }
  void Wait() {
    absl::MutexLock lock(&mutex_);
    mutex_.Await(absl::Condition(
        +[](int* left) { return *left == 0; }, &left_));
  }

 private:
  absl::Mutex mutex_;
  int left_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace

absl::Status RunProducer(const ProducerOptions& options, std::ostream& out) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(options.use_tls, options.tls);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments arguments;
  // Channelz, which nothing here reads, reads the clock and counts for
  // every message sent.
  arguments.SetInt(GRPC_ARG_ENABLE_CHANNELZ, 0);
  // gRPC's retry filter keeps what a call sends, in the call's arena, for
  // a replay, until its retry buffer (256 KiB a call) is full: 1,000
  // streams took 190 MiB, not 60. The producer resends from its own window
  // of unconfirmed messages, so gRPC's retries would add nothing but that.
  arguments.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  // Channels with the same arguments would share one connection.
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (!options.tls_server_name.empty()) {
    arguments.SetSslTargetNameOverride(options.tls_server_name);
  }
  const std::string target = ResolveTarget(options);
  if (target != options.target) {
    LogInfo(absl::StrCat("producer ", options.producer_id, " uses consumer ",
                         target),
            {{"producer_id", options.producer_id}, {"target", target}});
  }
  std::vector<std::unique_ptr<ConsumerStubs>> channels;
  for (int i = 0; i < std::min(options.streams, options.channels); ++i) {
    channels.push_back(std::make_unique<ConsumerStubs>(
        grpc::CreateCustomChannel(target, *credentials, arguments)));
  }

  // One run per stream, each with a producer id of its own.
  const absl::Time started = absl::Now();
  const absl::Time deadline = started + options.deadline;
  RunsLeft runs_left(options.streams);
  std::vector<std::unique_ptr<ProducerRun>> runs;
  std::vector<ProducerOptions> stream_options(options.streams, options);
  for (int i = 0; i < options.streams; ++i) {
    if (options.streams > 1) {
      stream_options[i].producer_id = absl::StrCat(options.producer_id, "-", i);
    }
    stream_options[i].max_unconfirmed = StreamWindow(options);
    runs.push_back(std::make_unique<ProducerRun>(
        stream_options[i], out, channels[i % channels.size()].get(), deadline,
        &runs_left));
  }
  TerminationSignalWatcher stop_on_signal([&runs](int) {
    for (auto& run : runs) run->Stop();
  });
  Pacer::Shared().RunAt(&runs, deadline, [&runs] {
    for (auto& run : runs) run->StopAtDeadline();
  });
  for (auto& run : runs) run->Start();
  runs_left.Wait();
  Pacer::Shared().Cancel(&runs);

  v1::ConsumeSummary total;
  for (const auto& run : runs) AccumulateSummary(run->summary(), &total);
  if (options.streams > 1) {
    total.set_producer_id(absl::StrCat(options.producer_id, "-0..",
                                       options.producer_id, "-",
                                       options.streams - 1));
    // The streams ran side by side: their durations do not add up.
    *total.mutable_duration() =
        google::protobuf::util::TimeUtil::NanosecondsToDuration(
            absl::ToInt64Nanoseconds(absl::Now() - started));
  }
  for (const auto& run : runs) {
    if (!run->status().ok() &&
        run->status().code() != absl::StatusCode::kCancelled) {
      return run->status();
    }
  }
  out << FormatSummary(total) << std::endl;
  for (const auto& run : runs) {
    if (!run->status().ok()) return run->status();
  }
  out << "Todos los procesos han terminado." << std::endl;
  return absl::OkStatus();
}

}  // namespace messaging
