#include "protos/messaging/v1/wire/mensaje_decoder.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/messaging.pb.h"
#include "protos/messaging/v1/wire/viewed_mensaje.h"
#include "testing/mensajes.h"

namespace messaging {
namespace {

std::string Varint(uint64_t value) {
  std::string bytes;
  for (; value >= 0x80; value >>= 7) bytes += static_cast<char>(value | 0x80);
  return bytes + static_cast<char>(value);
}

std::string LengthDelimited(uint8_t tag, const std::string& bytes) {
  return static_cast<char>(tag) + Varint(bytes.size()) + bytes;
}

// A batch of the given messages' encodings.
std::string Batch(const std::vector<std::string>& messages) {
  std::string bytes;
  for (const std::string& message : messages) {
    bytes += LengthDelimited(0x0A, message);
  }
  return bytes;
}

// A demo message of "producer-1" with every field set, as producers send
// them.
v1::Mensaje ProducerMessage(uint64_t sequence) {
  return DemoMensaje(
      "producer-1", sequence,
      {/*payload=*/std::string(64, 'x'),
       /*created_at=*/absl::FromUnixNanos(1'800'000'000'123'456'789)});
}

// Decodes `bytes` into `kept` and checks the outcome against the generated
// parser's on a new message; returns how it was decoded.
template <typename Message>
Decoded ExpectSameAsGeneratedParser(const std::string& bytes,
                                    DecodeScratch* kept) {
  Message expected;
  const bool valid = expected.ParseFromString(bytes);
  Decoded decoded;
  std::vector<const v1::Mensaje*> expected_messages;
  if constexpr (std::is_same_v<Message, v1::MensajeBatch>) {
    decoded = DecodeMensajeBatch(bytes, &kept->views, &kept->parsed);
    for (const v1::Mensaje& message : expected.messages()) {
      expected_messages.push_back(&message);
    }
  } else {
    kept->views.resize(1);
    decoded = DecodeMensaje(bytes, &kept->views[0], &kept->parsed);
    expected_messages.push_back(&expected);
  }
  EXPECT_EQ(decoded != Decoded::kMalformed, valid)
      << "bytes: " << absl::CEscape(bytes);
  if (valid && decoded != Decoded::kMalformed) {
    EXPECT_EQ(kept->views.size(), expected_messages.size());
    for (size_t i = 0;
         i < std::min(kept->views.size(), expected_messages.size()); ++i) {
      EXPECT_TRUE(ViewsTheSameMessage(kept->views[i], *expected_messages[i]))
          << "bytes: " << absl::CEscape(bytes) << "\ndecoded:\n"
          << MensajeOf(kept->views[i]).DebugString() << "expected:\n"
          << expected_messages[i]->DebugString();
    }
  }
  return decoded;
}

TEST(MensajeDecoderTest, DecodesWhatProducersSendInPlace) {
  v1::MensajeBatch batch;
  for (uint64_t i = 0; i < 3; ++i) *batch.add_messages() = ProducerMessage(i);
  DecodeScratch kept;
  const std::string bytes = batch.SerializeAsString();
  EXPECT_EQ(ExpectSameAsGeneratedParser<v1::MensajeBatch>(bytes, &kept),
            Decoded::kInPlace);
  EXPECT_EQ(kept.views[2].text, "Mensaje 2");
  // Nothing was copied: the fields lie in the bytes read.
  EXPECT_GE(kept.views[2].payload.data(), bytes.data());
  EXPECT_LE(kept.views[2].payload.data() + kept.views[2].payload.size(),
            bytes.data() + bytes.size());

  EXPECT_EQ(ExpectSameAsGeneratedParser<v1::Mensaje>(
                ProducerMessage(7).SerializeAsString(), &kept),
            Decoded::kInPlace);
  EXPECT_EQ(kept.views[0].sequence, 7u);
}

// Producers write the fields in number order; any order is as valid, and
// is decoded in place too. Each field of ProducerMessage(5), in turn moved
// to the end.
TEST(MensajeDecoderTest, DecodesFieldsInAnyOrderInPlace) {
  const std::vector<std::string> fields = {
      LengthDelimited(0x0A, "producer-1"),
      "\x10" + Varint(5),
      LengthDelimited(0x1A, "Mensaje 5"),
      LengthDelimited(0x22, std::string(64, 'x')),
      LengthDelimited(
          0x2A, "\x08" + Varint(1'800'000'000) + "\x10" + Varint(123'456'789)),
  };
  for (size_t last = 0; last < fields.size(); ++last) {
    std::string message;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i != last) message += fields[i];
    }
    message += fields[last];
    DecodeScratch kept;
    EXPECT_EQ(ExpectSameAsGeneratedParser<v1::Mensaje>(message, &kept),
              Decoded::kInPlace)
        << absl::CEscape(message);
    EXPECT_EQ(ExpectSameAsGeneratedParser<v1::MensajeBatch>(
                  Batch({message, message}), &kept),
              Decoded::kInPlace)
        << absl::CEscape(message);
  }
}

TEST(MensajeDecoderTest, KeptViewsHoldNothingOfTheLastRead) {
  DecodeScratch kept;
  v1::MensajeBatch full;
  for (uint64_t i = 0; i < 4; ++i) *full.add_messages() = ProducerMessage(i);
  ASSERT_EQ(ExpectSameAsGeneratedParser<v1::MensajeBatch>(
                full.SerializeAsString(), &kept),
            Decoded::kInPlace);

  // Fewer messages, and every field absent in one of them.
  v1::MensajeBatch sparse;
  sparse.add_messages()->set_sequence(9);
  sparse.add_messages()->set_producer_id("p");
  v1::Mensaje* no_time = sparse.add_messages();
  *no_time = ProducerMessage(3);
  no_time->clear_created_at();
  no_time->clear_text();
  no_time->clear_payload();
  EXPECT_EQ(ExpectSameAsGeneratedParser<v1::MensajeBatch>(
                sparse.SerializeAsString(), &kept),
            Decoded::kInPlace);
  EXPECT_EQ(kept.views.size(), 3u);
  EXPECT_FALSE(kept.views[0].has_created_at);

  EXPECT_EQ(ExpectSameAsGeneratedParser<v1::MensajeBatch>(
                full.SerializeAsString(), &kept),
            Decoded::kInPlace);
  EXPECT_EQ(ExpectSameAsGeneratedParser<v1::MensajeBatch>("", &kept),
            Decoded::kInPlace);
  EXPECT_EQ(kept.views.size(), 0u);
}

TEST(MensajeDecoderTest, LeavesWhatItDoesNotHandleToTheGeneratedParser) {
  const std::string message = ProducerMessage(1).SerializeAsString();
  const std::vector<std::string> others = {
      // An unknown field, kept by the generated parser.
      message + "\x48\x05",
      // A repeated field: the last wins, and created_at merges.
      message + ProducerMessage(2).SerializeAsString(),
      // Non-ASCII text.
      message + LengthDelimited(0x1A, "Se\xc3\xb1or"),
      // An overlong varint.
      "\x10\x81\x80\x80\x80\x80\x80\x80\x80\x80\x7f",
  };
  for (const std::string& bytes : others) {
    DecodeScratch kept;
    EXPECT_EQ(ExpectSameAsGeneratedParser<v1::Mensaje>(bytes, &kept),
              Decoded::kByGeneratedParser)
        << absl::CEscape(bytes);
    EXPECT_EQ(ExpectSameAsGeneratedParser<v1::MensajeBatch>(
                  Batch({message, bytes}), &kept),
              Decoded::kByGeneratedParser)
        << absl::CEscape(bytes);
  }
}

TEST(MensajeDecoderTest, RefusesWhatIsNotAMensaje) {
  const std::string message = ProducerMessage(1).SerializeAsString();
  const std::vector<std::string> malformed = {
      message.substr(0, message.size() - 1),       // cut short
      LengthDelimited(0x1A, "\xff\xfe"),           // text not UTF-8
      "\x12\x05" + std::string("ab"),              // length past the end
      "\x10\x80\x80\x80\x80\x80\x80\x80\x80\x80",  // varint without end
      std::string("\x00\x01", 2),                  // field number 0
  };
  for (const std::string& bytes : malformed) {
    DecodeScratch kept;
    EXPECT_EQ(ExpectSameAsGeneratedParser<v1::Mensaje>(bytes, &kept),
              Decoded::kMalformed)
        << absl::CEscape(bytes);
  }
}

// Random messages, some encoded as producers do and some twisted, decoded
// one after another with the same kept views: every outcome must be the
// generated parser's.
class RandomEncodings {
 public:
  explicit RandomEncodings(uint32_t seed) : random_(seed) {}

