// Writes metric families in the Prometheus text exposition format, version
// 0.0.4: what a scrape of /metrics returns.
//
// prometheus-cpp is not packaged in Debian 12, so the format is written here,
// after https://prometheus.io/docs/instrumenting/exposition_formats/ and the
// naming conventions of https://prometheus.io/docs/practices/naming/:
// every family gets `# HELP` and `# TYPE` lines; HELP text escapes `\` and
// newline, label values escape `\`, `"` and newline; counters are named
// `..._total`; a histogram is written as cumulative `_bucket{le="..."}` lines
// ending in `le="+Inf"`, then `_sum` and `_count`. Integer values up to
// 2^53 are written in digits, other values and bucket bounds as Go's
// strconv.FormatFloat(v, 'g', -1, 64) writes them (the shortest text that
// reads back to the same double, as Prometheus' own clients write it: so a
// bound of 0.0001 is le="0.0001" here as there), and `+Inf`, `-Inf`, `NaN`.
//
// Names are fixed by the program, so a name that Prometheus would reject
// (or a sample written outside its family) is a programming error: the
// process aborts with a line naming it, in the first test that scrapes.
// Label values are data and may hold anything.
//
// Usage (a Collector gets an Exposition* and writes the same calls):
//   Exposition out;
//   out.Family("process_open_fds", "Number of open file descriptors.",
//              MetricType::kGauge);
//   out.Sample({}, 12);
//   out.Family("streams_ended_total", "Streams ended, by status.",
//              MetricType::kCounter);
//   out.Sample({{"grpc_code", "OK"}}, 3);
//   out.Family("latency_seconds", "Latency.", MetricType::kHistogram);
//   out.Histogram({}, /*upper_bounds=*/{0.1, 1}, /*bucket_counts=*/{2, 1, 0},
//                 /*sum=*/0.9);
//   std::string text = std::move(out).Text();
// gives
//   # HELP process_open_fds Number of open file descriptors.
//   # TYPE process_open_fds gauge
//   process_open_fds 12
//   ...
//   latency_seconds_bucket{le="0.1"} 2
//   latency_seconds_bucket{le="1"} 3
//   latency_seconds_bucket{le="+Inf"} 3
//   latency_seconds_sum 0.9
//   latency_seconds_count 3
#ifndef METRICS_EXPOSITION_H_
#define METRICS_EXPOSITION_H_

#include <cstdint>
#include <set>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace messaging::metrics {

// The MIME type of what Exposition writes, for the HTTP response.
inline constexpr char kContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType { kCounter, kGauge, kHistogram };

struct Label {
  absl::string_view name;
  absl::string_view value;
};

// `{{"grpc_code", "OK"}}` converts to it.
using Labels = absl::Span<const Label>;

// Aborts, naming `name`, unless it is a metric family name Prometheus
// accepts ([a-zA-Z_:][a-zA-Z0-9_:]*) and, for a counter, ends in `_total`.
void CheckFamilyName(absl::string_view name, MetricType type);

// Aborts, naming `name`, unless it is a label name Prometheus accepts
// ([a-zA-Z_][a-zA-Z0-9_]*, not starting with `__`, which is reserved).
void CheckLabelName(absl::string_view name);

class Exposition {
 public:
  // Starts the family `name`: its HELP and TYPE lines. Each name may start
  // one family per exposition.
  void Family(absl::string_view name, absl::string_view help, MetricType type);

  // One sample of the current counter or gauge family.
  void Sample(Labels labels, double value);

  // One histogram of the current histogram family. `upper_bounds` are the
  // finite bucket bounds in increasing order; `bucket_counts` holds, per
  // bound, the observations above the previous bound and at most this one
  // (not cumulative), and last the observations above every bound, so it is
  // one longer. `labels` must not hold `le`, which this writes.
  void Histogram(Labels labels, absl::Span<const double> upper_bounds,
                 absl::Span<const uint64_t> bucket_counts, double sum);

  std::string Text() && { return std::move(text_); }

 private:
  void Line(absl::string_view name, Labels labels, const Label* extra_label,
            double value);

  std::string text_;
  std::string family_;
  MetricType type_ = MetricType::kGauge;
  std::set<std::string, std::less<>> families_;
};

}  // namespace messaging::metrics

#endif  // METRICS_EXPOSITION_H_
