#include "common/logging.h"

#include <string>

#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace messaging {
namespace {

using ::testing::MatchesRegex;

const absl::Time kTime =
    absl::FromCivil(absl::CivilSecond(2026, 11, 27, 7, 8, 14),
                    absl::UTCTimeZone()) +
    absl::Milliseconds(123);

std::string Json(absl::string_view message,
                 std::initializer_list<LogField> fields = {}) {
  return FormatLogLine(LogFormat::kJson, kTime, "INFO", message,
                       absl::MakeConstSpan(fields.begin(), fields.size()));
}

// The JSON string a message becomes.
std::string JsonMessage(absl::string_view message) {
  const std::string line = Json(message);
  const std::string prefix =
      R"({"time":"2026-11-27T07:08:14.123Z","level":"INFO","message":)";
  EXPECT_EQ(line.substr(0, prefix.size()), prefix);
  EXPECT_EQ(line.substr(line.size() - 2), "}\n");
  return line.substr(prefix.size(), line.size() - prefix.size() - 2);
}

TEST(LogFormatTest, TextIsTimeLevelAndMessageWithoutTheFields) {
  EXPECT_EQ(
      FormatLogLine(LogFormat::kText, kTime, "WARNING",
                    "producer p-1 uses consumer c:1",
                    {{"producer_id", "p-1"}, {"port", 1}}),
      "2026-11-27T07:08:14.123Z WARNING producer p-1 uses consumer c:1\n");
}

TEST(LogFormatTest, JsonHasTimeLevelMessageThenTheFieldsInOrder) {
  EXPECT_EQ(Json("stopped", {{"producer_id", "p-1"},
                             {"port", 50051},
                             {"sequence", uint64_t{18446744073709551615u}},
                             {"delta", -3}}),
            R"({"time":"2026-11-27T07:08:14.123Z","level":"INFO",)"
            R"("message":"stopped","producer_id":"p-1","port":50051,)"
            R"("sequence":18446744073709551615,"delta":-3})"
            "\n");
}

TEST(LogFormatTest, JsonEscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonMessage(R"(say "hi" \ bye)"), R"("say \"hi\" \\ bye")");
  EXPECT_EQ(JsonMessage("a\nb\tc\rd"), R"("a\u000ab\u0009c\u000dd")");
  EXPECT_EQ(JsonMessage(std::string("nul\0end\x1f\x7f", 9)),
            "\"nul\\u0000end\\u001f\x7f\"");
  // Field names and values are escaped alike.
  EXPECT_EQ(Json("m", {{"na\"me", "va\\l\n"}}),
            R"({"time":"2026-11-27T07:08:14.123Z","level":"INFO",)"
            R"("message":"m","na\"me":"va\\l\u000a"})"
            "\n");
}

TEST(LogFormatTest, JsonKeepsUtf8AndReplacesBytesThatAreNot) {
  // 2, 3 and 4 byte sequences pass as they are.
  EXPECT_EQ(JsonMessage("ñ € 😀"), "\"ñ € 😀\"");
  EXPECT_EQ(JsonMessage("\xff"), R"("\ufffd")");
  // A sequence cut short, then a character.
  EXPECT_EQ(JsonMessage("\xc3"
                        "a"),
            R"("\ufffda")");
  EXPECT_EQ(JsonMessage("\xe2\x82"), R"("\ufffd\ufffd")");
  // A continuation byte alone.
  EXPECT_EQ(JsonMessage("a\x80z"), R"("a\ufffdz")");
  // Overlong "/", a UTF-16 surrogate, and a code point past U+10FFFF.
  EXPECT_EQ(JsonMessage("\xc0\xaf"), R"("\ufffd\ufffd")");
  EXPECT_EQ(JsonMessage("\xe0\x80\xaf"), R"("\ufffd\ufffd\ufffd")");
  EXPECT_EQ(JsonMessage("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");
  EXPECT_EQ(JsonMessage("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");
  // The highest code point is fine.
  EXPECT_EQ(JsonMessage("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\"");
}

TEST(LogFormatTest, FlagParsesTextAndJson) {
  LogFormat format;
  std::string error;
  ASSERT_TRUE(AbslParseFlag("json", &format, &error));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_EQ(AbslUnparseFlag(format), "json");
  ASSERT_TRUE(AbslParseFlag("text", &format, &error));
  EXPECT_EQ(format, LogFormat::kText);
  EXPECT_EQ(AbslUnparseFlag(format), "text");
  EXPECT_FALSE(AbslParseFlag("xml", &format, &error));
  EXPECT_THAT(error, testing::HasSubstr("'text' or 'json'"));
}

TEST(LogTest, WritesOneLineOnStderrInTheFormatSet) {
  testing::internal::CaptureStderr();
  LogWarning("plain", {{"producer_id", "p"}});
  SetLogFormat(LogFormat::kJson);
  LogError("structured", {{"producer_id", "p"}});
  SetLogFormat(LogFormat::kText);
  const std::string written = testing::internal::GetCapturedStderr();
  EXPECT_THAT(written,
              MatchesRegex("[-0-9]+T[:0-9]+\\.[0-9]{3}Z WARNING plain\n"
                           "\\{\"time\":\"[-0-9]+T[:0-9]+\\.[0-9]{3}Z\","
                           "\"level\":\"ERROR\",\"message\":\"structured\","
                           "\"producer_id\":\"p\"\\}\n"));
}

}  // namespace
}  // namespace messaging