  std::string Mensaje() {
    v1::Mensaje message;
    if (!OneIn(3)) message.set_producer_id(Text());
    if (!OneIn(3)) message.set_sequence(random_() >> (random_() % 64));
    if (!OneIn(3)) message.set_text(Text());
    if (!OneIn(3)) message.set_payload(Bytes());
    if (!OneIn(3)) {
      message.mutable_created_at()->set_seconds(
          static_cast<int64_t>(random_()) >> (random_() % 64));
      message.mutable_created_at()->set_nanos(static_cast<int32_t>(random_()));
    }
    std::string bytes = message.SerializeAsString();
    if (OneIn(10)) bytes += Mensaje();                   // merged with another
    if (OneIn(10)) bytes += "\x78" + Varint(random_());  // unknown field 15
    if (OneIn(10)) bytes += "\x82\x01\x01z";             // unknown field 16
    return bytes;
  }

  std::string MensajeBatch() {
    std::vector<std::string> messages(random_() % 6);
    for (std::string& message : messages) message = Mensaje();
    return Twisted(Batch(messages));
  }

  std::string Twisted(std::string bytes) {
    if (bytes.empty() || !OneIn(5)) return bytes;
    const size_t at = random_() % bytes.size();
    if (OneIn(2)) return bytes.substr(0, at);
    bytes[at] = static_cast<char>(random_());
    return bytes;
  }

