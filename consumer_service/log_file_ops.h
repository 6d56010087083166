// The few file calls the message log's writer makes, behind an interface so
// that tests can make them fail the way a full disk, a quota or a dying
// device does (ENOSPC, EDQUOT, EIO), which no unprivileged test can cause
// for real.
//
// Usage:
//   LogFileOps& ops = PosixLogFileOps();
//   if (ops.Pwrite(fd, data.data(), data.size(), offset) < 0) ... errno ...
#ifndef CONSUMER_SERVICE_LOG_FILE_OPS_H_
#define CONSUMER_SERVICE_LOG_FILE_OPS_H_

#include <sys/types.h>

#include <cstddef>

namespace messaging {

// Each call behaves like the POSIX call of the same name: the result, or -1
// with errno set.
class LogFileOps {
 public:
  virtual ~LogFileOps() = default;
  virtual ssize_t Pwrite(int fd, const void* data, size_t size,
                         off_t offset) = 0;
  virtual int Fdatasync(int fd) = 0;
  virtual int Ftruncate(int fd, off_t size) = 0;
  // sync_file_range(fd, offset, size, SYNC_FILE_RANGE_WRITE): starts the
  // writeback of that range without waiting for it.
  virtual int StartWriteback(int fd, off_t offset, off_t size) = 0;
};

// The real calls.
LogFileOps& PosixLogFileOps();

}  // namespace messaging

#endif  // CONSUMER_SERVICE_LOG_FILE_OPS_H_
