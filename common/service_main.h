// The end of every service's main(): one convention for exit codes and the
// process-wide set-up, so both binaries behave alike.
//
// Usage, after parsing the flags into `options`:
//   return RunServiceMain("consumer_service", absl::GetFlag(FLAGS_log_format),
//                         ValidateConsumerOptions(options),
//                         [&] { return RunConsumer(options); });
#ifndef COMMON_SERVICE_MAIN_H_
#define COMMON_SERVICE_MAIN_H_

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/logging.h"

namespace messaging {

// Exit codes of both services.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitBadFlags = 2;

// With `flags_valid` not OK: prints "<program>: <message>" and returns
// kExitBadFlags before anything starts (a plain line in either format, like
// Abseil's own flag errors). Otherwise logs in `log_format` from then on,
// blocks SIGINT/SIGTERM (before any thread exists), routes gRPC's log lines
// into the services' log, and calls `run`: kExitOk, or one error line (with
// its status code as a field) and kExitFailed. gRPC stays initialized until
// the process exits, so that its clean-up never delays the exit.
int RunServiceMain(absl::string_view program, LogFormat log_format,
                   const absl::Status& flags_valid,
                   absl::FunctionRef<absl::Status()> run);

}  // namespace messaging

#endif  // COMMON_SERVICE_MAIN_H_
