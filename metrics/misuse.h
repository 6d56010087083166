// How the metrics package reports a programming error: a metric name
// Prometheus would reject, a name registered twice, a sample written outside
// its family. Names and bucket bounds are fixed in the code, so the first
// test that registers or scrapes them finds the mistake; carrying on would
// only serve an exposition Prometheus refuses whole.
//
// Usage:
//   if (!valid) Misuse(absl::StrCat("'", name, "' is not a valid metric
//   name"));
//   // stderr: "metrics: 'a b' is not a valid metric name", then abort()
#ifndef METRICS_MISUSE_H_
#define METRICS_MISUSE_H_

#include "absl/strings/string_view.h"

namespace messaging::metrics {

// Writes "metrics: <what>" on stderr and aborts.
[[noreturn]] void Misuse(absl::string_view what);

}  // namespace messaging::metrics

#endif  // METRICS_MISUSE_H_
