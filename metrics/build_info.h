// `<prefix>_build_info`: a gauge that is always 1, whose labels say which
// build is running (its version, the gRPC it links). The Prometheus
// convention for exposing constant facts: a query joins on the labels, e.g.
// `count by (version) (consumer_build_info)` during a rollout.
//
// Usage:
//   registry.AddCollector(metrics::BuildInfo(
//       "consumer", {{"version", kVersion}, {"grpc_version",
//       grpc::Version()}}));
//   // # HELP consumer_build_info Always 1; the labels describe this build.
//   // # TYPE consumer_build_info gauge
//   // consumer_build_info{version="1.2.0",grpc_version="1.51.1"} 1
#ifndef METRICS_BUILD_INFO_H_
#define METRICS_BUILD_INFO_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "metrics/collector.h"
#include "metrics/exposition.h"

namespace messaging::metrics {

// `labels` are copied. A prefix or label name Prometheus would reject
// aborts here (misuse.h).
std::unique_ptr<Collector> BuildInfo(absl::string_view prefix, Labels labels);

}  // namespace messaging::metrics

#endif  // METRICS_BUILD_INFO_H_
