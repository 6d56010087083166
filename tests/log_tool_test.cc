// log_tool, run as a binary on logs written by MessageLog: cat's JSON
// lines and filters, --follow on a log being written, and verify's report
// and refusals.
#include <signal.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "consumer_service/message_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/subprocess.h"

namespace messaging {
namespace {

using testing::HasSubstr;

std::string NewDataDir(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

v1::Mensaje Message(const std::string& producer_id, uint64_t sequence) {
  v1::Mensaje message;
  message.set_producer_id(producer_id);
  message.set_sequence(sequence);
  message.set_text(absl::StrCat("Mensaje ", sequence));
  message.set_payload("xyz");
  message.mutable_created_at()->set_seconds(1'700'000'000 + sequence);
  return message;
}

// Opens a log of small segments (so that a few messages span several).
std::unique_ptr<MessageLog> OpenLog(const std::string& data_dir) {
  MessageLogOptions options;
  options.directory = data_dir;
  options.segment_bytes = 200;
  absl::StatusOr<std::unique_ptr<MessageLog>> log =
      MessageLog::Open(options, [](const v1::Mensaje&, uint64_t) {});
  EXPECT_TRUE(log.ok()) << log.status();
  return std::move(*log);
}

void Append(MessageLog& log, const v1::Mensaje& message) {
  if (log.ShouldRoll()) log.Roll({});
  ASSERT_TRUE(log.Append({message.SerializeAsString()}).ok());
}

// Producers a and b, ten messages each, interleaved: a at even offsets.
std::string WriteTwoProducers(const std::string& name) {
  const std::string data_dir = NewDataDir(name);
  std::unique_ptr<MessageLog> log = OpenLog(data_dir);
  for (uint64_t sequence = 0; sequence < 10; ++sequence) {
    Append(*log, Message("a", sequence));
    Append(*log, Message("b", sequence));
  }
  return data_dir;
}

Subprocess RunTool(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {RunfilePath("consumer_service/log_tool")};
  argv.insert(argv.end(), args.begin(), args.end());
  return Subprocess::Start(argv);
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

TEST(LogToolTest, CatPrintsOneJsonObjectPerMessageAcrossSegments) {
  const std::string data_dir = WriteTwoProducers("cat");
  Subprocess cat = RunTool({"cat", "--data_dir=" + data_dir});
  ASSERT_EQ(cat.WaitOrKill(absl::Seconds(30)), 0) << cat.Stderr();
  const std::vector<std::string> lines = Lines(cat.Stdout());
  ASSERT_EQ(lines.size(), 20u);
  EXPECT_EQ(lines[0], R"({"offset":"0","producer_id":"a","sequence":"0",)"
                      R"("text":"Mensaje 0","payload":"eHl6",)"
                      R"("created_at":"2023-11-14T22:13:20Z"})");
  EXPECT_THAT(lines[19], HasSubstr(R"("offset":"19","producer_id":"b")"));
}

TEST(LogToolTest, CatFiltersByOffsetAndProducer) {
  const std::string data_dir = WriteTwoProducers("filter");
  Subprocess cat = RunTool(
      {"cat", "--data_dir=" + data_dir, "--from_offset=13", "--producer_id=b"});
  ASSERT_EQ(cat.WaitOrKill(absl::Seconds(30)), 0) << cat.Stderr();
  const std::vector<std::string> lines = Lines(cat.Stdout());
  ASSERT_EQ(lines.size(), 4u);  // offsets 13, 15, 17, 19
  EXPECT_THAT(lines[0], HasSubstr(R"("offset":"13","producer_id":"b",)"
                                  R"("sequence":"6")"));
}

TEST(LogToolTest, CatFollowPrintsMessagesAsTheyAreWritten) {
  const std::string data_dir = NewDataDir("follow");
  std::unique_ptr<MessageLog> log = OpenLog(data_dir);  // a running consumer
  Append(*log, Message("a", 0));
  Subprocess cat = RunTool({"cat", "--data_dir=" + data_dir, "--follow"});
  ASSERT_TRUE(cat.WaitForStdout(R"("offset":"0")", absl::Seconds(30)))
      << cat.Stderr();
  for (uint64_t sequence = 1; sequence < 20; ++sequence) {
    Append(*log, Message("a", sequence));  // rolls into new segments too
  }
  EXPECT_TRUE(cat.WaitForStdout(R"("offset":"19")", absl::Seconds(30)))
      << cat.Stdout() << cat.Stderr();
  cat.Signal(SIGTERM);
  cat.WaitOrKill(absl::Seconds(10));
  EXPECT_EQ(Lines(cat.Stdout()).size(), 20u);
}

TEST(LogToolTest, VerifyReportsEachProducersRange) {
  const std::string data_dir = WriteTwoProducers("verify");
  Subprocess verify = RunTool({"verify", "--data_dir=" + data_dir});
  ASSERT_EQ(verify.WaitOrKill(absl::Seconds(30)), 0) << verify.Stderr();
  EXPECT_EQ(verify.Stdout(),
            "producer 'a': sequences 0 to 9 (10 messages), offsets 0 to 18\n"
            "producer 'b': sequences 0 to 9 (10 messages), offsets 1 to 19\n"
            "ok: offsets 0 to 20 in 4 segments, 2 producers, 3 snapshots\n");
}

TEST(LogToolTest, VerifyFailsOnARepeatedSequence) {
  const std::string data_dir = WriteTwoProducers("repeat");
  OpenLog(data_dir)
      ->Append({Message("a", 4).SerializeAsString()})
      .IgnoreError();
  Subprocess verify = RunTool({"verify", "--data_dir=" + data_dir});
  EXPECT_EQ(verify.WaitOrKill(absl::Seconds(30)), 1);
  EXPECT_EQ(verify.Stderr(),
            "log_tool verify: producer 'a': sequence 4 at offset 20 repeats "
            "one after sequence 9 at offset 18\n");
}

TEST(LogToolTest, VerifyFailsOnADamagedClosedSegment) {
  const std::string data_dir = WriteTwoProducers("damaged");
  const std::string segment = data_dir + "/00000000000000000000.log";
  std::string contents;
  {
    std::ifstream file(segment, std::ios::binary);
    std::stringstream buffer;
    buffer << file.rdbuf();
    contents = buffer.str();
  }
  contents[40] ^= 1;
  std::ofstream(segment, std::ios::binary | std::ios::trunc) << contents;
  Subprocess verify = RunTool({"verify", "--data_dir=" + data_dir});
  EXPECT_EQ(verify.WaitOrKill(absl::Seconds(30)), 1);
  EXPECT_THAT(verify.Stderr(),
              HasSubstr(segment + " has a damaged record at byte "));
}

TEST(LogToolTest, AnUnknownCommandPrintsTheUsage) {
  Subprocess tool = RunTool({"list", "--data_dir=/tmp"});
  EXPECT_EQ(tool.WaitOrKill(absl::Seconds(30)), 2);
  EXPECT_THAT(tool.Stderr(), HasSubstr("usage: log_tool cat|verify"));
}

}  // namespace
}  // namespace messaging
