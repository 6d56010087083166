#include "consumer_service/heap_trimmer.h"

#include <malloc.h>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace messaging {
namespace {

// Trims that return less are not worth a log line.
constexpr size_t kLoggedTrimBytes = size_t{64} << 20;

}  // namespace

HeapTrimmer::HeapTrimmer(absl::Duration period, size_t trim_above_bytes)
    : thread_([this, period, trim_above_bytes] {
        Run(period, trim_above_bytes);
      }) {}

HeapTrimmer::~HeapTrimmer() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  thread_.join();
}

size_t HeapTrimmer::TrimIfFreeAbove(size_t trim_above_bytes) {
  // fordblks: bytes in free chunks of every arena, resident or not; what
  // malloc_trim can give back is at most that.
  const size_t free_bytes = mallinfo2().fordblks;
  if (free_bytes <= trim_above_bytes) return 0;
  malloc_trim(0);
  return free_bytes;
}

void HeapTrimmer::Run(absl::Duration period, size_t trim_above_bytes) {
  absl::MutexLock lock(&mutex_);
  while (!mutex_.AwaitWithTimeout(absl::Condition(&stopping_), period)) {
    mutex_.Unlock();
    const size_t trimmed = TrimIfFreeAbove(trim_above_bytes);
    if (trimmed >= kLoggedTrimBytes) {
      LogInfo(absl::StrCat("returned up to ", trimmed >> 20,
                           " MiB of free heap to the system"));
    }
    mutex_.Lock();
  }
}

}  // namespace messaging