 private:
  bool OneIn(int n) { return random_() % n == 0; }

  std::string Text() {
    static const char* const kPieces[] = {
        "a", "Z", "7", " ", "\xc3\xb1", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    // Mostly ASCII, as producers send; the first four pieces are.
    const size_t pieces = OneIn(8) ? 7 : 4;
    std::string text;
    for (int i = random_() % 12; i > 0; --i)
      text += kPieces[random_() % pieces];
    return text;
  }

  std::string Bytes() {
    std::string bytes(random_() % 80, '\0');
    for (char& byte : bytes) byte = static_cast<char>(random_());
    return bytes;
  }

  std::mt19937_64 random_;
};

TEST(MensajeDecoderTest, RandomEncodingsDecodeAsTheGeneratedParserDoes) {
  RandomEncodings encodings(/*seed=*/20261127);
  int outcomes[3] = {0, 0, 0};
  DecodeScratch kept;
  for (int i = 0; i < 20000; ++i) {
    ++outcomes[static_cast<int>(ExpectSameAsGeneratedParser<v1::MensajeBatch>(
        encodings.MensajeBatch(), &kept))];
    ++outcomes[static_cast<int>(ExpectSameAsGeneratedParser<v1::Mensaje>(
        encodings.Twisted(encodings.Mensaje()), &kept))];
    if (HasFailure()) return;
  }
  // Each path was taken often enough to matter.
  EXPECT_GT(outcomes[static_cast<int>(Decoded::kInPlace)], 5000);
  EXPECT_GT(outcomes[static_cast<int>(Decoded::kByGeneratedParser)], 5000);
  EXPECT_GT(outcomes[static_cast<int>(Decoded::kMalformed)], 1000);
}

}  // namespace
}  // namespace messaging
