// SIGINT/SIGTERM delivered to ordinary code instead of a signal handler.
//
// Shutting a gRPC server down from a signal handler is unsafe, so the
// services block both signals in every thread and wait for them explicitly.
//
// Usage, in main() before any thread exists (gRPC threads inherit the mask):
//   BlockTerminationSignals();
//   ...
//   while (WaitForTerminationSignal(absl::Seconds(1)) == 0) { ... }
#ifndef COMMON_TERMINATION_SIGNALS_H_
#define COMMON_TERMINATION_SIGNALS_H_

#include "absl/time/time.h"

namespace messaging {

// Blocks SIGINT and SIGTERM in the calling thread and in every thread it
// creates afterwards.
void BlockTerminationSignals();

// Waits up to `timeout` for SIGINT or SIGTERM; returns the signal number, or
// 0 if none arrived. Requires BlockTerminationSignals() first.
int WaitForTerminationSignal(absl::Duration timeout);

}  // namespace messaging

#endif  // COMMON_TERMINATION_SIGNALS_H_
