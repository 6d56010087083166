// Reading the records of one log segment file, and telling a torn tail
// (what a crash leaves, safe to cut) from corruption (which must stop the
// consumer, never be cut).
//
// Usage:
//   absl::StatusOr<RecordScan> scan = ScanRecords(fd, path, 0, visit);
//   if (scan->valid_bytes < file_size) {
//     TailVerdict verdict = ClassifyTail(bytes_from_valid_bytes_to_end);
//     if (!verdict.torn) ... refuse, citing verdict.reason ...
//   }
#ifndef CONSUMER_SERVICE_LOG_SCAN_H_
#define CONSUMER_SERVICE_LOG_SCAN_H_

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "protos/messaging/v1/messaging.pb.h"

namespace messaging {

// A record the consumer could have written: a parsable Mensaje that names
// its producer. (An all-zero header decodes as an empty record.)
bool ParseLoggedMessage(absl::string_view payload, v1::Mensaje* message);

// Where a scan stopped.
struct RecordScan {
  uint64_t records = 0;
  // The byte after the last whole record (the scan's start if none).
  uint64_t valid_bytes = 0;
};

// Reads `fd` from byte `start` and calls `visit` for each whole record in
// order, with the byte after it, stopping at the end of the file or at the
// first record that is not whole. UNAVAILABLE if the file cannot be read.
absl::StatusOr<RecordScan> ScanRecords(
    int fd, const std::string& path, uint64_t start,
    absl::FunctionRef<void(const v1::Mensaje&, uint64_t end)> visit);

struct TailVerdict {
  // Safe to cut: what a crash in the middle of a write leaves.
  bool torn = false;
  // Why not, when not torn, in words for an operator.
  std::string reason;
  // Torn, and nothing but zeros: the file grew but was never written there
  // (a crash before the kernel wrote the pages, or the rest of a block an
  // O_DIRECT write padded).
  bool zeros = false;
};

// Judges `tail`: the bytes of the log's last segment from its first record
// that is not whole to the end of the file. Torn only when no whole record
// follows anywhere in it and the damaged record is explained by a write cut
// short (it runs past the end of the file, its header is incomplete, or the
// rest of the file is zeros a crash left unwritten) — and its checksum does
// not match a shorter whole record, which would mean its length field was
// damaged. Anything else is corruption a crash cannot cause.
TailVerdict ClassifyTail(absl::string_view tail);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_LOG_SCAN_H_
