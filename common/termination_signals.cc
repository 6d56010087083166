#include "common/termination_signals.h"

#include <signal.h>
#include <time.h>

#include <cerrno>

namespace messaging {
namespace {

sigset_t TerminationSignalSet() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t signals = TerminationSignalSet();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int WaitForTerminationSignal(absl::Duration timeout) {
  sigset_t signals = TerminationSignalSet();
  if (timeout == absl::InfiniteDuration()) {
    int signal = 0;
    return sigwait(&signals, &signal) == 0 ? signal : 0;
  }
  timespec wait = absl::ToTimespec(timeout);
  int signal = sigtimedwait(&signals, nullptr, &wait);
  return signal > 0 ? signal : 0;
}

}  // namespace messaging
