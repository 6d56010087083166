#include "producer_service/producer.h"

#include <algorithm>
#include <optional>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/termination_signals.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace messaging {
namespace {

using google::protobuf::util::TimeUtil;

// Far above any sensible payload, well below gRPC's own hard limits.
constexpr int64_t kMaxPayloadBytes = 64 * 1024 * 1024;
// The consumer's trailing metadata asking to retry later.
constexpr char kRetryPushbackKey[] = "retry-pushback-ms";
// Stands for the producer's consumer shard in --target.
constexpr char kShardPlaceholder[] = "{shard}";

absl::Status FromGrpcStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

std::string MakePayload(int64_t bytes) {
  std::string payload(static_cast<size_t>(bytes), '\0');
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>('a' + i % 26);
  }
  return payload;
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
  if (options.payload_bytes < 0 || options.payload_bytes > kMaxPayloadBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--payload_bytes=", options.payload_bytes,
                     " is out of range; use 0 to ", kMaxPayloadBytes));
  }
  if (options.producer_id.empty()) {
    return absl::InvalidArgumentError(
        "--producer_id is empty; give this producer a name");
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

MensajeFactory::MensajeFactory(std::string producer_id, int64_t payload_bytes)
    : producer_id_(std::move(producer_id)),
      payload_(MakePayload(payload_bytes)) {}

void MensajeFactory::Fill(uint64_t sequence, absl::Time now,
                          v1::Mensaje* message) const {
  // Only the fields that change are written again on a reused message.
  if (message->producer_id() != producer_id_) {
    message->set_producer_id(producer_id_);
  }
  if (message->payload().size() != payload_.size()) {
    message->set_payload(payload_);
  }
  message->set_sequence(sequence);
  message->set_text(absl::StrCat("Mensaje ", sequence));
  *message->mutable_created_at() =
      TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(now));
}

Production::Production(const ProducerOptions& options, uint64_t first_sequence)
    : count_(static_cast<uint64_t>(options.count)),
      max_unconfirmed_(static_cast<size_t>(options.max_unconfirmed)),
      factory_(options.producer_id, options.payload_bytes),
      next_sequence_(first_sequence) {}

void Production::StartStream() { cursor_ = 0; }

const v1::Mensaje* Production::NextToSend(std::ostream* console) {
  if (cursor_ < unconfirmed_.size()) return &unconfirmed_[cursor_++];
  if (stopped_ || produced_ >= count_ ||
      unconfirmed_.size() >= max_unconfirmed_) {
    return nullptr;
  }
  unconfirmed_.emplace_back();
  factory_.Fill(next_sequence_++, absl::Now(), &unconfirmed_.back());
  ++produced_;
  ++cursor_;
  if (console != nullptr) {
    *console << "Produciendo: " << unconfirmed_.back().text() << std::endl;
  }
  return &unconfirmed_.back();
}

void Production::Confirm(uint64_t next_sequence) {
  while (!unconfirmed_.empty() &&
         unconfirmed_.front().sequence() < next_sequence) {
    unconfirmed_.pop_front();
  }
  cursor_ = 0;
}

bool Production::Finished() const {
  return unconfirmed_.empty() && (stopped_ || produced_ >= count_);
}

uint64_t Production::first_unconfirmed_sequence() const {
  return unconfirmed_.empty() ? next_sequence_
                              : unconfirmed_.front().sequence();
}

ProduceReactor::ProduceReactor(v1::ConsumerService::Stub* stub,
                               Production* production, absl::Duration interval,
                               std::ostream* console)
    : production_(production), interval_(interval), console_(console) {
  production_->StartStream();
  stub->async()->Consume(&context_, &summary_, this);
  StartCall();
  WriteNextOrClose();
}

void ProduceReactor::WriteNextOrClose() {
  const v1::Mensaje* next = production_->NextToSend(console_);
  if (next == nullptr) {
    StartWritesDone();
  } else if (interval_ <= absl::ZeroDuration()) {
    // Back-to-back messages: let gRPC coalesce them into few frames and
    // syscalls. WritesDone flushes what is left.
    StartWrite(next, grpc::WriteOptions().set_buffer_hint());
  } else {
    StartWrite(next);
  }
}

void ProduceReactor::OnWriteDone(bool ok) {
  // A failed write means the call is over; OnDone brings its status.
  if (!ok) return;
  if (interval_ <= absl::ZeroDuration() || !production_->NextIsNew() ||
      production_->stopped()) {
    WriteNextOrClose();
    return;
  }
  // The hold keeps the call alive until the alarm has started the next
  // operation. A cancelled alarm (WakeUp) also lands here.
  AddHold();
  interval_alarm_.Set(absl::ToChronoTime(absl::Now() + interval_),
                      [this](bool /*fired*/) {
                        WriteNextOrClose();
                        RemoveHold();
                      });
}

