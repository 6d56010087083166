#include "consumer_service/log_file_ops.h"

#include <fcntl.h>
#include <unistd.h>

namespace messaging {
namespace {

class PosixOps : public LogFileOps {
 public:
  ssize_t Pwrite(int fd, const void* data, size_t size, off_t offset) override {
    return pwrite(fd, data, size, offset);
  }
  int Fdatasync(int fd) override { return fdatasync(fd); }
  int Ftruncate(int fd, off_t size) override { return ftruncate(fd, size); }
  int StartWriteback(int fd, off_t offset, off_t size) override {
    return sync_file_range(fd, offset, size, SYNC_FILE_RANGE_WRITE);
  }
};

}  // namespace

LogFileOps& PosixLogFileOps() {
  static PosixOps* const ops = new PosixOps();
  return *ops;
}

}  // namespace messaging
