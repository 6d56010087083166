// The framing of one record in the consumer's message log.
//
// A record is [length: u32 little-endian][crc32c of payload: u32 LE][payload].
// The checksum lets recovery tell a whole record from a torn or corrupt
// one; the length lets it find the next record without parsing payloads.
//
// Usage:
//   std::string buffer;
//   AppendRecord(serialized_message, &buffer);
//   absl::string_view payload;
//   size_t size;
//   if (DecodeRecord(buffer, &payload, &size) == DecodeResult::kRecord) ...
#ifndef CONSUMER_SERVICE_LOG_RECORD_H_
#define CONSUMER_SERVICE_LOG_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace messaging {

inline constexpr size_t kRecordHeaderBytes = 8;
// No record payload is larger; a length above it marks corruption.
inline constexpr uint32_t kMaxRecordPayloadBytes = 1u << 30;

// CRC-32C (Castagnoli), the checksum of LevelDB, ext4 and iSCSI.
uint32_t Crc32c(absl::string_view data);

// Continues a checksum: Crc32cExtend(Crc32c(a), b) == Crc32c(a + b), so
// the checksums of all prefixes of some bytes cost one pass.
uint32_t Crc32cExtend(uint32_t crc, absl::string_view data);

void AppendRecord(absl::string_view payload, std::string* out);

// Writes the kRecordHeaderBytes header of `payload` at `header`, for a
// payload already in place right after it.
void EncodeRecordHeader(absl::string_view payload, char* header);

enum class DecodeResult {
  // A whole record: `payload` and `record_size` are set.
  kRecord,
  // `input` ends inside the record: a torn tail if nothing follows.
  kIncomplete,
  // The header or checksum is wrong.
  kCorrupt,
};

// The length field of the record header at the start of `input`, which
// must hold at least kRecordHeaderBytes.
uint32_t DecodeRecordLength(absl::string_view input);
// Its checksum field, likewise.
uint32_t DecodeRecordChecksum(absl::string_view input);

// Decodes the record at the start of `input`.
DecodeResult DecodeRecord(absl::string_view input, absl::string_view* payload,
                          size_t* record_size);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_LOG_RECORD_H_
