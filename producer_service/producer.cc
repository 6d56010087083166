#include "producer_service/producer.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <random>
#include <thread>
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
#include "producer_service/consumer_stubs.h"
#include "producer_service/produce_stream.h"
#include "producer_service/production.h"

namespace messaging {
namespace {

using google::protobuf::util::TimeUtil;

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
  // No more new messages; the stream in progress closes cleanly.
  void StopProducing() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const ProducerOptions& options_;
  std::ostream& out_;
  ConsumerStubs* const stubs_;
  const absl::Time deadline_;
  Backoff backoff_;
  std::optional<Production> production_;
  v1::ConsumeSummary run_summary_;
  int failures_ = 0;
  // The deadline passed during a stream, which was then closed.
  bool deadline_reached_ = false;

  absl::Mutex mutex_;
  bool stop_requested_ ABSL_GUARDED_BY(mutex_) = false;
  ProduceCall* current_call_ ABSL_GUARDED_BY(mutex_) = nullptr;
};

void ProducerRun::Stop() {
  absl::MutexLock lock(&mutex_);
  stop_requested_ = true;
  StopProducing();
}

void ProducerRun::StopProducing() {
  if (production_.has_value()) production_->Stop();
  if (current_call_ != nullptr) current_call_->WakeUp();
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
  std::unique_ptr<ProduceCall> call;
  {
    absl::MutexLock lock(&mutex_);
    call = StartProduceStream(stubs_, &*production_, options_, &out_);
    current_call_ = call.get();
  }
  if (!call->WaitUntil(deadline_)) {
    // Closing the stream, rather than cutting it, has what it carried
    // confirmed by its summary.
    deadline_reached_ = true;
    absl::MutexLock lock(&mutex_);
    StopProducing();
  }
  absl::StatusOr<v1::ConsumeSummary> summary = call->Await();
  {
    absl::MutexLock lock(&mutex_);
    current_call_ = nullptr;
  }
  if (!summary.ok()) {
    *failed = true;
    return BackOff(summary.status(), call->retry_pushback());
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
  bool stopped_by_signal;
  {
    absl::MutexLock lock(&mutex_);
    stopped_by_signal = stop_requested_;
  }
  const uint64_t produced = production_->produced();
  if (stopped_by_signal) {
    return absl::CancelledError(absl::StrCat(
        "stopped by a signal after ", produced, " of ", options_.count,
        " messages; every one sent was confirmed"));
  }
  if (deadline_reached_ && produced < static_cast<uint64_t>(options_.count)) {
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
