// Gives the heap's free memory back to the kernel after a burst.
//
// glibc keeps memory a program freed for reuse, returning only the free
// top of each heap past M_TRIM_THRESHOLD (16 MiB here, service_main.cc).
// After a burst (a rapid-reset flood queues ~15 KiB of gRPC state per
// stream: 2.3 GiB measured) the free memory is spread through the heaps
// and stays resident for good, though malloc_trim(0) hands it all back
// (2.3 GiB -> 24 MiB). A thread checks how much is free every period and
// trims when that exceeds a bound, so steady traffic, which keeps little
// free, is left alone.
//
// Usage:
//   HeapTrimmer trimmer(absl::Seconds(1), /*trim_above_bytes=*/32 << 20);
//   ... until destroyed.
#ifndef CONSUMER_SERVICE_HEAP_TRIMMER_H_
#define CONSUMER_SERVICE_HEAP_TRIMMER_H_

#include <cstddef>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace messaging {

class HeapTrimmer {
 public:
  HeapTrimmer(absl::Duration period, size_t trim_above_bytes);
  // Stops the thread.
  ~HeapTrimmer();
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

  // When more than `trim_above_bytes` of the heap is free, returns the free
  // pages to the kernel; the bytes that were free then, or 0 if none was
  // trimmed.
  static size_t TrimIfFreeAbove(size_t trim_above_bytes);

 private:
  void Run(absl::Duration period, size_t trim_above_bytes);

  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_HEAP_TRIMMER_H_
