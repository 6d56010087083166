#include "protos/messaging/v1/wire/mensaje_decoder.h"

#include <climits>
#include <cstdint>
#include <cstring>

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

// Reads one message's fields. Each Read... refuses (false) what the
// in-place path leaves to the generated parser, including all that parser
// would refuse.
class FieldReader {
 public:
  explicit FieldReader(absl::string_view bytes)
      : next_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  bool AtEnd() const { return next_ == end_; }

  // Tags of fields 1 to 15 take one byte; the in-place path knows no other.
  bool ReadTag(uint8_t* tag) {
    if (next_ == end_ || static_cast<uint8_t>(*next_) >= 0x80) return false;
    *tag = static_cast<uint8_t>(*next_++);
    return true;
  }

  // Consumes the next byte if it is `tag`.
  bool SkipTag(uint8_t tag) {
    if (next_ == end_ || static_cast<uint8_t>(*next_) != tag) return false;
    ++next_;
    return true;
  }

  bool ReadVarint(uint64_t* value) {
    // Tags, lengths and most small numbers take one byte.
    if (next_ != end_ && static_cast<uint8_t>(*next_) < 0x80) {
      *value = static_cast<uint8_t>(*next_++);
      return true;
    }
    uint64_t result = 0;
    for (int shift = 0; shift < 64 && next_ != end_; shift += 7) {
      const uint64_t byte = static_cast<uint8_t>(*next_++);
      result |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        // A tenth byte carries bit 63 only. The generated parser drops the
        // bits of a larger one; leave that oddity to it.
        if (shift == 63 && byte > 1) return false;
        *value = result;
        return true;
      }
    }
    return false;
  }

  bool ReadLengthDelimited(absl::string_view* bytes) {
    const char* const start = next_;
    uint64_t length;
    // Lengths of up to 4 bytes (256 MiB) are far more than a message may
    // be, and well inside what the generated parser accepts.
    if (!ReadVarint(&length) || next_ - start > 4 ||
        length > static_cast<uint64_t>(end_ - next_)) {
      return false;
    }
    *bytes = absl::string_view(next_, length);
    next_ += length;
    return true;
  }

 private:
  const char* next_;
  const char* const end_;
};

// proto3 strings must be UTF-8. ASCII, what producers send, is checked
// eight bytes at a time; other text goes to the generated parser, whose
// validation is the reference.
bool IsAscii(absl::string_view text) {
  const char* next = text.data();
  size_t left = text.size();
  uint64_t bits = 0;
  for (; left >= sizeof(uint64_t);
       next += sizeof(uint64_t), left -= sizeof(uint64_t)) {
    uint64_t word;
    std::memcpy(&word, next, sizeof(word));
    bits |= word;
  }
  for (; left > 0; ++next, --left) bits |= static_cast<uint8_t>(*next);
  return (bits & 0x8080808080808080ULL) == 0;
}

// Marks the field of `tag` seen; false if it was already: a repeated field
// is merged (Timestamp) or overwritten by the generated parser.
bool FirstTime(uint8_t tag, uint32_t* seen) {
  const uint32_t bit = 1u << (tag >> 3);
  if (*seen & bit) return false;
  *seen |= bit;
  return true;
}

bool DecodeTimestamp(absl::string_view bytes, int64_t* seconds,
                     int32_t* nanos) {
  FieldReader fields(bytes);
  uint32_t seen = 0;
  uint64_t value;
  while (!fields.AtEnd()) {
    uint8_t tag;
    if (!fields.ReadTag(&tag) || !FirstTime(tag, &seen)) return false;
    switch (tag) {
      case kSecondsTag:
        if (!fields.ReadVarint(&value)) return false;
        *seconds = static_cast<int64_t>(value);
        break;
      case kNanosTag:
        // int32 is encoded sign-extended to 64 bits; its low 32 are it.
        if (!fields.ReadVarint(&value)) return false;
        *nanos = static_cast<int32_t>(static_cast<uint32_t>(value));
        break;
      default:
        return false;
    }
  }
  return true;
}

