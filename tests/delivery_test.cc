// The delivery guarantee under failure, with the real binaries: the
// consumer is SIGKILLed and restarted, or the network between the two is
// cut, while a producer sends 100,000 messages; afterwards the consumer's
// log holds every sequence exactly once.
#include <signal.h>

#include <cstdlib>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "consumer_service/message_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/subprocess.h"
#include "tests/tcp_proxy.h"

namespace messaging {
namespace {

using testing::HasSubstr;

constexpr int kMessages = 100'000;
constexpr int kFailures = 6;

std::string NewDataDir(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

std::vector<std::string> ConsumerFlags(const std::string& data_dir) {
  return {"--data_dir=" + data_dir, "--print_messages=false",
          "--shutdown_grace=1s"};
}

Subprocess StartProducer(int port, const std::string& producer_id) {
  return Subprocess::Start(
      {RunfilePath("producer_service/producer_service"),
       absl::StrCat("--target=127.0.0.1:", port),
       absl::StrCat("--count=", kMessages), "--interval=0",
       "--print_messages=false", "--producer_id=" + producer_id,
       // Small segments confirm often, so failures hit mid-stream and
       // mid-confirmation alike.
       "--max_unconfirmed=2000", "--initial_backoff=20ms",
       "--max_backoff=300ms", "--deadline=240s", "--connect_timeout=60s"});
}

// How many times each sequence of `producer_id` is in the log.
std::vector<int> CountSequences(const std::string& data_dir,
                                const std::string& producer_id) {
  std::vector<int> counts(kMessages, 0);
  absl::StatusOr<LogRecovery> read = ReadMessageLog(
      absl::StrCat(data_dir, "/", MessageLog::kFileName),
      [&](const v1::Mensaje& message, uint64_t) {
        ASSERT_EQ(message.producer_id(), producer_id);
        ASSERT_LT(message.sequence(), static_cast<uint64_t>(kMessages));
        ++counts[message.sequence()];
      });
  EXPECT_TRUE(read.ok()) << read.status();
  return counts;
}

void ExpectEachSequenceExactlyOnce(const std::vector<int>& counts) {
  int lost = 0;
  int duplicated = 0;
  for (int count : counts) {
    lost += count == 0;
    duplicated += count > 1;
  }
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
}

// Random pauses, with the seed printed so that a failure can be replayed.
class RandomPauses {
 public:
  RandomPauses() : seed_(std::random_device{}()), random_(seed_) {
    std::cout << "random seed " << seed_ << std::endl;
  }
  absl::Duration Next(int min_millis, int max_millis) {
    return absl::Milliseconds(
        std::uniform_int_distribution<int>(min_millis, max_millis)(random_));
  }

 private:
  const unsigned seed_;
  std::mt19937 random_;
};

TEST(DeliveryTest, ConsumerKilledAndRestartedLosesAndDuplicatesNothing) {
  const std::string data_dir = NewDataDir("crash");
  ConsumerProcess consumer = ConsumerProcess::Start(ConsumerFlags(data_dir));
  const int port = consumer.port();
  Subprocess producer = StartProducer(port, "crash-test");

  RandomPauses pauses;
  int kills = 0;
  for (; kills < kFailures && !producer.HasExited(); ++kills) {
    absl::SleepFor(pauses.Next(50, 400));
    consumer.process().Signal(SIGKILL);
    EXPECT_EQ(consumer.process().Wait(), 128 + SIGKILL);
    absl::SleepFor(pauses.Next(0, 200));
    consumer = ConsumerProcess::Start(ConsumerFlags(data_dir), port);
  }
  EXPECT_EQ(kills, kFailures) << "the producer finished too soon";
  ASSERT_EQ(producer.WaitOrKill(absl::Seconds(240)), 0) << producer.Stderr();
  EXPECT_THAT(producer.Stdout(),
              HasSubstr("Todos los procesos han terminado."));

  consumer.process().Signal(SIGTERM);
  ASSERT_EQ(consumer.process().WaitOrKill(absl::Seconds(30)), 0);
  ExpectEachSequenceExactlyOnce(CountSequences(data_dir, "crash-test"));
}

TEST(DeliveryTest, NetworkCutMidStreamLosesAndDuplicatesNothing) {
  const std::string data_dir = NewDataDir("network");
  ConsumerProcess consumer = ConsumerProcess::Start(ConsumerFlags(data_dir));
  TcpProxy proxy(consumer.port());
  Subprocess producer = StartProducer(proxy.port(), "cut-test");

  RandomPauses pauses;
  int cuts = 0;
  for (; cuts < kFailures && !producer.HasExited(); ++cuts) {
    absl::SleepFor(pauses.Next(100, 500));
    proxy.CutAll();
  }
  EXPECT_EQ(cuts, kFailures) << "the producer finished too soon";
  EXPECT_GE(proxy.connections_cut(), kFailures / 2);
  ASSERT_EQ(producer.WaitOrKill(absl::Seconds(240)), 0) << producer.Stderr();
  EXPECT_THAT(producer.Stderr(), HasSubstr("attempt failed"));

  consumer.process().Signal(SIGTERM);
  ASSERT_EQ(consumer.process().WaitOrKill(absl::Seconds(30)), 0);
  EXPECT_THAT(consumer.process().Stderr(), HasSubstr("stopped: "));
  ExpectEachSequenceExactlyOnce(CountSequences(data_dir, "cut-test"));
}

}  // namespace
}  // namespace messaging
