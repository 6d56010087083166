#include "consumer_service/producer_listing.h"

#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/wire/viewed_mensaje.h"
#include "testing/mensajes.h"

namespace messaging {
namespace {

using ::testing::HasSubstr;

// A ledger that knows `count` producers "<prefix>-00000", "<prefix>-00001"...
void AddProducers(ProducerLedger& ledger, const std::string& prefix,
                  int count) {
  std::vector<ProducerLedger::Verdict> verdicts;
  for (int i = 0; i < count; ++i) {
    const ViewedMensaje message(
        DemoMensaje(absl::StrFormat("%s-%05d", prefix, i), 0));
    ledger.Record(ledger.Judge({message}, &verdicts));
  }
}

// Every page of `request`, following next_page_token to the end.
std::vector<v1::ListProducersResponse> AllPages(
    const ProducerLedger& ledger, v1::ListProducersRequest request) {
  std::vector<v1::ListProducersResponse> pages;
  do {
    v1::ListProducersResponse page;
    const absl::Status listed = ListProducerPage(ledger, request, &page);
    EXPECT_TRUE(listed.ok()) << listed;
    if (!listed.ok() || pages.size() > 10000) break;
    request.set_page_token(page.next_page_token());
    pages.push_back(std::move(page));
  } while (!request.page_token().empty());
  return pages;
}

std::vector<std::string> IdsOf(
    const std::vector<v1::ListProducersResponse>& pages) {
  std::vector<std::string> ids;
  for (const v1::ListProducersResponse& page : pages) {
    for (const v1::ProducerStats& producer : page.producers()) {
      ids.push_back(producer.producer_id());
    }
  }
  return ids;
}

TEST(ProducerListingTest, PagesListEveryProducerExactlyOnceInOrder) {
  ProducerLedger ledger;
  AddProducers(ledger, "p", 250);
  v1::ListProducersRequest request;
  request.set_page_size(100);
  const std::vector<v1::ListProducersResponse> pages =
      AllPages(ledger, request);
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[0].producers_size(), 100);
  EXPECT_EQ(pages[2].producers_size(), 50);
  EXPECT_EQ(pages[2].next_page_token(), "");
  std::vector<std::string> expected;
  for (int i = 0; i < 250; ++i) {
    expected.push_back(absl::StrFormat("p-%05d", i));
  }
  EXPECT_EQ(IdsOf(pages), expected);
}

TEST(ProducerListingTest, AFullLastPageHasNoNextPageToken) {
  ProducerLedger ledger;
  AddProducers(ledger, "p", 20);
  v1::ListProducersRequest request;
  request.set_page_size(10);
  const std::vector<v1::ListProducersResponse> pages =
      AllPages(ledger, request);
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_NE(pages[0].next_page_token(), "");
  EXPECT_EQ(pages[1].next_page_token(), "");
}

TEST(ProducerListingTest, APrefixListsOnlyItsProducers) {
  ProducerLedger ledger;
  AddProducers(ledger, "a", 30);
  AddProducers(ledger, "b", 25);
  AddProducers(ledger, "c", 30);
  v1::ListProducersRequest request;
  request.set_page_size(7);
  request.set_producer_id_prefix("b-");
  const std::vector<std::string> ids = IdsOf(AllPages(ledger, request));
  ASSERT_EQ(ids.size(), 25u);
  EXPECT_EQ(ids.front(), "b-00000");
  EXPECT_EQ(ids.back(), "b-00024");
}

TEST(ProducerListingTest, PageSizeZeroIsTheDefaultAndLargerIsTheMaximum) {
  ProducerLedger ledger;
  AddProducers(ledger, "p", kMaxProducersPageSize + 5);
  v1::ListProducersRequest request;
  v1::ListProducersResponse page;
  ASSERT_TRUE(ListProducerPage(ledger, request, &page).ok());
  EXPECT_EQ(page.producers_size(), kDefaultProducersPageSize);

  request.set_page_size(kMaxProducersPageSize * 10);
  page.Clear();
  ASSERT_TRUE(ListProducerPage(ledger, request, &page).ok());
  EXPECT_EQ(page.producers_size(), kMaxProducersPageSize);
  EXPECT_NE(page.next_page_token(), "");

  request.set_page_size(1);
  page.Clear();
  ASSERT_TRUE(ListProducerPage(ledger, request, &page).ok());
  EXPECT_EQ(page.producers_size(), 1);
}

TEST(ProducerListingTest, ANegativePageSizeIsInvalid) {
  ProducerLedger ledger;
  v1::ListProducersRequest request;
  request.set_page_size(-1);
  v1::ListProducersResponse page;
  const absl::Status listed = ListProducerPage(ledger, request, &page);
  EXPECT_EQ(listed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(listed.message(), HasSubstr("page_size -1 is negative"));
}

TEST(ProducerListingTest, ATokenNotMadeForThisRequestIsInvalid) {
  ProducerLedger ledger;
  AddProducers(ledger, "a", 5);
  AddProducers(ledger, "b", 5);
  v1::ListProducersRequest request;
  request.set_page_size(2);
  request.set_producer_id_prefix("a-");
  v1::ListProducersResponse first;
  ASSERT_TRUE(ListProducerPage(ledger, request, &first).ok());
  ASSERT_NE(first.next_page_token(), "");

  // Not base64; empty once decoded; a token of prefix "a-" with prefix "b-".
  for (const auto& [token, prefix] :
       std::vector<std::pair<std::string, std::string>>{
           {"not base64!", "a-"},
           {"=", "a-"},
           {first.next_page_token(), "b-"}}) {
    SCOPED_TRACE(token + " with prefix " + prefix);
    v1::ListProducersRequest bad;
    bad.set_page_token(token);
    bad.set_producer_id_prefix(prefix);
    v1::ListProducersResponse page;
    const absl::Status listed = ListProducerPage(ledger, bad, &page);
    EXPECT_EQ(listed.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(listed.message(), HasSubstr("page_token is not a"));
    EXPECT_EQ(page.producers_size(), 0);
  }
}

TEST(ProducerListingTest, ProducersArrivingWhilePagingAfterThePageAppear) {
  ProducerLedger ledger;
  AddProducers(ledger, "m", 4);
  v1::ListProducersRequest request;
  request.set_page_size(2);
  v1::ListProducersResponse first;
  ASSERT_TRUE(ListProducerPage(ledger, request, &first).ok());
  AddProducers(ledger, "a", 1);  // before the page: not seen by this listing
  AddProducers(ledger, "z", 1);  // after it: seen
  request.set_page_token(first.next_page_token());
  EXPECT_EQ(IdsOf(AllPages(ledger, request)),
            (std::vector<std::string>{"m-00002", "m-00003", "z-00000"}));
}

}  // namespace
}  // namespace messaging
