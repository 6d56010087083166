#include "consumer_service/log_scan.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "consumer_service/log_record.h"

namespace messaging {
namespace {

constexpr size_t kReadChunkBytes = 1 << 20;

bool IsWholeRecord(absl::string_view input, v1::Mensaje* message) {
  absl::string_view payload;
  size_t record_size = 0;
  return DecodeRecord(input, &payload, &record_size) == DecodeResult::kRecord &&
         ParseLoggedMessage(payload, message);
}

TailVerdict Corrupt(std::string reason) { return {false, std::move(reason)}; }

}  // namespace

bool ParseLoggedMessage(absl::string_view payload, v1::Mensaje* message) {
  return message->ParseFromArray(payload.data(),
                                 static_cast<int>(payload.size())) &&
         !message->producer_id().empty();
}

absl::StatusOr<RecordScan> ScanRecords(
    int fd, const std::string& path, uint64_t start,
    absl::FunctionRef<void(const v1::Mensaje&, uint64_t end)> visit) {
  RecordScan scan{0, start};
  std::string buffer;
  size_t consumed = 0;  // of `buffer`
  uint64_t read_at = start;
  v1::Mensaje message;
  while (true) {
    absl::string_view payload;
    size_t record_size = 0;
    const absl::string_view unread = absl::string_view(buffer).substr(consumed);
    const DecodeResult decoded = DecodeRecord(unread, &payload, &record_size);
    if (decoded == DecodeResult::kRecord &&
        ParseLoggedMessage(payload, &message)) {
      consumed += record_size;
      scan.valid_bytes += record_size;
      ++scan.records;
      visit(message, scan.valid_bytes);
      continue;
    }
    if (decoded != DecodeResult::kIncomplete) return scan;
    buffer.erase(0, consumed);
    consumed = 0;
    const size_t old_size = buffer.size();
    buffer.resize(old_size + kReadChunkBytes);
    const ssize_t got = pread(fd, buffer.data() + old_size, kReadChunkBytes,
                              static_cast<off_t>(read_at));
    if (got < 0 && errno == EINTR) {
      buffer.resize(old_size);
      continue;
    }
    if (got < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
    }
    buffer.resize(old_size + static_cast<size_t>(got));
    read_at += static_cast<uint64_t>(got);
    if (got == 0) return scan;
  }
}

TailVerdict ClassifyTail(absl::string_view tail) {
  if (tail.find_first_not_of('\0') == absl::string_view::npos) {
    return {true, "", true};
  }
  v1::Mensaje message;
  // Any whole record after the damage proves it is not the end of a write
  // a crash interrupted.
  for (size_t at = 1; at + kRecordHeaderBytes <= tail.size(); ++at) {
    if (IsWholeRecord(tail.substr(at), &message)) {
      return Corrupt(
          absl::StrCat("a whole record follows it ", at, " bytes later"));
    }
  }
  if (tail.size() < kRecordHeaderBytes) return {true, ""};
  // Where the trailing zeros begin (the tail is not all zeros).
  const size_t zeros_from = tail.find_last_not_of('\0') + 1;
  const uint32_t length = DecodeRecordLength(tail);
  if (length > kMaxRecordPayloadBytes) {
    return Corrupt(absl::StrCat("its length field says ", length,
                                " bytes, more than any record has"));
  }
  // A whole record whose length field was damaged still matches its
  // checksum at its real length.
  const absl::string_view body = tail.substr(kRecordHeaderBytes);
  const uint32_t checksum = DecodeRecordChecksum(tail);
  uint32_t crc = 0;
  for (size_t size = 0; size <= body.size(); ++size) {
    if (size > 0) crc = Crc32cExtend(crc, body.substr(size - 1, 1));
    if (crc == checksum && size != length &&
        ParseLoggedMessage(body.substr(0, size), &message)) {
      return Corrupt(absl::StrCat("its length field says ", length,
                                  " bytes but its checksum matches a whole "
                                  "record of ",
                                  size, " bytes"));
    }
  }
  const uint64_t record_end = kRecordHeaderBytes + uint64_t{length};
  if (record_end > tail.size()) return {true, ""};  // a write cut short
  if (zeros_from < record_end) return {true, ""};   // its end never written
  return Corrupt("it is whole but its checksum or contents are wrong");
}

}  // namespace messaging
