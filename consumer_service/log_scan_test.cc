#include "consumer_service/log_scan.h"

#include "absl/strings/str_cat.h"
#include "consumer_service/log_record.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

std::string Record(uint64_t sequence) {
  v1::Mensaje message;
  message.set_producer_id("producer");
  message.set_sequence(sequence);
  message.set_text(absl::StrCat("Mensaje ", sequence));
  std::string record;
  AppendRecord(message.SerializeAsString(), &record);
  return record;
}

TEST(ClassifyTailTest, EveryPrefixOfARecordIsTorn) {
  const std::string record = Record(7);
  for (size_t size = 1; size < record.size(); ++size) {
    EXPECT_TRUE(ClassifyTail(record.substr(0, size)).torn) << size;
  }
}

TEST(ClassifyTailTest, ZerosAreTorn) {
  EXPECT_TRUE(ClassifyTail(std::string(4096, '\0')).torn);
  EXPECT_TRUE(ClassifyTail(std::string(4096, '\0')).zeros);
  EXPECT_TRUE(ClassifyTail(std::string(3, '\0')).zeros);
}

TEST(ClassifyTailTest, ARecordWhoseEndIsZerosIsTorn) {
  // The file grew, but the pages holding the record's end were never
  // written.
  std::string record = Record(7);
  std::fill(record.begin() + 12, record.end(), '\0');
  EXPECT_TRUE(ClassifyTail(record + std::string(100, '\0')).torn);
  EXPECT_FALSE(ClassifyTail(record + std::string(100, '\0')).zeros);
}

TEST(ClassifyTailTest, DamageFollowedByAWholeRecordIsCorrupt) {
  std::string damaged = Record(1);
  damaged[10] ^= 1;
  const TailVerdict verdict = ClassifyTail(damaged + Record(2));
  EXPECT_FALSE(verdict.torn);
  EXPECT_NE(verdict.reason.find(absl::StrCat("a whole record follows it ",
                                             damaged.size(), " bytes later")),
            std::string::npos)
      << verdict.reason;
}

TEST(ClassifyTailTest, AnImpossibleLengthIsCorrupt) {
  std::string damaged = Record(1);
  damaged[3] ^= static_cast<char>(0x80);
  const TailVerdict verdict = ClassifyTail(damaged);
  EXPECT_FALSE(verdict.torn);
  EXPECT_NE(verdict.reason.find("more than any record"), std::string::npos)
      << verdict.reason;
}

TEST(ClassifyTailTest, AWholeRecordWithALongerLengthIsCorrupt) {
  // Its length says it runs past the end, like a torn write, but its
  // checksum matches the bytes that are there.
  const std::string whole = Record(1);
  std::string damaged = whole;
  damaged[2] ^= 1;
  const TailVerdict verdict = ClassifyTail(damaged + Record(2).substr(0, 5));
  EXPECT_FALSE(verdict.torn);
  EXPECT_NE(verdict.reason.find(
                absl::StrCat("checksum matches a whole record of ",
                             whole.size() - kRecordHeaderBytes, " bytes")),
            std::string::npos)
      << verdict.reason;
}

TEST(ClassifyTailTest, AWholeRecordWithABadChecksumIsCorrupt) {
  std::string damaged = Record(1);
  damaged[5] ^= 1;
  const TailVerdict verdict = ClassifyTail(damaged);
  EXPECT_FALSE(verdict.torn);
  EXPECT_NE(verdict.reason.find("checksum or contents are wrong"),
            std::string::npos)
      << verdict.reason;
}

}  // namespace
}  // namespace messaging
