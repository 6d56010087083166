#include "consumer_service/log_record.h"

#include "gtest/gtest.h"

namespace messaging {
namespace {

TEST(Crc32cTest, MatchesTheStandardCheckValue) {
  // The CRC-32C check value from RFC 3720 / the CRC catalogue.
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
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
