#include "consumer_service/consume_stream.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

namespace messaging {

uint64_t CountedBytes(const v1::Mensaje& message) {
  return message.text().size() + message.payload().size();
}

absl::Status ConsumeStream::Accept(const v1::Mensaje& message,
                                   absl::Time received_at) {
  if (message.producer_id().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Mensaje.producer_id is empty in message ", messages_received_,
        " of the stream; every message must name its producer"));
  }
  if (messages_received_ > 0) {
    if (message.producer_id() != producer_id_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Mensaje.producer_id changed within the stream from '", producer_id_,
          "' to '", message.producer_id(), "'; use one stream per producer"));
    }
    if (message.sequence() != last_sequence_ + 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("Mensaje.sequence ", message.sequence(),
                       " does not follow ", last_sequence_,
                       "; within a stream each sequence must be the "
                       "previous plus one"));
    }
  } else {
    producer_id_ = message.producer_id();
    first_sequence_ = message.sequence();
    first_received_at_ = received_at;
  }
  ++messages_received_;
  bytes_received_ += CountedBytes(message);
  last_sequence_ = message.sequence();
  last_received_at_ = received_at;
  return absl::OkStatus();
}

v1::ConsumeSummary ConsumeStream::Summary() const {
  v1::ConsumeSummary summary;
  summary.set_producer_id(producer_id_);
  summary.set_messages_received(messages_received_);
  summary.set_bytes_received(bytes_received_);
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
