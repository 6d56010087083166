#include "common/termination_signals.h"

#include <pthread.h>
#include <signal.h>

#include <utility>

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

int WaitForTerminationSignal() {
  sigset_t signals = TerminationSignalSet();
  int signal = 0;
  return sigwait(&signals, &signal) == 0 ? signal : 0;
}

void BlockReloadSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int WaitForTerminationOrReloadSignal() {
  sigset_t signals = TerminationSignalSet();
  sigaddset(&signals, SIGHUP);
  int signal = 0;
  return sigwait(&signals, &signal) == 0 ? signal : 0;
}

TerminationSignalWatcher::TerminationSignalWatcher(
    std::function<void(int signal)> on_signal, bool with_reload) {
  // The thread starts with the signals blocked, so that the wake-up in the
  // destructor is waited for rather than delivered.
  sigset_t signals = TerminationSignalSet();
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  thread_ = std::thread([this, on_signal = std::move(on_signal), with_reload] {
    while (true) {
      const int signal = with_reload ? WaitForTerminationOrReloadSignal()
                                     : WaitForTerminationSignal();
      if (stopping_) return;
      if (signal != 0) on_signal(signal);
    }
  });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

TerminationSignalWatcher::~TerminationSignalWatcher() {
  stopping_ = true;
  // Aimed at the watcher's thread only: ends its wait.
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

}  // namespace messaging
