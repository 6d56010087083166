#include "common/service_main.h"

#include <iostream>

#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/termination_signals.h"

namespace messaging {

int RunServiceMain(absl::string_view program, const absl::Status& flags_valid,
                   absl::FunctionRef<absl::Status()> run) {
  if (!flags_valid.ok()) {
    std::cerr << program << ": " << flags_valid.message() << std::endl;
    return kExitBadFlags;
  }
  // Debian builds Abseil with its mutex deadlock detector on, which costs
  // a graph lookup on every lock of the hot path.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  BlockTerminationSignals();
  if (absl::Status done = run(); !done.ok()) {
    LogError(done.message());
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace messaging
