// ListProducers: the producers of a ProducerLedger one page at a time, as
// Google's AIP-158 pages a list, so that no answer grows with the number of
// producers the consumer tracks.
//
// A page token is the web-safe base64 of the last producer id of the page
// before: opaque to clients, and enough to resume in the ledger's id order
// in O(log n) however the ledger changed meanwhile (a producer first seen
// while paging shows up if its id sorts after the current page).
//
// Usage:
//   v1::ListProducersResponse page;
//   absl::Status listed = ListProducerPage(ledger, request, &page);
//   // then request.set_page_token(page.next_page_token()) for the next one
#ifndef CONSUMER_SERVICE_PRODUCER_LISTING_H_
#define CONSUMER_SERVICE_PRODUCER_LISTING_H_

#include "absl/status/status.h"
#include "consumer_service/producer_ledger.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

// A page_size of 0 asks for the default; more than the maximum gets the
// maximum (AIP-158 coerces rather than refuses).
inline constexpr int kDefaultProducersPageSize = 100;
inline constexpr int kMaxProducersPageSize = 1000;

// Fills `response` with the page `request` asks for. INVALID_ARGUMENT, naming
// the field, for a negative page_size or a page_token that no page of the
// same producer_id_prefix returned.
absl::Status ListProducerPage(const ProducerLedger& ledger,
                              const v1::ListProducersRequest& request,
                              v1::ListProducersResponse* response);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_PRODUCER_LISTING_H_
