#include "producer_service/pacer.h"

#include <utility>

#include "absl/time/clock.h"

namespace messaging {

Pacer::Pacer() : thread_([this] { Loop(); }) {}

Pacer::~Pacer() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    changed_.Signal();
  }
  thread_.join();
}

Pacer& Pacer::Shared() {
  static Pacer* const shared = new Pacer();
  return *shared;
}

void Pacer::RunAt(const void* owner, absl::Time when,
                  std::function<void()> callback) {
  absl::MutexLock lock(&mutex_);
  Schedule(owner, when, std::move(callback));
}

void Pacer::Advance(const void* owner) {
  absl::MutexLock lock(&mutex_);
  auto found = by_owner_.find(owner);
  if (found == by_owner_.end()) return;
  std::function<void()> callback = std::move(found->second->second.callback);
  Schedule(owner, absl::InfinitePast(), std::move(callback));
}

void Pacer::Cancel(const void* owner) {
  absl::MutexLock lock(&mutex_);
  if (auto found = by_owner_.find(owner); found != by_owner_.end()) {
    queue_.erase(found->second);
    by_owner_.erase(found);
  }
  auto not_running = [this, owner]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return running_ != owner;
  };
  mutex_.Await(absl::Condition(&not_running));
}

void Pacer::Schedule(const void* owner, absl::Time when,
                     std::function<void()> callback) {
  if (auto found = by_owner_.find(owner); found != by_owner_.end()) {
    queue_.erase(found->second);
  }
  by_owner_[owner] = queue_.emplace(when, Pending{owner, std::move(callback)});
  changed_.Signal();
}

void Pacer::Loop() {
  absl::MutexLock lock(&mutex_);
  while (!stopping_) {
    if (queue_.empty()) {
      changed_.Wait(&mutex_);
      continue;
    }
    auto first = queue_.begin();
    if (first->first > absl::Now()) {
      changed_.WaitWithDeadline(&mutex_, first->first);
      continue;
    }
    std::function<void()> callback = std::move(first->second.callback);
    running_ = first->second.owner;
    by_owner_.erase(first->second.owner);
    queue_.erase(first);
    mutex_.Unlock();
    callback();
    mutex_.Lock();
    running_ = nullptr;
  }
}

}  // namespace messaging
