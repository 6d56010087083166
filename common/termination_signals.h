// SIGINT/SIGTERM (and, for a service that reloads, SIGHUP) delivered to
// ordinary code instead of a signal handler.
//
// Shutting a gRPC server down from a signal handler is unsafe, so the
// services block both signals in every thread and wait for them explicitly.
//
// Usage, in main() before any thread exists (gRPC threads inherit the mask):
//   BlockTerminationSignals();
//   ...
//   int signal = WaitForTerminationSignal();
//
// Or, to react while other work goes on:
//   TerminationSignalWatcher watcher([&](int signal) { job.Stop(); });
#ifndef COMMON_TERMINATION_SIGNALS_H_
#define COMMON_TERMINATION_SIGNALS_H_

#include <atomic>
#include <functional>
#include <thread>

namespace messaging {

// Blocks SIGINT and SIGTERM in the calling thread and in every thread it
// creates afterwards.
void BlockTerminationSignals();

// Waits for SIGINT or SIGTERM; returns the signal number (0 if the wait
// failed). Requires BlockTerminationSignals() first.
int WaitForTerminationSignal();

// Blocks SIGHUP as well, for a service that reloads its configuration on
// it instead of dying of it; the same rule: before any thread exists.
void BlockReloadSignal();

// As WaitForTerminationSignal, and also returns SIGHUP. Requires
// BlockReloadSignal() too.
int WaitForTerminationOrReloadSignal();

// Calls `on_signal` on a thread of its own for every SIGINT/SIGTERM (and
// SIGHUP, with `with_reload`: requires BlockReloadSignal()), until
// destroyed. With BlockTerminationSignals() in main, every such signal of
// the process comes here; without it (tests), only the process's default
// handling applies.
class TerminationSignalWatcher {
 public:
  explicit TerminationSignalWatcher(std::function<void(int signal)> on_signal,
                                    bool with_reload = false);
  // Stops watching at once.
  ~TerminationSignalWatcher();

 private:
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace messaging

#endif  // COMMON_TERMINATION_SIGNALS_H_
