// The delivery guarantee under failure, with the real binaries: the
// consumer is SIGKILLed and restarted, or the network between the two is
// cut, while a producer sends 100,000 messages; afterwards the consumer's
// log holds every sequence exactly once. The kill and the batched cut run
// both in plaintext and with mutual TLS and a producer ACL.
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "consumer_service/log_reader.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"
#include "testing/subprocess.h"
#include "testing/tcp_proxy.h"

namespace messaging {
namespace {

using testing::HasSubstr;
using testing::Not;

constexpr int kMessages = 100'000;
constexpr int kFailures = 6;

std::string NewDataDir(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

// How the producers reach the consumer: plaintext, or mutual TLS with a
// producer ACL that allows the producer's certificate exactly the ids of
// these tests, so every stream and every GetProducerState of a run, on
// every restarted consumer, goes through the ACL.
enum class Transport { kPlaintext, kMutualTlsWithAcl };

std::string TransportName(const testing::TestParamInfo<Transport>& info) {
  return info.param == Transport::kPlaintext ? "Plaintext" : "MutualTlsWithAcl";
}

// A throw-away PKI (make_test_certs.sh) and the ACL, made once.
const std::string& Pki() {
  static const std::string* const dir = [] {
    auto* pki =
        new std::string(absl::StrCat(std::getenv("TEST_TMPDIR"), "/pki"));
    EXPECT_EQ(Subprocess::Start({"/bin/mkdir", "-p", *pki}).Wait(), 0);
    Subprocess make = Subprocess::Start(
        {"/bin/bash", RunfilePath("tests/make_test_certs.sh"), *pki});
    EXPECT_EQ(make.WaitOrKill(absl::Seconds(60)), 0) << make.Stderr();
    std::ofstream(*pki + "/producer.acl") << "spiffe://test/alice crash-test\n"
                                             "spiffe://test/alice cut-test\n";
    return pki;
  }();
  return *dir;
}

std::vector<std::string> ConsumerFlags(
    const std::string& data_dir, Transport transport = Transport::kPlaintext) {
  // Segments of 64 KiB, so that every scenario rolls the log dozens of
  // times and failures land around rolls and their snapshots.
  std::vector<std::string> flags = {
      "--data_dir=" + data_dir, "--print_messages=false", "--shutdown_grace=1s",
      "--log_segment_bytes=65536"};
  if (transport == Transport::kMutualTlsWithAcl) {
    flags.insert(flags.end(), {"--tls_cert=" + Pki() + "/server.pem",
                               "--tls_key=" + Pki() + "/server.key",
                               "--tls_client_ca=" + Pki() + "/ca.pem",
                               "--producer_acl=" + Pki() + "/producer.acl"});
  }
  return flags;
}

// Paced at `rate` messages/s, so that the run outlasts the failures
// injected into it on any machine (100,000 messages at the default rate
// take about 3 s).
Subprocess StartProducer(int port, const std::string& producer_id,
                         int count = kMessages, int batch_size = 1,
                         int rate = 30'000,
                         Transport transport = Transport::kPlaintext) {
  std::vector<std::string> argv = {
      RunfilePath("producer_service/producer_service"),
      absl::StrCat("--target=127.0.0.1:", port),
      absl::StrCat("--count=", count), "--interval=0",
      absl::StrCat("--rate=", rate), "--print_messages=false",
      "--producer_id=" + producer_id,
      // Small segments confirm often, so failures hit mid-stream and
      // mid-confirmation alike.
      "--max_unconfirmed=2000", "--initial_backoff=20ms", "--max_backoff=300ms",
      "--deadline=240s", "--connect_timeout=60s",
      absl::StrCat("--batch_size=", batch_size)};
  if (transport == Transport::kMutualTlsWithAcl) {
    argv.insert(argv.end(), {"--tls", "--tls_server_name=localhost",
                             "--tls_ca=" + Pki() + "/ca.pem",
                             "--tls_cert=" + Pki() + "/alice.pem",
                             "--tls_key=" + Pki() + "/alice.key"});
  }
  return Subprocess::Start(argv);
}

// How many times each sequence of each producer is in the log.
std::map<std::string, std::vector<int>> CountSequences(
    const std::string& data_dir) {
  std::map<std::string, std::vector<int>> counts;
  absl::StatusOr<uint64_t> read =
      ReadLogDirectory(data_dir, [&](const v1::Mensaje& message, uint64_t) {
        std::vector<int>& producer = counts[message.producer_id()];
        ASSERT_LT(message.sequence(), static_cast<uint64_t>(kMessages));
        producer.resize(
            std::max<size_t>(producer.size(), message.sequence() + 1));
        ++producer[message.sequence()];
      });
  EXPECT_TRUE(read.ok()) << read.status();
  return counts;
}

// Every sequence from 0 to `count` - 1 is logged once.
void ExpectEachSequenceExactlyOnce(std::vector<int> counts, int count) {
  counts.resize(std::max<size_t>(counts.size(), count));
  int lost = 0;
  int duplicated = 0;
  for (int sequence = 0; sequence < count; ++sequence) {
    lost += counts[sequence] == 0;
    duplicated += counts[sequence] > 1;
  }
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(counts.size(), static_cast<size_t>(count))
      << "unexpected sequences";
}

// Retention has deleted the oldest of `count` sequences, and every one it
// kept, a contiguous run up to `count` - 1, is logged once.
void ExpectRetainedTailExactlyOnce(std::vector<int> counts, int count) {
  counts.resize(std::max<size_t>(counts.size(), count));
  int first_kept = 0;
  while (first_kept < count && counts[first_kept] == 0) ++first_kept;
  EXPECT_GT(first_kept, 0) << "retention deleted nothing";
  int lost = 0;
  int duplicated = 0;
  for (int sequence = first_kept; sequence < count; ++sequence) {
    lost += counts[sequence] == 0;
    duplicated += counts[sequence] > 1;
  }
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(counts.size(), static_cast<size_t>(count))
      << "unexpected sequences";
}

// The consumer's standing of `producer_id`.
v1::ProducerState StateOf(const std::string& target,
                          const std::string& producer_id) {
  auto stub = v1::ConsumerService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::GetProducerStateRequest request;
  request.set_producer_id(producer_id);
  v1::ProducerState state;
  const grpc::Status asked = stub->GetProducerState(&context, request, &state);
  EXPECT_TRUE(asked.ok()) << asked.error_message();
  return state;
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

class ConsumerKillTest : public testing::TestWithParam<Transport> {};

INSTANTIATE_TEST_SUITE_P(Transports, ConsumerKillTest,
                         testing::Values(Transport::kPlaintext,
                                         Transport::kMutualTlsWithAcl),
                         TransportName);

TEST_P(ConsumerKillTest, ConsumerKilledAndRestartedLosesAndDuplicatesNothing) {
  const std::string data_dir =
      NewDataDir(absl::StrCat("crash", static_cast<int>(GetParam())));
  // Small segments: the log rolls and snapshots dozens of times, so kills
  // land around rolls and restarts restore from snapshots.
  std::vector<std::string> flags = ConsumerFlags(data_dir, GetParam());
  ConsumerProcess consumer = ConsumerProcess::Start(flags);
  const int port = consumer.port();
  Subprocess producer =
      StartProducer(port, "crash-test", kMessages, /*batch_size=*/1,
                    /*rate=*/30'000, GetParam());

  RandomPauses pauses;
  int kills = 0;
  for (; kills < kFailures && !producer.HasExited(); ++kills) {
    absl::SleepFor(pauses.Next(50, 400));
    consumer.process().Signal(SIGKILL);
    EXPECT_EQ(consumer.process().Wait(), 128 + SIGKILL);
    absl::SleepFor(pauses.Next(0, 200));
    consumer = ConsumerProcess::Start(flags, port);
  }
  EXPECT_EQ(kills, kFailures) << "the producer finished too soon";
  ASSERT_EQ(producer.WaitOrKill(absl::Seconds(240)), 0) << producer.Stderr();
  EXPECT_THAT(producer.Stdout(),
              HasSubstr("Todos los procesos han terminado."));

  consumer.process().Signal(SIGTERM);
  ASSERT_EQ(consumer.process().WaitOrKill(absl::Seconds(30)), 0);
  ExpectEachSequenceExactlyOnce(CountSequences(data_dir)["crash-test"],
                                kMessages);
}

// Batch size, transport.
class NetworkCutTest
    : public testing::TestWithParam<std::tuple<int, Transport>> {};

INSTANTIATE_TEST_SUITE_P(
    PerMessageAndBatched, NetworkCutTest,
    testing::Values(std::make_tuple(1, Transport::kPlaintext),
                    std::make_tuple(64, Transport::kPlaintext),
                    std::make_tuple(64, Transport::kMutualTlsWithAcl)));

TEST_P(NetworkCutTest, CutMidStreamLosesAndDuplicatesNothing) {
  const auto [batch_size, transport] = GetParam();
  const std::string data_dir = NewDataDir(
      absl::StrCat("network", batch_size, "-", static_cast<int>(transport)));
  ConsumerProcess consumer =
      ConsumerProcess::Start(ConsumerFlags(data_dir, transport));
  TcpProxy proxy(consumer.port());
  Subprocess producer =
      StartProducer(proxy.port(), "cut-test", kMessages, batch_size,
                    /*rate=*/30'000, transport);

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
  EXPECT_THAT(producer.Stderr(), Not(HasSubstr("PERMISSION_DENIED")));

  consumer.process().Signal(SIGTERM);
  ASSERT_EQ(consumer.process().WaitOrKill(absl::Seconds(30)), 0);
  EXPECT_THAT(consumer.process().Stderr(), HasSubstr("stopped: "));
  ExpectEachSequenceExactlyOnce(CountSequences(data_dir)["cut-test"],
                                kMessages);
}

TEST(DeliveryTest, GracefulRestartsUnderLoadLoseAndDuplicateNothing) {
  // SIGTERM with several streams open: health goes NOT_SERVING, open
  // streams get the grace period, and the producers resume on the
  // restarted consumer. Retention deletes old segments meanwhile, and the
  // producer-state snapshots keep what they held.
  constexpr int kProducers = 4;
  constexpr int kRestarts = 3;
  const std::string data_dir = NewDataDir("graceful");
  std::vector<std::string> flags = ConsumerFlags(data_dir);
  flags.push_back("--log_retention_bytes=262144");
  ConsumerProcess consumer = ConsumerProcess::Start(flags);
  const int port = consumer.port();
  std::vector<Subprocess> producers;
  for (int i = 0; i < kProducers; ++i) {
    producers.push_back(StartProducer(port, absl::StrCat("graceful-", i),
                                      kMessages / kProducers, /*batch_size=*/1,
                                      /*rate=*/10'000));
  }

  RandomPauses pauses;
  for (int restart = 0; restart < kRestarts; ++restart) {
    absl::SleepFor(pauses.Next(100, 400));
    for (Subprocess& producer : producers) {
      EXPECT_FALSE(producer.HasExited()) << "a producer finished too soon";
    }
    consumer.process().Signal(SIGTERM);
    EXPECT_EQ(consumer.process().WaitOrKill(absl::Seconds(30)), 0);
    EXPECT_THAT(consumer.process().Stderr(), HasSubstr("shutting down"));
    consumer = ConsumerProcess::Start(flags, port);
  }
  for (Subprocess& producer : producers) {
    EXPECT_EQ(producer.WaitOrKill(absl::Seconds(240)), 0) << producer.Stderr();
  }
  consumer.process().Signal(SIGTERM);
  ASSERT_EQ(consumer.process().WaitOrKill(absl::Seconds(30)), 0);

  std::map<std::string, std::vector<int>> counts = CountSequences(data_dir);
  consumer = ConsumerProcess::Start(flags, port);
  for (int i = 0; i < kProducers; ++i) {
    const std::string producer_id = absl::StrCat("graceful-", i);
    SCOPED_TRACE(producer_id);
    ExpectRetainedTailExactlyOnce(counts[producer_id], kMessages / kProducers);
    const v1::ProducerState state = StateOf(consumer.target(), producer_id);
    EXPECT_TRUE(state.known());
    EXPECT_EQ(state.next_sequence(),
              static_cast<uint64_t>(kMessages / kProducers));
  }
}

}  // namespace
}  // namespace messaging
