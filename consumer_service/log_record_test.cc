#include "consumer_service/log_record.h"

#include "gtest/gtest.h"

namespace messaging {
namespace {

TEST(Crc32cTest, MatchesTheStandardCheckValue) {
  // The CRC-32C check value from RFC 3720 / the CRC catalogue.
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
}

// CRC-32C bit by bit, as the standard defines it: slow, and independent
// of the table and of the CPU instruction Crc32c uses.
uint32_t Crc32cBitByBit(absl::string_view data) {
  uint32_t crc = 0xFFFFFFFF;
  for (char c : data) {
    crc ^= static_cast<unsigned char>(c);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
    }
  }
  return crc ^ 0xFFFFFFFF;
}

TEST(Crc32cTest, ExtendingAChecksumEqualsTheChecksumOfTheWhole) {
  const std::string whole = "The quick brown fox jumps over the lazy dog";
  for (size_t split = 0; split <= whole.size(); ++split) {
    EXPECT_EQ(Crc32cExtend(Crc32c(whole.substr(0, split)), whole.substr(split)),
              Crc32c(whole))
        << "split at " << split;
  }
}

TEST(Crc32cTest, AgreesWithTheDefinitionForEveryLengthAndAlignment) {
  std::string bytes(300, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<char>((i * 131 + 7) % 256);
  }
  const absl::string_view all(bytes);
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t length = 0; length + offset <= 200; ++length) {
      const absl::string_view data = all.substr(offset, length);
      ASSERT_EQ(Crc32c(data), Crc32cBitByBit(data))
          << "offset " << offset << ", length " << length;
    }
  }
}

TEST(LogRecordTest, RoundTripsAndReportsTheRecordSize) {
  std::string buffer;
  AppendRecord("hello", &buffer);
  AppendRecord("", &buffer);
  absl::string_view payload;
  size_t size = 0;
  ASSERT_EQ(DecodeRecord(buffer, &payload, &size), DecodeResult::kRecord);
  EXPECT_EQ(payload, "hello");
  EXPECT_EQ(size, kRecordHeaderBytes + 5);
  ASSERT_EQ(
      DecodeRecord(absl::string_view(buffer).substr(size), &payload, &size),
      DecodeResult::kRecord);
  EXPECT_EQ(payload, "");
}

TEST(LogRecordTest, EveryTruncationIsIncomplete) {
  std::string buffer;
  AppendRecord("some payload", &buffer);
  for (size_t length = 0; length < buffer.size(); ++length) {
    absl::string_view payload;
    size_t size = 0;
    EXPECT_EQ(DecodeRecord(absl::string_view(buffer).substr(0, length),
                           &payload, &size),
              DecodeResult::kIncomplete)
        << length;
  }
}

TEST(LogRecordTest, EveryFlippedBitIsCaught) {
  std::string original;
  AppendRecord("payload to protect", &original);
  for (size_t bit = 0; bit < original.size() * 8; ++bit) {
    std::string damaged = original;
    damaged[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    absl::string_view payload;
    size_t size = 0;
    EXPECT_NE(DecodeRecord(damaged, &payload, &size), DecodeResult::kRecord)
        << "bit " << bit;
  }
}

TEST(LogRecordTest, ImplausibleLengthIsCorrupt) {
  std::string buffer(kRecordHeaderBytes + 4, '\xff');
  absl::string_view payload;
  size_t size = 0;
  EXPECT_EQ(DecodeRecord(buffer, &payload, &size), DecodeResult::kCorrupt);
}

}  // namespace
}  // namespace messaging
