// GetStats and ListProducers end to end with many producers tracked: the
// answer of GetStats keeps its size (and its speed) at 100,000 producers,
// and ListProducers pages through all of them, each exactly once, with its
// filter and its errors as gRPC statuses.
#include <algorithm>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "consumer_service/message_log.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "producer_service/consumer_stubs.h"
#include "testing/test_consumer.h"

namespace messaging {
namespace {

using ::testing::HasSubstr;

constexpr int kProducers = 100'000;

std::string ProducerId(int i) { return absl::StrFormat("producer-%06d", i); }

// A consumer whose log's snapshot holds kProducers producers, which it
// restores at start: as after a long run, without a stream for each.
TestConsumer ConsumerTrackingManyProducers() {
  ConsumerOptions options = TestConsumer::QuietOptions();
  options.data_dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/many");
  {
    MessageLogOptions log_options;
    log_options.directory = options.data_dir;
    absl::StatusOr<std::unique_ptr<MessageLog>> log =
        MessageLog::Open(log_options, [](const v1::Mensaje&, uint64_t) {});
    EXPECT_TRUE(log.ok()) << log.status();
    consumer::v1::ProducerStateSnapshot state;
    for (int i = 0; i < kProducers; ++i) {
      consumer::v1::ProducerState* producer = state.add_producers();
      producer->set_producer_id(ProducerId(i));
      producer->set_next_sequence(i + 1);
    }
    (*log)->WriteSnapshot(std::move(state));
  }  // written when the log closes
  return TestConsumer::Start(options);
}

class ManyProducersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    consumer_ = new TestConsumer(ConsumerTrackingManyProducers());
  }
  static void TearDownTestSuite() {
    delete consumer_;
    consumer_ = nullptr;
  }

  grpc::Status List(const v1::ListProducersRequest& request,
                    v1::ListProducersResponse* page) {
    grpc::ClientContext context;
    return stubs_.typed->ListProducers(&context, request, page);
  }

  static TestConsumer* consumer_;
  ConsumerStubs stubs_{consumer_->NewChannel()};
};

TestConsumer* ManyProducersTest::consumer_ = nullptr;

TEST_F(ManyProducersTest, GetStatsStaysSmallAndFast) {
  std::vector<absl::Duration> latencies;
  v1::ConsumerStats stats;
  for (int i = 0; i < 50; ++i) {
    grpc::ClientContext context;
    const absl::Time start = absl::Now();
    const grpc::Status status =
        stubs_.typed->GetStats(&context, v1::GetStatsRequest(), &stats);
    latencies.push_back(absl::Now() - start);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(stats.producers_tracked(), static_cast<uint64_t>(kProducers));
  EXPECT_TRUE(stats.durable());
  // Totals only: one entry per producer was megabytes here.
  EXPECT_LT(stats.ByteSizeLong(), 128u) << stats.DebugString();
  std::sort(latencies.begin(), latencies.end());
  const absl::Duration median = latencies[latencies.size() / 2];
  std::cout << "GetStats with " << kProducers << " producers tracked: median "
            << absl::FormatDuration(median) << " over loopback, "
            << stats.ByteSizeLong() << " bytes\n";
  // Far from the bound on an idle machine (tens of microseconds); loose
  // for a loaded one or a sanitizer build. One entry per producer took
  // seconds here.
  EXPECT_LT(median, absl::Milliseconds(50));
}

TEST_F(ManyProducersTest, PagesListEveryProducerExactlyOnce) {
  v1::ListProducersRequest request;
  request.set_page_size(1000);
  std::vector<std::string> ids;
  int pages = 0;
  do {
    v1::ListProducersResponse page;
    const grpc::Status status = List(request, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_LE(page.producers_size(), 1000);
    for (const v1::ProducerStats& producer : page.producers()) {
      ids.push_back(producer.producer_id());
    }
    request.set_page_token(page.next_page_token());
    ASSERT_LT(++pages, 1000) << "paging does not end";
  } while (!request.page_token().empty());
  EXPECT_EQ(pages, kProducers / 1000);
  ASSERT_EQ(ids.size(), static_cast<size_t>(kProducers));
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  EXPECT_EQ(ids.front(), ProducerId(0));
  EXPECT_EQ(ids.back(), ProducerId(kProducers - 1));
}

TEST_F(ManyProducersTest, DefaultAndMaximumPageSizes) {
  v1::ListProducersRequest request;
  v1::ListProducersResponse page;
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_EQ(page.producers_size(), 100);
  EXPECT_EQ(page.producers(0).producer_id(), ProducerId(0));
  EXPECT_EQ(page.producers(0).last_sequence(), 0u);  // next_sequence 1

  request.set_page_size(1'000'000);
  page.Clear();
  ASSERT_TRUE(List(request, &page).ok());
  EXPECT_EQ(page.producers_size(), 1000);
  EXPECT_NE(page.next_page_token(), "");
}

TEST_F(ManyProducersTest, APrefixFiltersTheList) {
  v1::ListProducersRequest request;
  request.set_producer_id_prefix("producer-01234");
  v1::ListProducersResponse page;
  ASSERT_TRUE(List(request, &page).ok());
  ASSERT_EQ(page.producers_size(), 10);
  EXPECT_EQ(page.producers(0).producer_id(), "producer-012340");
  EXPECT_EQ(page.producers(9).producer_id(), "producer-012349");
  EXPECT_EQ(page.next_page_token(), "");
}

TEST_F(ManyProducersTest, BadRequestsAreInvalidArgument) {
  v1::ListProducersRequest negative;
  negative.set_page_size(-5);
  v1::ListProducersResponse page;
  grpc::Status status = List(negative, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_size -5 is negative"));

  v1::ListProducersRequest garbage;
  garbage.set_page_token("%%%");
  status = List(garbage, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_token"));

  // A real token, used with another filter.
  v1::ListProducersRequest first;
  first.set_page_size(2);
  v1::ListProducersResponse first_page;
  ASSERT_TRUE(List(first, &first_page).ok());
  v1::ListProducersRequest other_filter;
  other_filter.set_page_token(first_page.next_page_token());
  other_filter.set_producer_id_prefix("producer-09");
  status = List(other_filter, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("producer_id_prefix"));
}

}  // namespace
}  // namespace messaging
