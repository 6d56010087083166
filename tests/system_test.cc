// The real binaries, run as a user runs them: the demo's output, exit codes,
// and the one-line errors for mistakes a user can make.
#include <signal.h>

#include <algorithm>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/subprocess.h"

namespace messaging {
namespace {

using testing::HasSubstr;
using testing::MatchesRegex;

const std::string kDemoProducerOutput =
    "Produciendo: Mensaje 0\n"
    "Produciendo: Mensaje 1\n"
    "Produciendo: Mensaje 2\n"
    "Produciendo: Mensaje 3\n"
    "Produciendo: Mensaje 4\n"
    "Consumer summary: 5 messages, 45 bytes, producer system-test, "
    "sequences 0\\.\\.4 in [^\n]+\n"
    "Todos los procesos han terminado\\.\n";

const std::string kDemoConsumerOutput =
    "Consumiendo: Mensaje 0\n"
    "Consumiendo: Mensaje 1\n"
    "Consumiendo: Mensaje 2\n"
    "Consumiendo: Mensaje 3\n"
    "Consumiendo: Mensaje 4\n";

std::string Producer() {
  return RunfilePath("producer_service/producer_service");
}

std::string Consumer() {
  return RunfilePath("consumer_service/consumer_service");
}

int LineCount(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

TEST(SystemTest, ProducerAndConsumerPrintTheDemoLines) {
  ConsumerProcess consumer = ConsumerProcess::Start({});
  Subprocess producer =
      Subprocess::Start({Producer(), "--target=" + consumer.target(),
                         "--producer_id=system-test"});
  ASSERT_EQ(producer.WaitOrKill(absl::Seconds(30)), 0) << producer.Stderr();
  EXPECT_THAT(producer.Stdout(), MatchesRegex(kDemoProducerOutput));

  consumer.process().Signal(SIGTERM);
  EXPECT_EQ(consumer.process().WaitOrKill(absl::Seconds(30)), 0)
      << consumer.process().Stderr();
  EXPECT_EQ(consumer.process().Stdout(), kDemoConsumerOutput);
  EXPECT_THAT(consumer.process().Stderr(),
              HasSubstr("stopped: 5 messages in 1 completed and 0 failed"));
}

TEST(SystemTest, DemoTargetRunsTheWholeOriginalDemo) {
  Subprocess demo = Subprocess::Start({RunfilePath("demo")});
  ASSERT_EQ(demo.WaitOrKill(absl::Seconds(60)), 0) << demo.Stderr();
  // Both processes write to one console; check each one's lines in order.
  std::string producer_lines;
  std::string consumer_lines;
  std::istringstream output(demo.Stdout());
  for (std::string line; std::getline(output, line);) {
    (line.rfind("Consumiendo:", 0) == 0 ? consumer_lines : producer_lines) +=
        line + "\n";
  }
  EXPECT_EQ(consumer_lines, kDemoConsumerOutput);
  EXPECT_THAT(producer_lines,
              MatchesRegex(absl::StrReplaceAll(kDemoProducerOutput,
                                               {{"system-test", "demo"}})));
}

TEST(SystemTest, BatchedProducerPrintsTheSameDemoLines) {
  ConsumerProcess consumer = ConsumerProcess::Start({});
  Subprocess producer =
      Subprocess::Start({Producer(), "--target=" + consumer.target(),
                         "--producer_id=system-test", "--batch_size=3"});
  ASSERT_EQ(producer.WaitOrKill(absl::Seconds(30)), 0) << producer.Stderr();
  EXPECT_THAT(producer.Stdout(), MatchesRegex(kDemoProducerOutput));
  consumer.process().Signal(SIGTERM);
  EXPECT_EQ(consumer.process().WaitOrKill(absl::Seconds(30)), 0);
  EXPECT_EQ(consumer.process().Stdout(), kDemoConsumerOutput);
}

TEST(SystemTest, SeveralStreamsAreSummedUp) {
  ConsumerProcess consumer = ConsumerProcess::Start({"--print_messages=false"});
  Subprocess producer = Subprocess::Start(
      {Producer(), "--target=" + consumer.target(), "--producer_id=many",
       "--streams=3", "--count=10", "--interval=0", "--print_messages=false"});
  ASSERT_EQ(producer.WaitOrKill(absl::Seconds(30)), 0) << producer.Stderr();
  EXPECT_THAT(producer.Stdout(),
              HasSubstr("Consumer summary: 30 messages, 270 bytes, producer "
                        "many-0..many-2, sequences 0..9"));
}

TEST(SystemTest, StreamsSpreadOverSeveralChannelsAreSummedUp) {
  ConsumerProcess consumer = ConsumerProcess::Start({"--print_messages=false"});
  Subprocess producer = Subprocess::Start(
      {Producer(), "--target=" + consumer.target(), "--producer_id=spread",
       "--streams=5", "--channels=2", "--count=10", "--interval=0",
       "--print_messages=false"});
  ASSERT_EQ(producer.WaitOrKill(absl::Seconds(30)), 0) << producer.Stderr();
  EXPECT_THAT(producer.Stdout(),
              HasSubstr("Consumer summary: 50 messages, 450 bytes, producer "
                        "spread-0..spread-4, sequences 0..9"));
}

TEST(SystemTest, FixedFlowControlWindowsCarryStreamsFarLargerThanThem) {
  ConsumerProcess consumer = ConsumerProcess::Start(
      {"--print_messages=false", "--adaptive_flow_control=false"});
  // 3 streams of 20 MB each, through windows of 256 KiB.
  Subprocess producer = Subprocess::Start(
      {Producer(), "--target=" + consumer.target(), "--producer_id=windows",
       "--streams=3", "--count=20000", "--payload_bytes=1000",
       "--batch_size=64", "--interval=0", "--print_messages=false"});
  ASSERT_EQ(producer.WaitOrKill(absl::Seconds(60)), 0) << producer.Stderr();
  EXPECT_THAT(producer.Stdout(), HasSubstr("Consumer summary: 60000 messages"));
}

TEST(SystemTest, QuietConsumerPrintsNoMessageLines) {
  ConsumerProcess consumer = ConsumerProcess::Start({"--print_messages=false"});
  Subprocess producer = Subprocess::Start(
      {Producer(), "--target=" + consumer.target(), "--count=50",
       "--interval=0", "--print_messages=false"});
  ASSERT_EQ(producer.WaitOrKill(absl::Seconds(30)), 0) << producer.Stderr();
  EXPECT_THAT(producer.Stdout(), HasSubstr("Consumer summary: 50 messages"));
  EXPECT_EQ(LineCount(producer.Stdout()), 2);
  consumer.process().Signal(SIGINT);
  EXPECT_EQ(consumer.process().WaitOrKill(absl::Seconds(30)), 0);
  EXPECT_EQ(consumer.process().Stdout(), "");
}

TEST(SystemTest, UnreachableConsumerIsOneLineAndExitCodeOne) {
  int free_port;
  {
    ConsumerProcess placeholder = ConsumerProcess::Start({});
    free_port = placeholder.port();
  }
  Subprocess producer = Subprocess::Start(
      {Producer(), absl::StrCat("--target=127.0.0.1:", free_port),
       "--connect_timeout=300ms"});
  EXPECT_EQ(producer.WaitOrKill(absl::Seconds(30)), 1);
  EXPECT_EQ(producer.Stdout(), "");
  EXPECT_THAT(producer.Stderr(), HasSubstr("is not reachable after 300ms"));
  EXPECT_EQ(LineCount(producer.Stderr()), 1) << producer.Stderr();
}

TEST(SystemTest, ADeadlineReachedMidRunIsOneLineAndExitCodeOne) {
  ConsumerProcess consumer = ConsumerProcess::Start({"--print_messages=false"});
  const absl::Time start = absl::Now();
  // Ten seconds of messages within a deadline of one.
  Subprocess producer = Subprocess::Start(
      {Producer(), "--target=" + consumer.target(), "--producer_id=late",
       "--count=100000", "--rate=10000", "--interval=0", "--deadline=1s",
       "--print_messages=false"});
  EXPECT_EQ(producer.WaitOrKill(absl::Seconds(30)), 1) << producer.Stderr();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_THAT(producer.Stderr(), HasSubstr("--deadline=1s after "));
  EXPECT_THAT(producer.Stderr(), HasSubstr(" of 100000 messages"));
  EXPECT_EQ(LineCount(producer.Stderr()), 1) << producer.Stderr();
  // The stream was closed cleanly: it counts as completed.
  consumer.process().Signal(SIGTERM);
  EXPECT_EQ(consumer.process().WaitOrKill(absl::Seconds(30)), 0);
  EXPECT_THAT(consumer.process().Stderr(),
              HasSubstr("in 1 completed and 0 failed"));
}

TEST(SystemTest, InvalidFlagValuesAreRefusedBeforeAnythingStarts) {
  struct Case {
    std::vector<std::string> argv;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{Producer(), "--count=-1"}, "--count=-1 is negative"},
      {{Producer(), "--interval=-1s"}, "--interval"},
      {{Producer(), "--payload_bytes=99999999999"}, "--payload_bytes"},
      {{Consumer(), "--address=localhost"}, "--address='localhost'"},
      {{Consumer(), "--max_message_bytes=0"}, "--max_message_bytes"},
  };
  for (const Case& c : cases) {
    Subprocess process = Subprocess::Start(c.argv);
    EXPECT_EQ(process.WaitOrKill(absl::Seconds(30)), 2) << c.argv[1];
    EXPECT_THAT(process.Stderr(), HasSubstr(c.says));
    EXPECT_EQ(LineCount(process.Stderr()), 1) << process.Stderr();
  }
}

TEST(SystemTest, UnparsableFlagValueIsRefused) {
  Subprocess producer = Subprocess::Start({Producer(), "--count=many"});
  EXPECT_EQ(producer.WaitOrKill(absl::Seconds(30)), 1);
  EXPECT_THAT(producer.Stderr(),
              HasSubstr("Illegal value 'many' specified for flag 'count'"));
}

TEST(SystemTest, SecondConsumerOnATakenPortExitsWithOneLine) {
  ConsumerProcess first = ConsumerProcess::Start({});
  Subprocess second =
      Subprocess::Start({Consumer(), "--address=" + first.target()});
  EXPECT_EQ(second.WaitOrKill(absl::Seconds(30)), 1);
  EXPECT_THAT(second.Stderr(),
              HasSubstr("cannot listen on " + first.target() +
                        ": Address already in use (choose another"));
  EXPECT_EQ(LineCount(second.Stderr()), 1) << second.Stderr();
}

TEST(SystemTest, SigtermStopsTheProducerAfterClosingItsStream) {
  ConsumerProcess consumer = ConsumerProcess::Start({"--print_messages=false"});
  Subprocess producer =
      Subprocess::Start({Producer(), "--target=" + consumer.target(),
                         "--count=100000", "--interval=10ms"});
  // Signal it once it is producing (and so handles signals).
  ASSERT_TRUE(
      producer.WaitForStdout("Produciendo: Mensaje 2\n", absl::Seconds(30)));
  producer.Signal(SIGTERM);
  EXPECT_EQ(producer.WaitOrKill(absl::Seconds(30)), 1);
  EXPECT_THAT(producer.Stdout(), HasSubstr("Consumer summary: "));
  EXPECT_THAT(producer.Stdout(),
              testing::Not(HasSubstr("Todos los procesos han terminado.")));
  EXPECT_THAT(producer.Stderr(), HasSubstr("stopped by a signal"));
}

}  // namespace
}  // namespace messaging
