#include "consumer_service/log_syncer.h"

namespace messaging {

LogSyncer::LogSyncer(Callbacks* callbacks)
    : callbacks_(callbacks), thread_([this] { Loop(); }) {}

LogSyncer::~LogSyncer() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  thread_.join();
}

void LogSyncer::Request(int fd, uint64_t offset) {
  absl::MutexLock lock(&mutex_);
  if (failed_) return;
  has_request_ = true;
  fd_ = fd;
  offset_ = offset;
}

void LogSyncer::WaitIdle() {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(
      +[](LogSyncer* syncer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(syncer->mutex_) {
        return !syncer->has_request_ && !syncer->syncing_;
      },
      this));
}

void LogSyncer::Loop() {
  absl::MutexLock lock(&mutex_);
  while (true) {
    mutex_.Await(absl::Condition(
        +[](LogSyncer* syncer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(syncer->mutex_) {
          return syncer->has_request_ || syncer->stopping_;
        },
        this));
    if (!has_request_) return;  // stopping, with nothing left to sync
    const int fd = fd_;
    const uint64_t offset = offset_;
    has_request_ = false;
    syncing_ = true;
    syncing_now_.store(true, std::memory_order_release);
    mutex_.Unlock();
    const bool synced = callbacks_->SyncSegment(fd);
    syncing_now_.store(false, std::memory_order_release);
    if (synced) callbacks_->OnSynced(offset);
    mutex_.Lock();
    syncing_ = false;
    if (!synced) {
      failed_ = true;
      has_request_ = false;
    }
  }
}

}  // namespace messaging
