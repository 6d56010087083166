#include "metrics/registry.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/collector.h"
#include "metrics/exposition.h"

namespace messaging::metrics {
namespace {

using ::testing::HasSubstr;

// A collector that writes what the test sets, like one that reads a
// component's state at scrape time.
class QueueDepthCollector : public Collector {
 public:
  explicit QueueDepthCollector(const std::atomic<int>* depth) : depth_(depth) {}

  void Collect(Exposition* out) const override {
    out->Family("app_queue_depth", "Messages waiting.", MetricType::kGauge);
    out->Sample({{"queue", "in"}}, depth_->load());
  }

 private:
  const std::atomic<int>* depth_;
};

TEST(RegistryTest, ScrapesEveryFamilyInRegistrationOrder) {
  Registry registry;
  Counter* messages =
      registry.AddCounter("app_messages_total", "Messages accepted.");
  CounterVector* ended = registry.AddCounterVector(
      "app_streams_ended_total", "Streams ended, by status.", "grpc_code",
      {"OK", "CANCELLED"});
  Gauge* open = registry.AddGauge("app_streams_open", "Streams open now.");
  Histogram* sizes = registry.AddHistogram("app_batch_bytes",
                                           "Bytes per batch.", {1024, 65536});
  std::atomic<int> depth{7};
  registry.AddCollector(std::make_unique<QueueDepthCollector>(&depth));

  messages->Increment(64);
  ended->at(1).Increment();
  open->Set(2);
  sizes->Observe(100);
  sizes->Observe(2048);
  sizes->Observe(1e6);

  EXPECT_EQ(registry.Scrape(),
            "# HELP app_messages_total Messages accepted.\n"
            "# TYPE app_messages_total counter\n"
            "app_messages_total 64\n"
            "# HELP app_streams_ended_total Streams ended, by status.\n"
            "# TYPE app_streams_ended_total counter\n"
            "app_streams_ended_total{grpc_code=\"OK\"} 0\n"
            "app_streams_ended_total{grpc_code=\"CANCELLED\"} 1\n"
            "# HELP app_streams_open Streams open now.\n"
            "# TYPE app_streams_open gauge\n"
            "app_streams_open 2\n"
            "# HELP app_batch_bytes Bytes per batch.\n"
            "# TYPE app_batch_bytes histogram\n"
            "app_batch_bytes_bucket{le=\"1024\"} 1\n"
            "app_batch_bytes_bucket{le=\"65536\"} 2\n"
            "app_batch_bytes_bucket{le=\"+Inf\"} 3\n"
            "app_batch_bytes_sum 1002148\n"
            "app_batch_bytes_count 3\n"
            "# HELP app_queue_depth Messages waiting.\n"
            "# TYPE app_queue_depth gauge\n"
            "app_queue_depth{queue=\"in\"} 7\n");

  depth = 9;
  EXPECT_THAT(registry.Scrape(),
              HasSubstr("app_queue_depth{queue=\"in\"} 9\n"));
}

TEST(RegistryTest, AnEmptyRegistryScrapesToNothing) {
  EXPECT_EQ(Registry().Scrape(), "");
}

TEST(RegistryTest, ScrapesWhileOtherThreadsCount) {
  Registry registry;
  Counter* counter = registry.AddCounter("app_ops_total", "Operations.");
  constexpr int kThreads = 3;
  constexpr int kPerThread = 200000;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([counter] {
      for (int j = 0; j < kPerThread; ++j) counter->Increment();
    });
  }
  std::vector<std::string> scrapes;
  for (int i = 0; i < 50; ++i) scrapes.push_back(registry.Scrape());
  for (std::thread& thread : threads) thread.join();

  // Each scrape saw a value between the one before and the final total.
  const uint64_t total = uint64_t{kThreads} * kPerThread;
  uint64_t last = 0;
  for (const std::string& text : scrapes) {
    const size_t at = text.find("\napp_ops_total ");
    ASSERT_NE(at, std::string::npos) << text;
    const uint64_t seen = std::stoull(text.substr(at + 15));
    EXPECT_GE(seen, last);
    EXPECT_LE(seen, total);
    last = seen;
  }
  EXPECT_THAT(registry.Scrape(),
              HasSubstr(absl::StrCat("\napp_ops_total ", total, "\n")));
}

TEST(RegistryDeathTest, RejectsANameRegisteredTwice) {
  Registry registry;
  registry.AddGauge("app_x", "X.");
  EXPECT_DEATH(registry.AddGauge("app_x", "X again."),
               "metrics: metric 'app_x' is registered twice");
  EXPECT_DEATH(registry.AddHistogram("app_x", "X.", {1}),
               "'app_x' is registered twice");
}

TEST(RegistryDeathTest, ChecksNamesWhenRegistered) {
  Registry registry;
  EXPECT_DEATH(registry.AddCounter("app_messages", "M."),
               "counter 'app_messages' must be named ..._total");
  EXPECT_DEATH(registry.AddGauge("app messages", "M."),
               "'app messages' is not a valid metric name");
  EXPECT_DEATH(
      registry.AddCounterVector("app_ended_total", "E.", "grpc-code", {"OK"}),
      "'grpc-code' is not a valid label name");
}

TEST(RegistryDeathTest, ACounterVectorNeedsDistinctLabelValues) {
  Registry registry;
  EXPECT_DEATH(registry.AddCounterVector("app_ended_total", "E.", "code", {}),
               "counter 'app_ended_total' needs at least one label value");
  EXPECT_DEATH(registry.AddCounterVector("app_ended_total", "E.", "code",
                                         {"OK", "CANCELLED", "OK"}),
               "counter 'app_ended_total' has a label value twice");
}

TEST(RegistryDeathTest, ACollectorWritingARegisteredNameAbortsTheScrape) {
  Registry registry;
  registry.AddGauge("app_queue_depth", "Depth.");
  std::atomic<int> depth{1};
  registry.AddCollector(std::make_unique<QueueDepthCollector>(&depth));
  EXPECT_DEATH(registry.Scrape(),
               "metric family 'app_queue_depth' is written twice");
}

}  // namespace
}  // namespace messaging::metrics
