#include "producer_service/producer.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/termination_signals.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace messaging {
namespace {

using google::protobuf::util::TimeUtil;

// Far above any sensible payload, well below gRPC's own hard limits.
constexpr int64_t kMaxPayloadBytes = 64 * 1024 * 1024;

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

}  // namespace

absl::Status ValidateProducerOptions(const ProducerOptions& options) {
  if (options.target.empty()) {
    return absl::InvalidArgumentError(
        "--target is empty; give the consumer's address, e.g. "
        "localhost:50051");
  }
  if (options.count < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--count=", options.count, " is negative; use 0 or more"));
  }
  if (options.interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--interval=", absl::FormatDuration(options.interval),
                     " is negative; use a duration such as 100ms or 0"));
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
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--connect_timeout=", absl::FormatDuration(options.connect_timeout),
        " must be positive, e.g. 10s"));
  }
  return absl::OkStatus();
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

ProduceReactor::ProduceReactor(v1::ConsumerService::Stub* stub,
                               const ProducerOptions& options,
                               std::ostream* console)
    : options_(options),
      console_(options.print_messages ? console : nullptr),
      factory_(options.producer_id, options.payload_bytes) {
  stub->async()->Consume(&context_, &summary_, this);
  StartCall();
  WriteNextOrClose();
}

void ProduceReactor::WriteNextOrClose() {
  uint64_t sequence;
  {
    absl::MutexLock lock(&mutex_);
    if (stop_requested_ ||
        next_sequence_ >= static_cast<uint64_t>(options_.count)) {
      StartWritesDone();
      return;
    }
    sequence = next_sequence_++;
  }
  factory_.Fill(sequence, absl::Now(), &outgoing_);
  if (console_ != nullptr) {
    *console_ << "Produciendo: " << outgoing_.text() << std::endl;
  }
  StartWrite(&outgoing_);
}

void ProduceReactor::OnWriteDone(bool ok) {
  // A failed write means the call is over; OnDone brings its status.
  if (!ok) return;
  if (options_.interval <= absl::ZeroDuration()) {
    WriteNextOrClose();
    return;
  }
  // The hold keeps the call alive until the alarm has started the next
  // operation. A cancelled alarm (Stop) also lands here and closes the
  // stream.
  AddHold();
  interval_alarm_.Set(absl::ToChronoTime(absl::Now() + options_.interval),
                      [this](bool /*fired*/) {
                        WriteNextOrClose();
                        RemoveHold();
                      });
}

void ProduceReactor::OnDone(const grpc::Status& status) {
  absl::MutexLock lock(&mutex_);
  status_ = status;
  done_ = true;
}

void ProduceReactor::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stop_requested_ = true;
  }
  interval_alarm_.Cancel();
}

uint64_t ProduceReactor::messages_sent() const {
  absl::MutexLock lock(&mutex_);
  return next_sequence_;
}

absl::StatusOr<v1::ConsumeSummary> ProduceReactor::Await() {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(&done_));
  if (!status_.ok()) return FromGrpcStatus(status_);
  return summary_;
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
  return line;
}

absl::Status RunProducer(const ProducerOptions& options, std::ostream& out) {
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(options.target, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(
          absl::ToChronoTime(absl::Now() + options.connect_timeout))) {
    return absl::UnavailableError(
        absl::StrCat("consumer at ", options.target, " is not reachable after ",
                     absl::FormatDuration(options.connect_timeout),
                     "; start consumer_service there, or set --target / "
                     "--connect_timeout"));
  }
  std::unique_ptr<v1::ConsumerService::Stub> stub =
      v1::ConsumerService::NewStub(channel);

  ProduceReactor reactor(stub.get(), options, &out);
  absl::Mutex mutex;
  bool finished = false;
  int stop_signal = 0;
  std::thread signal_watcher([&] {
    absl::MutexLock lock(&mutex);
    while (!finished && stop_signal == 0) {
      mutex.Unlock();
      const int signal = WaitForTerminationSignal(absl::Milliseconds(100));
      mutex.Lock();
      if (signal != 0) {
        stop_signal = signal;
        reactor.Stop();
      }
    }
  });
  absl::StatusOr<v1::ConsumeSummary> summary = reactor.Await();
  {
    absl::MutexLock lock(&mutex);
    finished = true;
  }
  signal_watcher.join();

  if (!summary.ok()) {
    return absl::Status(
        summary.status().code(),
        absl::StrCat("the consumer ended the stream after ",
                     reactor.messages_sent(), " messages sent: ",
                     absl::StatusCodeToString(summary.status().code()), ": ",
                     summary.status().message()));
  }
  out << FormatSummary(*summary) << std::endl;
  if (stop_signal != 0) {
    return absl::CancelledError(absl::StrCat(
        "stopped by a signal after ", reactor.messages_sent(), " of ",
        options.count, " messages; the stream was closed cleanly"));
  }
  out << "Todos los procesos han terminado." << std::endl;
  return absl::OkStatus();
}

}  // namespace messaging
