// Ends streams that have sent nothing for too long, so that a producer
// that vanished without closing its stream does not hold a stream slot
// forever.
//
// Threads and locks: the reaper runs one thread of its own, from its
// constructor to its destructor. A few times per timeout it takes its
// mutex, asks each registered stream for its last activity, and calls
// OnIdle on those idle too long, still under that mutex. Register and
// Unregister take the same mutex, so once Unregister returns the reaper
// will not call that stream again: a stream unregisters before it dies.
// Lock order: the reaper's mutex, then whatever a stream's OnIdle takes;
// so a stream must not call Register or Unregister while holding a lock
// its OnIdle takes.
//
// Usage:
//   IdleReaper reaper(absl::Minutes(5));
//   reaper.Register(&stream);    // stream implements IdleStream
//   ...
//   reaper.Unregister(&stream);  // before the stream is destroyed
#ifndef CONSUMER_SERVICE_IDLE_REAPER_H_
#define CONSUMER_SERVICE_IDLE_REAPER_H_

#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace messaging {

// A stream the reaper watches. Both calls come on the reaper's thread,
// under its mutex.
class IdleStream {
 public:
  virtual ~IdleStream() = default;

  // When the stream last received something; read without the stream's
  // locks, so it must be cheap (an atomic).
  virtual absl::Time LastActivity() const = 0;

  // The stream has been idle too long: end it with `status`
  // (DEADLINE_EXCEEDED, naming the timeout), unless it has already ended
  // or is closing normally.
  virtual void OnIdle(const absl::Status& status) = 0;
};

class IdleReaper {
 public:
  // Starts the thread; a stream idle for `idle_timeout` is ended.
  explicit IdleReaper(absl::Duration idle_timeout);
  // Stops and joins the thread.
  ~IdleReaper();

  IdleReaper(const IdleReaper&) = delete;
  IdleReaper& operator=(const IdleReaper&) = delete;

  void Register(IdleStream* stream);
  void Unregister(IdleStream* stream);

 private:
  void Run();

  const absl::Duration idle_timeout_;
  absl::Mutex mutex_;
  std::set<IdleStream*> streams_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_IDLE_REAPER_H_
