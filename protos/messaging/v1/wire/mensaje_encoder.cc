#include "protos/messaging/v1/wire/mensaje_encoder.h"

#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "protos/messaging/v1/wire/wire_format.h"

namespace messaging {
namespace {

using wire::kCreatedAtTag;
using wire::kMessagesTag;
using wire::kNanosTag;
using wire::kPayloadTag;
using wire::kProducerIdTag;
using wire::kSecondsTag;
using wire::kSequenceTag;
using wire::kTextTag;

constexpr absl::string_view kTextPrefix = "Mensaje ";

size_t VarintSize(uint64_t value) {
  size_t size = 1;
  for (; value >= 0x80; value >>= 7) ++size;
  return size;
}

char* WriteVarint(uint64_t value, char* out) {
  for (; value >= 0x80; value >>= 7) *out++ = static_cast<char>(value | 0x80);
  *out++ = static_cast<char>(value);
  return out;
}

char* Write(absl::string_view bytes, char* out) {
  std::memcpy(out, bytes.data(), bytes.size());
  return out + bytes.size();
}

// A bytes field; proto3 writes nothing for an empty one.
std::string BytesField(uint8_t tag, absl::string_view value) {
  if (value.empty()) return "";
  std::string field(1 + VarintSize(value.size()) + value.size(), '\0');
  char* out = &field[0];
  *out++ = static_cast<char>(tag);
  Write(value, WriteVarint(value.size(), out));
  return field;
}

std::string MakePayload(int64_t bytes) {
  std::string payload(static_cast<size_t>(bytes), '\0');
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>('a' + i % 26);
  }
  return payload;
}

// The size of a varint field, zero for a zero value as proto3 omits it.
size_t VarintFieldSize(uint64_t value) {
  return value == 0 ? 0 : 1 + VarintSize(value);
}

char* WriteVarintField(uint8_t tag, uint64_t value, char* out) {
  if (value == 0) return out;
  *out++ = static_cast<char>(tag);
  return WriteVarint(value, out);
}

// The largest message: a 10-byte sequence, 20 digits, and a negative
// time's 10-byte seconds with 5-byte nanoseconds.
size_t MaxMessageSize(size_t producer_id_field, size_t payload_field) {
  constexpr size_t kMaxDigits = 20;
  constexpr size_t kMaxText = kTextPrefix.size() + kMaxDigits;
  constexpr size_t kMaxTimestamp = (1 + 10) + (1 + 5);
  return producer_id_field + (1 + 10) + (1 + 1 + kMaxText) + payload_field +
         (1 + 1 + kMaxTimestamp);
}

}  // namespace

MensajeEncoder::MensajeEncoder(std::string producer_id, int64_t payload_bytes)
    : producer_id_(std::move(producer_id)),
      producer_id_field_(BytesField(kProducerIdTag, producer_id_)),
      payload_field_(BytesField(kPayloadTag, MakePayload(payload_bytes))),
      max_encoded_size_([this] {
        const size_t message =
            MaxMessageSize(producer_id_field_.size(), payload_field_.size());
        return 1 + VarintSize(message) + message;  // framed as an element
      }()) {}

absl::string_view MensajeEncoder::Digits(uint64_t sequence) {
  if (digits_size_ > 0 && sequence != 0 && sequence == digits_sequence_ + 1) {
    size_t i = digits_size_;
    while (i > 0 && digits_[i - 1] == '9') digits_[--i] = '0';
    if (i > 0) {
      ++digits_[i - 1];
    } else {  // 9...9 + 1
      std::memmove(digits_ + 1, digits_, digits_size_++);
      digits_[0] = '1';
    }
  } else {
    const absl::AlphaNum number(sequence);
    std::memcpy(digits_, number.data(), number.size());
    digits_size_ = number.size();
  }
  digits_sequence_ = sequence;
  return absl::string_view(digits_, digits_size_);
}

char* MensajeEncoder::Encode(uint64_t sequence, absl::Time created_at,
                             Framing framing, char* out) {
  const absl::string_view digits = Digits(sequence);
  const size_t text_size = kTextPrefix.size() + digits.size();
  const timespec time = absl::ToTimespec(created_at);
  // Signed integers are encoded as their 64-bit two's complement.
  const uint64_t seconds = static_cast<uint64_t>(int64_t{time.tv_sec});
  const uint64_t nanos = static_cast<uint64_t>(int64_t{time.tv_nsec});
  const size_t timestamp_size =
      VarintFieldSize(seconds) + VarintFieldSize(nanos);
  const size_t message_size =
      producer_id_field_.size() + VarintFieldSize(sequence) + 1 +
      VarintSize(text_size) + text_size + payload_field_.size() + 1 +
      VarintSize(timestamp_size) + timestamp_size;

  if (framing == kBatchElement) {
    *out++ = static_cast<char>(kMessagesTag);
    out = WriteVarint(message_size, out);
  }
  out = Write(producer_id_field_, out);
  out = WriteVarintField(kSequenceTag, sequence, out);
  *out++ = static_cast<char>(kTextTag);
  out = WriteVarint(text_size, out);
  out = Write(kTextPrefix, out);
  out = Write(digits, out);
  out = Write(payload_field_, out);
  *out++ = static_cast<char>(kCreatedAtTag);
  out = WriteVarint(timestamp_size, out);
  out = WriteVarintField(kSecondsTag, seconds, out);
  return WriteVarintField(kNanosTag, nanos, out);
}

}  // namespace messaging