void ProduceReactor::OnDone(const grpc::Status& status) {
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

absl::StatusOr<v1::ConsumeSummary> ProduceReactor::Await() {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(&done_));
  if (!status_.ok()) return FromGrpcStatus(status_);
  return summary_;
}

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
              v1::ConsumerService::Stub* stub)
      : options_(options),
        out_(out),
        stub_(stub),
        deadline_(absl::Now() + options.deadline),
        backoff_(options.initial_backoff, options.max_backoff) {}

  absl::Status Run();
  // From the signal watcher: close the stream cleanly and stop.
  void Stop();

 private:
  // Asks where to resume; on the first call, also where to start.
  absl::Status Resume();
  absl::Status Stream();
  // Waits before the next attempt, or gives up with the last error.
  absl::Status BackOff(const absl::Status& failure, absl::Duration pushback);

  const ProducerOptions& options_;
  std::ostream& out_;
  v1::ConsumerService::Stub* const stub_;
  const absl::Time deadline_;
  Backoff backoff_;
  std::optional<Production> production_;
  v1::ConsumeSummary run_summary_;
  int failures_ = 0;

  absl::Mutex mutex_;
  bool stop_requested_ ABSL_GUARDED_BY(mutex_) = false;
  ProduceReactor* current_reactor_ ABSL_GUARDED_BY(mutex_) = nullptr;
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
  grpc::Status status = stub_->GetProducerState(&context, request, &state);
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
    LogWarning(absl::StrCat(
        "the consumer no longer holds sequences it confirmed before ",
        first_unconfirmed,
        " (it restarted without --data_dir, or lost its "
        "log); sending the unconfirmed ones from ",
        first_unconfirmed));
  } else {
    production_->Confirm(state.next_sequence());
  }
  return absl::OkStatus();
}

absl::Status ProducerRun::Stream() {
  std::unique_ptr<ProduceReactor> reactor;
  {
    absl::MutexLock lock(&mutex_);
    reactor = std::make_unique<ProduceReactor>(
        stub_, &*production_, options_.interval,
        options_.print_messages ? &out_ : nullptr);
    current_reactor_ = reactor.get();
  }
  absl::StatusOr<v1::ConsumeSummary> summary = reactor->Await();
  {
    absl::MutexLock lock(&mutex_);
    current_reactor_ = nullptr;
  }
  if (!summary.ok()) {
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
  LogWarning(absl::StrCat(
      "attempt failed (", what, "); retrying in ",
      absl::FormatDuration(absl::Trunc(delay, absl::Milliseconds(1)))));
  absl::MutexLock lock(&mutex_);
  mutex_.AwaitWithTimeout(absl::Condition(&stop_requested_), delay);
  return absl::OkStatus();
}

absl::Status ProducerRun::Run() {
  while (true) {
    // Resuming needs the consumer; the first time there is nothing to do
    // without it.
    if (absl::Status resumed = Resume(); !resumed.ok()) {
      if (!production_.has_value() &&
          resumed.code() == absl::StatusCode::kDeadlineExceeded) {
        return absl::UnavailableError(absl::StrCat(
            "consumer at ", ResolveTarget(options_), " is not reachable after ",
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
    if (production_->Finished()) break;
    if (absl::Status streamed = Stream(); !streamed.ok()) return streamed;
    if (production_->Finished()) break;
  }
  out_ << FormatSummary(run_summary_) << std::endl;
  if (production_->stopped()) {
    return absl::CancelledError(absl::StrCat(
        "stopped by a signal after ", production_->produced(), " of ",
        options_.count, " messages; every one sent was confirmed"));
  }
  out_ << "Todos los procesos han terminado." << std::endl;
  return absl::OkStatus();
}

}  // namespace

absl::Status RunProducer(const ProducerOptions& options, std::ostream& out) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(options.use_tls, options.tls);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments arguments;
  if (!options.tls_server_name.empty()) {
    arguments.SetSslTargetNameOverride(options.tls_server_name);
  }
  const std::string target = ResolveTarget(options);
  if (target != options.target) {
    LogInfo(absl::StrCat("producer ", options.producer_id, " uses consumer ",
                         target));
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(target, *credentials, arguments);
  std::unique_ptr<v1::ConsumerService::Stub> stub =
      v1::ConsumerService::NewStub(channel);

  ProducerRun run(options, out, stub.get());
  TerminationSignalWatcher stop_on_signal([&run](int) { run.Stop(); });
  return run.Run();
}

}  // namespace messaging
