// The message log's second stage under group commit: fdatasyncs the active
// segment on a thread of its own, behind the writer, so that the writer's
// next pwrite overlaps the last group's sync instead of waiting for it
// (strace of 10 M batched messages on a virtio disk: 1.2 s in pwrite and
// 0.9 s in fdatasync, one after the other).
//
// Requests coalesce: a sync that starts covers every request made before
// it, so however many groups the writer writes meanwhile, the disk sees one
// fdatasync at a time, back to back. After a failed sync it confirms
// nothing more, ever: a later fdatasync may succeed without the data the
// failed one lost.
//
// Usage, on the writer thread:
//   LogSyncer syncer(this);  // this implements LogSyncer::Callbacks
//   // After each group's pwrite:
//   syncer.Request(fd, offset_after_the_group);
//   // Before closing fd or anything else that must follow the syncs:
//   syncer.WaitIdle();
#ifndef CONSUMER_SERVICE_LOG_SYNCER_H_
#define CONSUMER_SERVICE_LOG_SYNCER_H_

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace messaging {

class LogSyncer {
 public:
  // Called on the syncer's thread, one call at a time.
  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // fdatasyncs `fd`; false if that failed, which the callee reports.
    virtual bool SyncSegment(int fd) = 0;
    // Every record below `offset` is on the disk.
    virtual void OnSynced(uint64_t offset) = 0;
  };

  explicit LogSyncer(Callbacks* callbacks);
  // Finishes the requests made, then stops its thread.
  ~LogSyncer();
  LogSyncer(const LogSyncer&) = delete;
  LogSyncer& operator=(const LogSyncer&) = delete;

  // Asks for `fd` to be synced once every record below `offset` has been
  // written to it (so, called after the pwrite); returns at once. `fd`
  // must stay open until WaitIdle() returns. Offsets only grow.
  void Request(int fd, uint64_t offset);

  // Waits until every request made so far is synced, or has failed.
  void WaitIdle();

  // Whether an fdatasync is running. It turns false before OnSynced(), so
  // a writer that waits for that under its own lock, which OnSynced()
  // takes, is woken.
  bool syncing() const { return syncing_now_.load(std::memory_order_acquire); }

 private:
  void Loop();

  Callbacks* const callbacks_;
  absl::Mutex mutex_;
  // The newest request not yet taken by a sync, if has_request_.
  bool has_request_ ABSL_GUARDED_BY(mutex_) = false;
  int fd_ ABSL_GUARDED_BY(mutex_) = -1;
  uint64_t offset_ ABSL_GUARDED_BY(mutex_) = 0;
  // A request taken and not yet confirmed (WaitIdle waits for it).
  bool syncing_ ABSL_GUARDED_BY(mutex_) = false;
  std::atomic<bool> syncing_now_{false};
  bool failed_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_LOG_SYNCER_H_
