#include "consumer_service/producer_listing.h"

#include <algorithm>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace messaging {

absl::Status ListProducerPage(const ProducerLedger& ledger,
                              const v1::ListProducersRequest& request,
                              v1::ListProducersResponse* response) {
  if (request.page_size() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ListProducersRequest.page_size ", request.page_size(),
        " is negative; use 0 for the default (", kDefaultProducersPageSize,
        ") or up to ", kMaxProducersPageSize));
  }
  std::string after;
  // Every token names a producer id of its prefix: anything else was not
  // made by this method for this filter.
  if (!request.page_token().empty() &&
      (!absl::WebSafeBase64Unescape(request.page_token(), &after) ||
       after.empty() ||
       !absl::StartsWith(after, request.producer_id_prefix()))) {
    return absl::InvalidArgumentError(
        "ListProducersRequest.page_token is not a next_page_token of "
        "ListProducers with this producer_id_prefix; start again with an "
        "empty page_token");
  }
  const int page_size =
      request.page_size() == 0
          ? kDefaultProducersPageSize
          : std::min(request.page_size(), kMaxProducersPageSize);
  const bool more =
      ledger.ListProducers({.after = after,
                            .prefix = request.producer_id_prefix(),
                            .limit = static_cast<size_t>(page_size)},
                           response->mutable_producers());
  if (more) {
    response->set_next_page_token(absl::WebSafeBase64Escape(
        response->producers(response->producers_size() - 1).producer_id()));
  }
  return absl::OkStatus();
}

}  // namespace messaging
