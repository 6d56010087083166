#include "metrics/exposition.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace messaging::metrics {
namespace {

TEST(ExpositionTest, WritesEachTypeExactly) {
  Exposition out;
  out.Family("app_requests_total", "Requests served.", MetricType::kCounter);
  out.Sample({{"grpc_code", "OK"}}, 12);
  out.Sample({{"grpc_code", "CANCELLED"}}, 0);
  out.Family("app_streams", "Streams open.", MetricType::kGauge);
  out.Sample({}, 3);
  out.Family("app_latency_seconds", "Latency.", MetricType::kHistogram);
  out.Histogram({{"method", "Consume"}}, {0.005, 0.25, 1}, {4, 0, 2, 1}, 2.75);

  EXPECT_EQ(std::move(out).Text(),
            "# HELP app_requests_total Requests served.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{grpc_code=\"OK\"} 12\n"
            "app_requests_total{grpc_code=\"CANCELLED\"} 0\n"
            "# HELP app_streams Streams open.\n"
            "# TYPE app_streams gauge\n"
            "app_streams 3\n"
            "# HELP app_latency_seconds Latency.\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{method=\"Consume\",le=\"0.005\"} 4\n"
            "app_latency_seconds_bucket{method=\"Consume\",le=\"0.25\"} 4\n"
            "app_latency_seconds_bucket{method=\"Consume\",le=\"1\"} 6\n"
            "app_latency_seconds_bucket{method=\"Consume\",le=\"+Inf\"} 7\n"
            "app_latency_seconds_sum{method=\"Consume\"} 2.75\n"
            "app_latency_seconds_count{method=\"Consume\"} 7\n");
}

TEST(ExpositionTest, HistogramWithoutLabelsHasOnlyLe) {
  Exposition out;
  out.Family("h_bytes", "Sizes.", MetricType::kHistogram);
  out.Histogram({}, {64}, {0, 0}, 0);
  EXPECT_EQ(std::move(out).Text(),
            "# HELP h_bytes Sizes.\n"
            "# TYPE h_bytes histogram\n"
            "h_bytes_bucket{le=\"64\"} 0\n"
            "h_bytes_bucket{le=\"+Inf\"} 0\n"
            "h_bytes_sum 0\n"
            "h_bytes_count 0\n");
}

TEST(ExpositionTest, EscapesHelpAndLabelValuesAsTheFormatSays) {
  Exposition out;
  // HELP escapes backslash and newline; a quote stays as it is.
  out.Family("odd", "A \\ \"quoted\"\nsecond line", MetricType::kGauge);
  out.Sample({{"path", "C:\\dir\\\"x\"\nnext"}, {"empty", ""}}, 1);
  EXPECT_EQ(std::move(out).Text(),
            "# HELP odd A \\\\ \"quoted\"\\nsecond line\n"
            "# TYPE odd gauge\n"
            "odd{path=\"C:\\\\dir\\\\\\\"x\\\"\\nnext\",empty=\"\"} 1\n");
}

TEST(ExpositionTest, LabelValuesMayHoldAnyBytes) {
  Exposition out;
  out.Family("g", "G.", MetricType::kGauge);
  out.Sample({{"producer", "año {},=#"}}, 1);
  EXPECT_EQ(std::move(out).Text(),
            "# HELP g G.\n# TYPE g gauge\ng{producer=\"año {},=#\"} 1\n");
}

TEST(ExpositionTest, WritesValuesInShortestExactFormAndSpecialSpellings) {
  Exposition out;
  out.Family("v", "Values.", MetricType::kGauge);
  const double values[] = {0.1,
                           -2.5,
                           9007199254740993.0,  // 2^53 + 1 rounds to 2^53.
                           600000,
                           -1e15,
                           1e21,
                           1.5e-7,
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           std::nan("")};
  for (double value : values) out.Sample({}, value);
  EXPECT_EQ(std::move(out).Text(),
            "# HELP v Values.\n# TYPE v gauge\n"
            "v 0.1\nv -2.5\nv 9007199254740992\nv 600000\nv -1000000000000000\n"
            "v 1e+21\nv 1.5e-07\n"
            "v +Inf\nv -Inf\nv NaN\n");
}

TEST(ExpositionTest, WritesOtherValuesAsGoDoes) {
  Exposition out;
  out.Family("v", "Values.", MetricType::kGauge);
  for (double value : {1796120377.94, 123456.5, 0.0001, 0.00001234}) {
    out.Sample({}, value);
  }
  EXPECT_EQ(std::move(out).Text(),
            "# HELP v Values.\n# TYPE v gauge\n"
            "v 1.79612037794e+09\nv 123456.5\nv 0.0001\nv 1.234e-05\n");
}

// Bounds are label values: written as Go's clients write them, so that a
// query for le="0.0001" finds them.
TEST(ExpositionTest, WritesBucketBoundsAsGoDoes) {
  Exposition out;
  out.Family("h", "H.", MetricType::kHistogram);
  out.Histogram({}, {0.00001, 0.0001, 0.25, 100000, 1000000},
                {0, 0, 0, 0, 0, 0}, 0);
  EXPECT_EQ(std::move(out).Text(),
            "# HELP h H.\n# TYPE h histogram\n"
            "h_bucket{le=\"1e-05\"} 0\n"
            "h_bucket{le=\"0.0001\"} 0\n"
            "h_bucket{le=\"0.25\"} 0\n"
            "h_bucket{le=\"100000\"} 0\n"
            "h_bucket{le=\"1e+06\"} 0\n"
            "h_bucket{le=\"+Inf\"} 0\n"
            "h_sum 0\nh_count 0\n");
}

TEST(ExpositionTest, ColonsAreAllowedInMetricNames) {
  Exposition out;
  out.Family("job:requests:rate5m", "Recorded.", MetricType::kGauge);
  out.Sample({}, 1);
  EXPECT_EQ(std::move(out).Text(),
            "# HELP job:requests:rate5m Recorded.\n"
            "# TYPE job:requests:rate5m gauge\njob:requests:rate5m 1\n");
}

TEST(ExpositionDeathTest, RejectsNamesPrometheusWouldReject) {
  Exposition out;
  EXPECT_DEATH(out.Family("2xx", "h", MetricType::kGauge),
               "metrics: '2xx' is not a valid metric name");
  EXPECT_DEATH(out.Family("a-b", "h", MetricType::kGauge),
               "'a-b' is not a valid metric name");
  EXPECT_DEATH(out.Family("", "h", MetricType::kGauge),
               "'' is not a valid metric name");
  EXPECT_DEATH(out.Family("requests", "h", MetricType::kCounter),
               "counter 'requests' must be named ..._total");
  out.Family("g", "h", MetricType::kGauge);
  EXPECT_DEATH(out.Sample({{"a:b", "v"}}, 1),
               "'a:b' is not a valid label name");
  EXPECT_DEATH(out.Sample({{"__name__", "v"}}, 1),
               "'__name__' is not a valid label name");
}

TEST(ExpositionDeathTest, RejectsAFamilyWrittenTwice) {
  Exposition out;
  out.Family("g", "h", MetricType::kGauge);
  EXPECT_DEATH(out.Family("g", "h", MetricType::kGauge),
               "metric family 'g' is written twice");
}

TEST(ExpositionDeathTest, RejectsSamplesOutsideTheirFamily) {
  Exposition out;
  EXPECT_DEATH(out.Sample({}, 1), "Sample\\(\\) needs a counter or gauge");
  out.Family("h_seconds", "h", MetricType::kHistogram);
  EXPECT_DEATH(out.Sample({}, 1), "not 'h_seconds'");
  EXPECT_DEATH(out.Histogram({}, {1}, {1}, 0),
               "has 1 bounds but 1 bucket counts");
  EXPECT_DEATH(out.Histogram({{"le", "1"}}, {1}, {1, 0}, 0),
               "may not have label le");
  out.Family("g", "h", MetricType::kGauge);
  EXPECT_DEATH(out.Histogram({}, {1}, {1, 0}, 0),
               "Histogram\\(\\) needs a histogram family first, not 'g'");
}

}  // namespace
}  // namespace messaging::metrics
