#include "consumer_service/listener_watchdog.h"

#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/match.h"

namespace messaging {
namespace {

// tcp_server_posix.cc's line when accept4() fails for good; the listener
// is not re-armed after it.
constexpr absl::string_view kDeadListener = "Failed accept4";

}  // namespace

ListenerWatchdog::ListenerWatchdog() {
  {
    absl::MutexLock lock(&mutex_);
    for (int& fd : reserve_) fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  AddGrpcLogObserver(this);
}

ListenerWatchdog::~ListenerWatchdog() {
  RemoveGrpcLogObserver(this);
  absl::MutexLock lock(&mutex_);
  ReleaseReserve();
}

void ListenerWatchdog::ReleaseReserve() {
  for (int& fd : reserve_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
}

std::optional<std::string> ListenerWatchdog::Wait() {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(
      +[](ListenerWatchdog* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) {
        return self->death_ || self->cancelled_;
      },
      this));
  return death_;
}

void ListenerWatchdog::Cancel() {
  absl::MutexLock lock(&mutex_);
  cancelled_ = true;
}

void ListenerWatchdog::OnGrpcLog(absl::string_view message) {
  if (!absl::StartsWith(message, kDeadListener)) return;
  absl::MutexLock lock(&mutex_);
  if (death_) return;
  ReleaseReserve();
  death_ = std::string(message);
}

}  // namespace messaging
