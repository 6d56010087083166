// Timestamped log lines on stderr, shared by both services.
//
// Abseil 20220623 (Debian 12) has no absl/log, and gRPC's gpr_log is silent
// below ERROR unless GRPC_VERBOSITY is set, so the services log through
// these functions. Logs go to stderr so that stdout carries only the demo's
// lines and summaries, which tests and users read.
//
// Usage:
//   LogInfo(absl::StrCat("listening on ", address));
//   // 2026-11-27T07:08:14.123Z INFO listening on 0.0.0.0:50051
#ifndef COMMON_LOGGING_H_
#define COMMON_LOGGING_H_

#include "absl/strings/string_view.h"

namespace messaging {

void LogInfo(absl::string_view message);
void LogWarning(absl::string_view message);
void LogError(absl::string_view message);

}  // namespace messaging

#endif  // COMMON_LOGGING_H_