// Reads the fields in number order, each at most once, as the generated
// serializer and MensajeEncoder write them: one test per field, which the
// CPU predicts, where DecodeAnyOrder's switch on each tag is an indirect
// jump (codec_benchmark: a sixth less time per message). False for any
// other order, which DecodeAnyOrder then reads.
bool DecodeInOrder(absl::string_view bytes, MensajeView* view,
                   absl::string_view* created_at) {
  FieldReader fields(bytes);
  if (fields.SkipTag(kProducerIdTag) &&
      !fields.ReadLengthDelimited(&view->producer_id)) {
    return false;
  }
  if (fields.SkipTag(kSequenceTag) && !fields.ReadVarint(&view->sequence)) {
    return false;
  }
  if (fields.SkipTag(kTextTag) && !fields.ReadLengthDelimited(&view->text)) {
    return false;
  }
  if (fields.SkipTag(kPayloadTag) &&
      !fields.ReadLengthDelimited(&view->payload)) {
    return false;
  }
  if (fields.SkipTag(kCreatedAtTag)) {
    if (!fields.ReadLengthDelimited(created_at)) return false;
    view->has_created_at = true;
  }
  return fields.AtEnd();
}

// Reads the fields in any order, each at most once.
bool DecodeAnyOrder(absl::string_view bytes, MensajeView* view,
                    absl::string_view* created_at) {
  FieldReader fields(bytes);
  uint32_t seen = 0;
  while (!fields.AtEnd()) {
    uint8_t tag;
    if (!fields.ReadTag(&tag) || !FirstTime(tag, &seen)) return false;
    bool read;
    switch (tag) {
      case kProducerIdTag:
        read = fields.ReadLengthDelimited(&view->producer_id);
        break;
      case kSequenceTag:
        read = fields.ReadVarint(&view->sequence);
        break;
      case kTextTag:
        read = fields.ReadLengthDelimited(&view->text);
        break;
      case kPayloadTag:
        read = fields.ReadLengthDelimited(&view->payload);
        break;
      case kCreatedAtTag:
        read = fields.ReadLengthDelimited(created_at);
        break;
      default:
        read = false;
    }
    if (!read) return false;
  }
  view->has_created_at = seen & (1u << v1::Mensaje::kCreatedAtFieldNumber);
  return true;
}

bool DecodeInPlace(absl::string_view bytes, MensajeView* view) {
  absl::string_view created_at;
  *view = MensajeView();
  if (!DecodeInOrder(bytes, view, &created_at)) {
    *view = MensajeView();
    if (!DecodeAnyOrder(bytes, view, &created_at)) return false;
  }
  view->encoding = bytes;
  return IsAscii(view->producer_id) && IsAscii(view->text) &&
         (!view->has_created_at ||
          DecodeTimestamp(created_at, &view->created_at_seconds,
                          &view->created_at_nanos));
}

bool DecodeBatchInPlace(absl::string_view bytes,
                        std::vector<MensajeView>* views) {
  views->clear();
  FieldReader fields(bytes);
  while (!fields.AtEnd()) {
    uint8_t tag;
    absl::string_view message;
    if (!fields.ReadTag(&tag) || tag != kMessagesTag ||
        !fields.ReadLengthDelimited(&message)) {
      return false;
    }
    views->emplace_back();
    if (!DecodeInPlace(message, &views->back())) return false;
  }
  return true;
}

// Views of the messages the generated parser put in `parsed`.
void ViewParsed(ParsedMessages* parsed, MensajeView* views) {
  parsed->encodings.resize(parsed->batch.messages_size());
  for (int i = 0; i < parsed->batch.messages_size(); ++i) {
    views[i] = ViewOf(parsed->batch.messages(i), &parsed->encodings[i]);
  }
}

bool Parse(absl::string_view bytes, google::protobuf::MessageLite* message) {
  return bytes.size() <= INT_MAX &&
         message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

Decoded DecodeMensaje(absl::string_view bytes, MensajeView* view,
                      ParsedMessages* parsed) {
  if (DecodeInPlace(bytes, view)) return Decoded::kInPlace;
  parsed->batch.Clear();
  if (!Parse(bytes, parsed->batch.add_messages())) return Decoded::kMalformed;
  ViewParsed(parsed, view);
  return Decoded::kByGeneratedParser;
}

Decoded DecodeMensajeBatch(absl::string_view bytes,
                           std::vector<MensajeView>* views,
                           ParsedMessages* parsed) {
  if (DecodeBatchInPlace(bytes, views)) return Decoded::kInPlace;
  if (!Parse(bytes, &parsed->batch)) return Decoded::kMalformed;
  views->resize(parsed->batch.messages_size());
  ViewParsed(parsed, views->data());
  return Decoded::kByGeneratedParser;
}

}  // namespace messaging
