#include "consumer_service/producer_limits.h"

#include "absl/strings/str_cat.h"

namespace messaging {

absl::Status CheckProducerIdSize(absl::string_view producer_id,
                                 absl::string_view what) {
  if (producer_id.size() <= kMaxProducerIdBytes) return absl::OkStatus();
  // The id itself is not repeated: it may be megabytes.
  return absl::InvalidArgumentError(absl::StrCat(
      what, " is ", producer_id.size(), " bytes; producer ids are at most ",
      kMaxProducerIdBytes, " bytes"));
}

absl::Status CheckSequence(uint64_t sequence, absl::string_view what) {
  if (sequence < kSequenceLimit) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(what, " is not below 2^63 (", kSequenceLimit,
                   "), the end of every producer's sequence; start a new "
                   "producer id"));
}

}  // namespace messaging
