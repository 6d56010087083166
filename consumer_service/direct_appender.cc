#include "consumer_service/direct_appender.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace messaging {

bool DirectAppender::Start(int fd, uint64_t file_bytes) {
  const size_t tail_bytes = file_bytes % kBlockBytes;
  const uint64_t block_start = file_bytes - tail_bytes;
  std::string tail(tail_bytes, '\0');
  for (size_t done = 0; done < tail_bytes;) {
    const ssize_t n = pread(fd, tail.data() + done, tail_bytes - done,
                            static_cast<off_t>(block_start + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_DIRECT) != 0) return false;
  Reset(file_bytes, tail);
  return true;
}

void DirectAppender::Reset(uint64_t file_bytes, absl::string_view tail) {
  file_bytes_ = file_bytes;
  staged_ = 0;
  Reserve(kBlockBytes, 0);
  std::memcpy(buffer_.get(), tail.data(), tail.size());
}

absl::string_view DirectAppender::Stage(absl::string_view records) {
  const size_t head = file_bytes_ % kBlockBytes;
  const size_t end = head + records.size();
  const size_t blocks_end = (end + kBlockBytes - 1) / kBlockBytes * kBlockBytes;
  Reserve(blocks_end, head);
  std::memcpy(buffer_.get() + head, records.data(), records.size());
  std::memset(buffer_.get() + end, 0, blocks_end - end);
  staged_ = records.size();
  return absl::string_view(buffer_.get(), blocks_end);
}

void DirectAppender::Commit() {
  const size_t end = file_bytes_ % kBlockBytes + staged_;
  const size_t tail_start = end - end % kBlockBytes;
  // The new partial last block leads the next write.
  std::memmove(buffer_.get(), buffer_.get() + tail_start, end - tail_start);
  file_bytes_ += staged_;
  staged_ = 0;
}

void DirectAppender::Reserve(size_t bytes, size_t keep) {
  if (bytes <= capacity_) return;
  // Doubling, so that growing groups cost few reallocations.
  const size_t capacity = std::max(bytes, 2 * capacity_);
  void* memory = nullptr;
  if (posix_memalign(&memory, kBlockBytes, capacity) != 0) std::abort();
  if (keep > 0) std::memcpy(memory, buffer_.get(), keep);
  buffer_.reset(static_cast<char*>(memory));
  capacity_ = capacity;
}

}  // namespace messaging
