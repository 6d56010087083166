// The consumer's /metrics, scraped over real HTTP from an in-process
// consumer, against what GetStats and ListProducers report: the same
// numbers while streams run and once they are done, each outcome and
// refusal counted where it belongs, and a scrape promtool accepts.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "metrics/http_client_for_test.h"
#include "producer_service/consumer_stubs.h"
#include "producer_service/producer_options.h"
#include "testing/mensajes.h"
#include "testing/test_consumer.h"

namespace messaging {
namespace {

using ::testing::HasSubstr;

// One scrape: "name{labels}" (as written) -> value.
using Samples = std::map<std::string, double>;

Samples Scrape(TestConsumer& consumer, std::string* text = nullptr) {
  const metrics::MetricsServer* server = consumer.server().metrics_server();
  EXPECT_NE(server, nullptr);
  if (server == nullptr) return {};
  absl::StatusOr<metrics::HttpResponse> response =
      metrics::HttpGet(server->port(), "/metrics");
  EXPECT_TRUE(response.ok()) << response.status();
  if (!response.ok()) return {};
  EXPECT_EQ(response->status, 200);
  if (text != nullptr) *text = response->body;
  Samples samples;
  for (absl::string_view line : absl::StrSplit(response->body, '\n')) {
    if (line.empty() || line.front() == '#') continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    EXPECT_TRUE(absl::SimpleAtod(line.substr(space + 1), &value)) << line;
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

// The value of `key`, failing the test when the scrape has no such sample.
uint64_t Value(const Samples& samples, const std::string& key) {
  auto found = samples.find(key);
  EXPECT_NE(found, samples.end()) << "no sample " << key;
  return found == samples.end() ? 0 : static_cast<uint64_t>(found->second);
}

uint64_t Ended(const Samples& samples, const std::string& outcome) {
  return Value(samples, absl::StrCat("consumer_streams_ended_total{outcome=\"",
                                     outcome, "\"}"));
}

uint64_t Refusals(const Samples& samples, const std::string& code) {
  return Value(samples, absl::StrCat("consumer_refusals_total{grpc_code=\"",
                                     code, "\"}"));
}

ConsumerOptions WithMetricsAndLog(const std::string& name) {
  ConsumerOptions options = TestConsumer::QuietOptions();
  options.metrics_address = "127.0.0.1:0";
  options.data_dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  return options;
}

ProducerOptions Producer(const TestConsumer& consumer, const std::string& id,
                         int64_t count) {
  ProducerOptions options;
  options.target = consumer.target();
  options.producer_id = id;
  options.count = count;
  options.batch_size = 64;
  options.interval = absl::ZeroDuration();
  options.print_messages = false;
  return options;
}

// Every counter GetStats also reports, equal to it.
void ExpectAgrees(const Samples& samples, const v1::ConsumerStats& stats) {
  EXPECT_EQ(Value(samples, "consumer_messages_accepted_total"),
            stats.messages_received());
  EXPECT_EQ(Value(samples, "consumer_bytes_accepted_total"),
            stats.bytes_received());
  EXPECT_EQ(Value(samples, "consumer_duplicates_dropped_total"),
            stats.duplicates_dropped());
  EXPECT_EQ(Value(samples, "consumer_streams_open"), stats.active_streams());
  EXPECT_EQ(Value(samples, "consumer_producers_tracked"),
            stats.producers_tracked());
  EXPECT_EQ(Ended(samples, "completed"), stats.completed_streams());
  uint64_t failed = 0;
  for (const char* outcome : {"invalid", "gap", "idle", "refused",
                              "unavailable", "cancelled", "failed"}) {
    failed += Ended(samples, outcome);
  }
  EXPECT_EQ(failed, stats.failed_streams());
  EXPECT_EQ(Value(samples, "consumer_streams_opened_total"),
            stats.completed_streams() + stats.failed_streams() +
                stats.active_streams());
  EXPECT_EQ(Value(samples, "consumer_end_to_end_latency_seconds_count"),
            stats.end_to_end_latency().samples());
}

TEST(MetricsTest, AScrapeWhileStreamsRunAgreesWithGetStats) {
  TestConsumer consumer = TestConsumer::Start(WithMetricsAndLog("running"));
  ConsumerStubs stubs(consumer.NewChannel());
  constexpr int kStreams = 4;
  constexpr int64_t kMessages = 20'000;
  std::vector<std::unique_ptr<TestStream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::make_unique<TestStream>(
        &stubs, Producer(consumer, absl::StrCat("metrics-", i), kMessages)));
  }
  // While they run, each scrape lies between the GetStats before and after
  // it: a scrape reads the same totals, at a moment in between.
  int scrapes_while_open = 0;
  for (int i = 0; i < 200; ++i) {
    const v1::ConsumerStats before = GetStats(consumer);
    const Samples during = Scrape(consumer);
    const v1::ConsumerStats after = GetStats(consumer);
    const uint64_t accepted = Value(during, "consumer_messages_accepted_total");
    EXPECT_LE(before.messages_received(), accepted);
    EXPECT_LE(accepted, after.messages_received());
    EXPECT_LE(before.bytes_received(),
              Value(during, "consumer_bytes_accepted_total"));
    EXPECT_LE(Value(during, "consumer_bytes_accepted_total"),
              after.bytes_received());
    if (Value(during, "consumer_streams_open") > 0) ++scrapes_while_open;
    if (after.active_streams() == 0) break;
  }
  for (auto& stream : streams) {
    absl::StatusOr<v1::ConsumeSummary> summary = stream->Await();
    ASSERT_TRUE(summary.ok()) << summary.status();
  }
  EXPECT_GT(scrapes_while_open, 0) << "every scrape came after the streams";

  const v1::ConsumerStats stats = StatsWhenIdle(consumer);
  const Samples samples = Scrape(consumer);
  ASSERT_EQ(stats.messages_received(), kStreams * kMessages);
  ExpectAgrees(samples, stats);
  EXPECT_EQ(Ended(samples, "completed"), static_cast<uint64_t>(kStreams));
  // The log wrote and synced every message.
  EXPECT_GT(Value(samples, "consumer_log_bytes"),
            stats.bytes_received());  // records are framed
  EXPECT_EQ(Value(samples, "consumer_log_segments"), 1u);
  EXPECT_GT(Value(samples, "consumer_log_append_seconds_count"), 0u);
  EXPECT_GT(Value(samples, "consumer_log_sync_seconds_count"), 0u);
  EXPECT_EQ(Value(samples, "consumer_log_write_errors_total"), 0u);
  EXPECT_EQ(Value(samples, "consumer_log_segments_deleted_total"), 0u);
  EXPECT_GT(Value(samples, "consumer_log_filesystem_size_bytes"), 0u);
  EXPECT_LE(Value(samples, "consumer_log_filesystem_avail_bytes"),
            Value(samples, "consumer_log_filesystem_size_bytes"));
  EXPECT_EQ(Value(samples, "consumer_log_retention_bytes"), 0u);  // default
  EXPECT_GT(Value(samples, "process_open_fds"), 0u);
}

TEST(MetricsTest, CountsEachOutcomeAndRefusalWhereItBelongs) {
  ConsumerOptions options = WithMetricsAndLog("outcomes");
  options.limits.max_concurrent_streams = 1;
  TestConsumer consumer = TestConsumer::Start(options);
  ConsumerStubs stubs(consumer.NewChannel());
  v1::ConsumeSummary summary;
  // Completed, then invalid (no producer id), then a gap; each stream's
  // slot is free again once the consumer has counted its end.
  ASSERT_TRUE(
      SendOnOneStream(*stubs.typed, DemoMensajes("p", 0, 3), &summary).ok());
  StatsWhenIdle(consumer);
  EXPECT_EQ(SendOnOneStream(*stubs.typed, {DemoMensaje("", 0)}, &summary)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  StatsWhenIdle(consumer);
  EXPECT_EQ(SendOnOneStream(*stubs.typed, {DemoMensaje("p", 9)}, &summary)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  StatsWhenIdle(consumer);
  // Refused: one stream is open already.
  ProducerOptions slow = Producer(consumer, "slow", 1'000'000);
  slow.interval = absl::Milliseconds(5);
  slow.batch_size = 1;
  TestStream open(&stubs, slow);
  while (GetStats(consumer).active_streams() == 0) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(SendOnOneStream(*stubs.typed, {DemoMensaje("q", 0)}, &summary)
                .error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  open.Stop();
  ASSERT_TRUE(open.Await().ok());
  // Unary calls refused.
  grpc::ClientContext list_context;
  v1::ListProducersRequest bad_token;
  bad_token.set_page_token("not a token");
  v1::ListProducersResponse page;
  EXPECT_EQ(
      stubs.typed->ListProducers(&list_context, bad_token, &page).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);

  const v1::ConsumerStats stats = StatsWhenIdle(consumer);
  const Samples samples = Scrape(consumer);
  ExpectAgrees(samples, stats);
  EXPECT_EQ(Ended(samples, "completed"), 2u);  // the first and the slow one
  EXPECT_EQ(Ended(samples, "invalid"), 1u);
  EXPECT_EQ(Ended(samples, "gap"), 1u);
  EXPECT_EQ(Ended(samples, "refused"), 1u);
  EXPECT_EQ(Ended(samples, "cancelled"), 0u);
  EXPECT_EQ(Refusals(samples, "INVALID_ARGUMENT"), 2u);  // stream + unary
  EXPECT_EQ(Refusals(samples, "FAILED_PRECONDITION"), 1u);
  EXPECT_EQ(Refusals(samples, "RESOURCE_EXHAUSTED"), 1u);
  EXPECT_EQ(Refusals(samples, "UNAVAILABLE"), 0u);
  EXPECT_EQ(samples.count("consumer_refusals_total{grpc_code=\"OK\"}"), 0u);
}

TEST(MetricsTest, WithoutALogThereAreNoLogMetrics) {
  ConsumerOptions options = TestConsumer::QuietOptions();
  options.metrics_address = "127.0.0.1:0";
  TestConsumer consumer = TestConsumer::Start(options);
  std::string text;
  const Samples samples = Scrape(consumer, &text);
  EXPECT_THAT(text,
              HasSubstr("# TYPE consumer_messages_accepted_total counter"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("consumer_log_")));
  EXPECT_EQ(Value(samples, "consumer_producers_tracked"), 0u);
}

TEST(MetricsTest, NoMetricsServerWithoutAnAddress) {
  TestConsumer consumer = TestConsumer::Start();
  EXPECT_EQ(consumer.server().metrics_server(), nullptr);
}

// promtool on PATH, else Debian's /usr/bin/promtool.
std::string Promtool() {
  return access("/usr/bin/promtool", X_OK) == 0 ? "/usr/bin/promtool"
                                                : "promtool";
}

TEST(MetricsTest, PromtoolAcceptsTheConsumersScrape) {
  TestConsumer consumer = TestConsumer::Start(WithMetricsAndLog("promtool"));
  ConsumerStubs stubs(consumer.NewChannel());
  v1::ConsumeSummary summary;
  ASSERT_TRUE(
      SendOnOneStream(*stubs.typed, DemoMensajes("p", 0, 10), &summary).ok());
  std::string text;
  Scrape(consumer, &text);
  const std::string input =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/scrape.txt");
  std::ofstream(input) << text;
  FILE* pipe = popen(
      absl::StrCat(Promtool(), " check metrics < '", input, "' 2>&1").c_str(),
      "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) {
    output.append(buffer, n);
  }
  const int status = pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << output << "\nfor:\n"
      << text;
  EXPECT_EQ(output, "");
}

}  // namespace
}  // namespace messaging
