// Runs the paused work of many streams at its time, on one thread.
//
// A producer paced by --rate or --interval, or waiting to fill a batch,
// pauses between writes. gRPC's own alarms (grpc::Alarm) fire about 1 ms
// late (median, measured on a 2-core Debian VM), which no pacing of
// hundreds of thousands of messages a second can afford; a thread waiting
// on a deadline wakes within about 0.1 ms. One thread serves every stream
// of the process, so 1,000 streams do not take 1,000 timer threads.
//
// Each owner (a stream) has at most one pending callback.
//
// Usage:
//   Pacer& pacer = Pacer::Shared();
//   pacer.RunAt(this, absl::Now() + absl::Microseconds(50),
//               [this] { WriteNext(); });
//   pacer.Advance(this);  // run it now instead, e.g. to stop
//   pacer.Cancel(this);   // or drop it, before `this` goes
#ifndef PRODUCER_SERVICE_PACER_H_
#define PRODUCER_SERVICE_PACER_H_

#include <functional>
#include <map>
#include <thread>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace messaging {

class Pacer {
 public:
  Pacer();
  // Drops the callbacks still pending, without running them.
  ~Pacer();
  Pacer(const Pacer&) = delete;
  Pacer& operator=(const Pacer&) = delete;

  // The process's pacer, started on first use and never destroyed.
  static Pacer& Shared();

  // Runs `callback` on the pacer's thread at `when` (at once if that has
  // passed), replacing what `owner` had pending. Callbacks run one at a
  // time, and may call RunAt and Advance.
  void RunAt(const void* owner, absl::Time when,
             std::function<void()> callback);

  // Runs what `owner` has pending as soon as possible; nothing if it has
  // nothing pending.
  void Advance(const void* owner);

  // Drops what `owner` has pending and, if its callback is running, waits
  // for it to return, so that the owner may go. Not from that callback.
  void Cancel(const void* owner);

 private:
  struct Pending {
    const void* owner;
    std::function<void()> callback;
  };
  using Queue = std::multimap<absl::Time, Pending>;

  void Schedule(const void* owner, absl::Time when,
                std::function<void()> callback)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Loop();

  absl::Mutex mutex_;
  absl::CondVar changed_;
  Queue queue_ ABSL_GUARDED_BY(mutex_);
  std::unordered_map<const void*, Queue::iterator> by_owner_
      ABSL_GUARDED_BY(mutex_);
  // Whose callback runs now, if any: Cancel() waits for it.
  const void* running_ ABSL_GUARDED_BY(mutex_) = nullptr;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace messaging

#endif  // PRODUCER_SERVICE_PACER_H_
