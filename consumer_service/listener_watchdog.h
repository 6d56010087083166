// Notices that gRPC's listener has stopped accepting connections for good.
//
// gRPC 1.51's POSIX listener gives up after one accept4() failure other than
// EAGAIN, ECONNABORTED or EINTR (CVE-2023-4785; fixed in gRPC 1.56.3+, not in
// Debian 12): once connections exceed RLIMIT_NOFILE it logs "Failed
// accept4: Too many open files" and never accepts again, even after every
// connection has closed, while the process and its open streams look
// healthy. That log line is the only sign, so this watches gRPC's log for
// it; the consumer then stops for its supervisor to restart it.
//
// At that moment the process has no descriptor left, and stopping in order
// may need one (a pipe, a file; UBSan's checks under --config=asan probe
// memory through a pipe): the watchdog holds a few in reserve from the
// start and lets them go when it sees the line.
//
// Usage (before the server starts, so no line is missed):
//   ListenerWatchdog watchdog;
//   ... start the server; on SIGTERM: watchdog.Cancel();
//   if (std::optional<std::string> why = watchdog.Wait()) { ...exit 1 }
#ifndef CONSUMER_SERVICE_LISTENER_WATCHDOG_H_
#define CONSUMER_SERVICE_LISTENER_WATCHDOG_H_

#include <array>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_logs.h"

namespace messaging {

class ListenerWatchdog final : public GrpcLogObserver {
 public:
  // Watches gRPC's log from now until destroyed.
  ListenerWatchdog();
  ~ListenerWatchdog() override;
  ListenerWatchdog(const ListenerWatchdog&) = delete;
  ListenerWatchdog& operator=(const ListenerWatchdog&) = delete;

  // Blocks until the listener has died, returning gRPC's line that said so,
  // or until Cancel(), returning nullopt (a death seen first still wins).
  std::optional<std::string> Wait();
  // Ends Wait(); from any thread.
  void Cancel();

  void OnGrpcLog(absl::string_view message) override;

 private:
  void ReleaseReserve() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  absl::Mutex mutex_;
  // Descriptors of /dev/null, closed (-1) once the listener died.
  std::array<int, 4> reserve_ ABSL_GUARDED_BY(mutex_);
  std::optional<std::string> death_ ABSL_GUARDED_BY(mutex_);
  bool cancelled_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_LISTENER_WATCHDOG_H_
