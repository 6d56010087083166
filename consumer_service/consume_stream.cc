#include "consumer_service/consume_stream.h"

#include "absl/strings/str_cat.h"
#include "consumer_service/producer_limits.h"
#include "google/protobuf/util/time_util.h"

namespace messaging {

uint64_t CountedBytes(const MensajeView& message) {
  return message.text.size() + message.payload.size();
}

absl::Status ConsumeStream::Check(const MensajeView& message) {
  // Errors only: this runs for every message.
  auto where = [this] {
    return absl::StrCat(" in message ", messages_checked_, " of the stream");
  };
  if (message.producer_id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Mensaje.producer_id is empty", where(),
                     "; every message must name its producer"));
  }
  // Checked before any error can repeat the id.
  if (message.producer_id.size() > kMaxProducerIdBytes) {
    return CheckProducerIdSize(message.producer_id,
                               absl::StrCat("Mensaje.producer_id", where()));
  }
  if (message.sequence >= kSequenceLimit) {
    return CheckSequence(
        message.sequence,
        absl::StrCat("Mensaje.sequence ", message.sequence, where()));
  }
  if (messages_checked_ == 0) {
    if (gate_ != nullptr) {
      if (absl::Status allowed = gate_->MayWrite(message.producer_id);
          !allowed.ok()) {
        return allowed;
      }
    }
    producer_id_ = std::string(message.producer_id);
  } else if (message.producer_id != producer_id_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Mensaje.producer_id changed within the stream from '", producer_id_,
        "' to '", message.producer_id, "'; use one stream per producer"));
  }
  ++messages_checked_;
  return absl::OkStatus();
}

void ConsumeStream::RecordAccepted(const MensajeView& message,
                                   absl::Time received_at) {
  if (messages_received_ == 0) {
    first_sequence_ = message.sequence;
    first_received_at_ = received_at;
  }
  ++messages_received_;
  bytes_received_ += CountedBytes(message);
  last_sequence_ = message.sequence;
  last_received_at_ = received_at;
}

v1::ConsumeSummary ConsumeStream::Summary(uint64_t next_sequence) const {
  v1::ConsumeSummary summary;
  summary.set_producer_id(producer_id_);
  summary.set_messages_received(messages_received_);
  summary.set_bytes_received(bytes_received_);
  summary.set_duplicates_dropped(duplicates_dropped_);
  summary.set_next_sequence(next_sequence);
  if (messages_received_ > 0) {
    summary.set_first_sequence(first_sequence_);
    summary.set_last_sequence(last_sequence_);
    *summary.mutable_duration() =
        google::protobuf::util::TimeUtil::NanosecondsToDuration(
            absl::ToInt64Nanoseconds(last_received_at_ - first_received_at_));
  }
  return summary;
}

}  // namespace messaging
