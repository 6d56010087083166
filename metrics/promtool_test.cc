// Lints a real scrape with Prometheus' own checker, `promtool check
// metrics` from Debian's prometheus package: the format and the naming
// conventions as Prometheus reads them, not as this package believes.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/build_info.h"
#include "metrics/http_client_for_test.h"
#include "metrics/metrics_server.h"
#include "metrics/process_collector.h"
#include "metrics/registry.h"

namespace messaging::metrics {
namespace {

using ::testing::HasSubstr;

// promtool on PATH, else Debian's /usr/bin/promtool, else "".
std::string FindPromtool() {
  const char* path = std::getenv("PATH");
  for (absl::string_view directory :
       absl::StrSplit(path == nullptr ? "" : path, ':')) {
    const std::string candidate = absl::StrCat(directory, "/promtool");
    if (!directory.empty() && access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return access("/usr/bin/promtool", X_OK) == 0 ? "/usr/bin/promtool" : "";
}

struct Lint {
  int exit_code = -1;
  std::string output;  // stdout and stderr.
};

// Runs `promtool check metrics` on `text`.
Lint CheckMetrics(const std::string& promtool, const std::string& text) {
  const std::string input =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/scrape-", getpid(), ".txt");
  std::ofstream(input) << text;
  Lint lint;
  FILE* pipe =
      popen(absl::StrCat("'", promtool, "' check metrics < '", input, "' 2>&1")
                .c_str(),
            "r");
  if (pipe == nullptr) return lint;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    lint.output.append(buffer, n);
  }
  const int status = pclose(pipe);
  lint.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::remove(input.c_str());
  return lint;
}

class PromtoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    promtool_ = FindPromtool();
    ASSERT_FALSE(promtool_.empty())
        << "promtool is not on PATH nor in /usr/bin: install Debian's "
           "prometheus package (bazel/install_deps.sh does)";
  }

  std::string promtool_;
};

TEST_F(PromtoolTest, AcceptsAScrapeOfEveryKindOfFamily) {
  Registry registry;
  registry.AddCounter("app_messages_total", "Messages accepted.")->Increment(3);
  registry
      .AddCounterVector("app_streams_ended_total", "Streams ended, by status.",
                        "grpc_code", {"OK", "CANCELLED", "UNKNOWN"})
      ->at(1)
      .Increment();
  registry.AddGauge("app_streams_open", "Streams open now.")->Set(2);
  Histogram* latency =
      registry.AddHistogram("app_batch_seconds", "Time to admit a batch.",
                            ExponentialBuckets(0.0001, 4, 8));
  latency->Observe(0.0003);
  latency->Observe(2);
  registry.AddCollector(std::make_unique<ProcessCollector>());
  // Label values that need every escape.
  registry.AddCollector(
      BuildInfo("app", {{"version", "1.0 \"beta\""}, {"path", "C:\\x\ny"}}));
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("127.0.0.1:0", &registry);
  ASSERT_TRUE(server.ok()) << server.status();

  absl::StatusOr<HttpResponse> scrape = HttpGet((*server)->port(), "/metrics");
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  ASSERT_EQ(scrape->status, 200);
  // Every family made it into the text that is checked.
  for (const char* family :
       {"app_messages_total", "app_streams_ended_total", "app_streams_open",
        "app_batch_seconds", "process_cpu_seconds_total", "process_threads",
        "app_build_info"}) {
    EXPECT_THAT(scrape->body, HasSubstr(absl::StrCat("# TYPE ", family, " ")));
  }

  const Lint lint = CheckMetrics(promtool_, scrape->body);
  EXPECT_EQ(lint.exit_code, 0) << lint.output << "\nfor:\n" << scrape->body;
  EXPECT_EQ(lint.output, "");
}

// The check above can fail: promtool does object to what breaks the rules.
TEST_F(PromtoolTest, ObjectsToACounterNamedAgainstTheConventions) {
  const Lint lint = CheckMetrics(promtool_,
                                 "# HELP app_messages Messages.\n"
                                 "# TYPE app_messages counter\n"
                                 "app_messages 3\n");
  EXPECT_NE(lint.exit_code, 0);
  EXPECT_THAT(lint.output, HasSubstr("should have \"_total\" suffix"));
}

}  // namespace
}  // namespace messaging::metrics
