#include "producer_service/run_summary.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"

namespace messaging {

using google::protobuf::util::TimeUtil;

void AccumulateSummary(const v1::ConsumeSummary& stream,
                       v1::ConsumeSummary* run) {
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

}  // namespace messaging
