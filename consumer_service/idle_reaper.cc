#include "consumer_service/idle_reaper.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace messaging {

IdleReaper::IdleReaper(absl::Duration idle_timeout)
    : idle_timeout_(idle_timeout), thread_([this] { Run(); }) {}

IdleReaper::~IdleReaper() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  thread_.join();
}

void IdleReaper::Register(IdleStream* stream) {
  absl::MutexLock lock(&mutex_);
  streams_.insert(stream);
}

void IdleReaper::Unregister(IdleStream* stream) {
  absl::MutexLock lock(&mutex_);
  streams_.erase(stream);
}

void IdleReaper::Run() {
  // Checking a few times per timeout keeps the overshoot small.
  const absl::Duration period =
      std::clamp(idle_timeout_ / 4, absl::Milliseconds(10), absl::Seconds(1));
  const absl::Status idle = absl::DeadlineExceededError(absl::StrCat(
      "the stream sent nothing for ", absl::FormatDuration(idle_timeout_),
      " (--stream_idle_timeout); reconnect to go on"));
  absl::MutexLock lock(&mutex_);
  while (!stopping_) {
    mutex_.AwaitWithTimeout(absl::Condition(&stopping_), period);
    const absl::Time idle_before = absl::Now() - idle_timeout_;
    for (IdleStream* stream : streams_) {
      if (stream->LastActivity() <= idle_before) stream->OnIdle(idle);
    }
  }
}

}  // namespace messaging
