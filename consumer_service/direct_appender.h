// Appends to a log segment through O_DIRECT, which skips the kernel's copy
// of every record into the page cache: a fifth of the consumer's CPU under
// group commit (copy_folio_from_iter_atomic in perf), for pages synced to
// the disk at once anyway. O_DIRECT takes only whole blocks from aligned
// memory, so each write starts at the block that holds the file's end,
// repeating the records already in it (the same bytes, so a torn write of
// that block still holds them), and ends with zeros to the block's end,
// which the next write overwrites. The log trims those zeros before a
// segment is closed; after a crash, recovery cuts them like any unwritten
// tail (log_scan.h).
//
// Usage:
//   DirectAppender appender;
//   if (appender.Start(fd, file_bytes)) {
//     absl::string_view blocks = appender.Stage(records);
//     pwrite(fd, blocks.data(), blocks.size(), appender.offset());
//     appender.Commit();  // once every byte of `blocks` is written
//   }
#ifndef CONSUMER_SERVICE_DIRECT_APPENDER_H_
#define CONSUMER_SERVICE_DIRECT_APPENDER_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "absl/strings/string_view.h"

namespace messaging {

class DirectAppender {
 public:
  // The alignment Linux's O_DIRECT needs is the device's logical block:
  // 512 or 4096 bytes on the disks this runs on, and 4096 suits both.
  static constexpr size_t kBlockBytes = 4096;

  // Reads the partial last block of `fd`, whose first `file_bytes` bytes
  // are the segment's records, and switches `fd` to O_DIRECT. False, with
  // `fd` as it was, where the file system refuses O_DIRECT (tmpfs) or the
  // block cannot be read: the caller writes through the page cache.
  bool Start(int fd, uint64_t file_bytes);
  // Like Start, for a file whose first `file_bytes` bytes end with `tail`,
  // its partial last block (file_bytes % kBlockBytes bytes).
  void Reset(uint64_t file_bytes, absl::string_view tail);

  // The whole blocks that append `records` to the file: the partial last
  // block, `records`, then zeros to a block boundary, to be written at
  // offset(). Valid until the next call.
  absl::string_view Stage(absl::string_view records);
  // Where the staged blocks go: the start of the block holding the end.
  uint64_t offset() const { return file_bytes_ - file_bytes_ % kBlockBytes; }
  // The staged blocks are in the file: the records staged follow its end.
  void Commit();
  // The file's records, as committed.
  uint64_t file_bytes() const { return file_bytes_; }

 private:
  struct Free {
    void operator()(char* memory) const { std::free(memory); }
  };
  // Makes room for `bytes`, keeping the first `keep`.
  void Reserve(size_t bytes, size_t keep);

  // Aligned to kBlockBytes, as O_DIRECT needs; starts with the partial
  // last block.
  std::unique_ptr<char, Free> buffer_;
  size_t capacity_ = 0;
  uint64_t file_bytes_ = 0;
  size_t staged_ = 0;  // bytes of records after the partial block
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_DIRECT_APPENDER_H_
