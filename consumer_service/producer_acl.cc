#include "consumer_service/producer_acl.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "consumer_service/producer_limits.h"

namespace messaging {

absl::StatusOr<ProducerAcl> ProducerAcl::Parse(absl::string_view text,
                                               absl::string_view source) {
  ProducerAcl acl;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    auto invalid = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, " line ", number, ": ", why));
    };
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 2) {
      return invalid(absl::StrCat(
          "expected '<identity> <producer id pattern>', got ", fields.size(),
          fields.size() == 1 ? " field" : " fields"));
    }
    const absl::string_view identity = fields[0];
    absl::string_view pattern = fields[1];
    if (absl::StrContains(identity, '*')) {
      return invalid(
          "an identity is matched exactly; '*' is only for producer ids");
    }
    const bool prefix = absl::ConsumeSuffix(&pattern, "*");
    if (absl::StrContains(pattern, '*')) {
      return invalid("'*' may only end a producer id pattern");
    }
    if (pattern.size() > kMaxProducerIdBytes) {
      return invalid(absl::StrCat("the producer id pattern is longer than ",
                                  kMaxProducerIdBytes,
                                  " bytes, the longest id there is"));
    }
    acl.patterns_[std::string(identity)].push_back(
        Pattern{std::string(pattern), prefix});
    ++acl.rules_;
  }
  return acl;
}

bool ProducerAcl::Allows(absl::string_view identity,
                         absl::string_view producer_id) const {
  auto found = patterns_.find(identity);
  if (found == patterns_.end()) return false;
  for (const Pattern& pattern : found->second) {
    if (pattern.prefix ? absl::StartsWith(producer_id, pattern.text)
                       : producer_id == pattern.text) {
      return true;
    }
  }
  return false;
}

}  // namespace messaging
