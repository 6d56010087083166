// The consumer on a disk that fills up, through the real kernel path: its
// message log's file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored, so a
// write past it fails with EFBIG as it would with ENOSPC) is set low when it
// starts and raised with prlimit(1) while it runs, as space coming back.
//
// While writes fail: the stream whose messages could not be written gets
// UNAVAILABLE naming the OS error, health is NOT_SERVING, GetProducerState
// answers for a producer whose messages are safe, and GetStats counts only
// what is in the log. Once space is back: health is SERVING again with no
// restart, and the producer resumes to a log that holds each message once.
#include <signal.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "consumer_service/log_reader.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"
#include "testing/mensajes.h"
#include "testing/subprocess.h"

namespace messaging {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

constexpr int kFileLimitKiB = 64;
constexpr size_t kPayloadBytes = 1024;

// Sends `count` messages of `producer_id` from `first` on one Consume
// stream; the stream's status.
grpc::Status Send(v1::ConsumerService::Stub& stub,
                  const std::string& producer_id, uint64_t first,
                  uint64_t count) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  v1::ConsumeSummary summary;
  auto writer = stub.Consume(&context, &summary);
  for (const v1::Mensaje& message :
       DemoMensajes(producer_id, first, count,
                    {ProducerPayload(kPayloadBytes), std::nullopt})) {
    if (!writer->Write(message)) break;  // the status says why
  }
  writer->WritesDone();
  return writer->Finish();
}

HealthCheckResponse::ServingStatus Health(Health::Stub& health) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  HealthCheckRequest request;
  HealthCheckResponse response;
  if (!health.Check(&context, request, &response).ok()) {
    return HealthCheckResponse::UNKNOWN;
  }
  return response.status();
}

bool BecomesWithin(Health::Stub& health,
                   HealthCheckResponse::ServingStatus status,
                   absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    if (Health(health) == status) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

uint64_t MessagesReceived(v1::ConsumerService::Stub& stub) {
  grpc::ClientContext context;
  v1::ConsumerStats stats;
  EXPECT_TRUE(stub.GetStats(&context, v1::GetStatsRequest(), &stats).ok());
  return stats.messages_received();
}

// Producer id -> the sequences the log holds, in log order.
std::map<std::string, std::vector<uint64_t>> Logged(
    const std::string& directory) {
  std::map<std::string, std::vector<uint64_t>> logged;
  const absl::StatusOr<uint64_t> end =
      ReadLogDirectory(directory, [&](const v1::Mensaje& message, uint64_t) {
        logged[message.producer_id()].push_back(message.sequence());
      });
  EXPECT_TRUE(end.ok()) << end.status();
  return logged;
}

size_t Total(const std::map<std::string, std::vector<uint64_t>>& logged) {
  size_t total = 0;
  for (const auto& [producer, sequences] : logged) total += sequences.size();
  return total;
}

std::vector<uint64_t> Range(uint64_t first, uint64_t end) {
  std::vector<uint64_t> range;
  for (uint64_t i = first; i < end; ++i) range.push_back(i);
  return range;
}

TEST(FullDiskTest, WritesFailCleanlyAndHealItselfWhenSpaceIsBack) {
  const std::string data_dir =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/full_disk");
  ConsumerProcess consumer = ConsumerProcess::Start(
      {"--data_dir=" + data_dir, "--print_messages=false"}, 0,
      {"/bin/bash", "-c",
       absl::StrCat("trap '' XFSZ; ulimit -S -f ", kFileLimitKiB,
                    "; exec \"$0\" \"$@\"")});
  auto channel = grpc::CreateChannel(consumer.target(),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::ConsumerService::NewStub(channel);
  auto health = Health::NewStub(channel);
  ASSERT_EQ(Health(*health), HealthCheckResponse::SERVING);

  ASSERT_TRUE(Send(*stub, "safe", 0, 10).ok());

  // Far more than the file may hold.
  const uint64_t kMessages = 4 * kFileLimitKiB;
  const grpc::Status full = Send(*stub, "big", 0, kMessages);
  ASSERT_EQ(full.error_code(), grpc::StatusCode::UNAVAILABLE)
      << full.error_message();
  EXPECT_NE(full.error_message().find("File too large"), std::string::npos)
      << full.error_message();
  EXPECT_TRUE(BecomesWithin(*health, HealthCheckResponse::NOT_SERVING,
                            absl::Seconds(5)));

  {
    grpc::ClientContext context;
    v1::GetProducerStateRequest request;
    request.set_producer_id("safe");
    v1::ProducerState state;
    const grpc::Status asked =
        stub->GetProducerState(&context, request, &state);
    ASSERT_TRUE(asked.ok()) << asked.error_message();
    EXPECT_EQ(state.next_sequence(), 10u);
  }
  const std::map<std::string, std::vector<uint64_t>> while_full =
      Logged(data_dir);
  EXPECT_EQ(MessagesReceived(*stub), Total(while_full))
      << "GetStats counts only what is durable";
  EXPECT_LT(Total(while_full), 10 + kMessages);

  // Space comes back.
  Subprocess raise = Subprocess::Start(
      {"/usr/bin/prlimit", absl::StrCat("--pid=", consumer.process().pid()),
       "--fsize=unlimited"});
  ASSERT_EQ(raise.Wait(), 0) << raise.Stderr();
  ASSERT_TRUE(
      BecomesWithin(*health, HealthCheckResponse::SERVING, absl::Seconds(5)));

  uint64_t next = 0;
  {
    grpc::ClientContext context;
    v1::GetProducerStateRequest request;
    request.set_producer_id("big");
    v1::ProducerState state;
    ASSERT_TRUE(stub->GetProducerState(&context, request, &state).ok());
    next = state.next_sequence();
  }
  ASSERT_TRUE(Send(*stub, "big", next, kMessages - next).ok());
  const std::map<std::string, std::vector<uint64_t>> healed = Logged(data_dir);
  EXPECT_EQ(healed.at("safe"), Range(0, 10));
  EXPECT_EQ(healed.at("big"), Range(0, kMessages));
  EXPECT_EQ(MessagesReceived(*stub), 10 + kMessages);

  consumer.process().Signal(SIGTERM);
  EXPECT_EQ(consumer.process().WaitOrKill(absl::Seconds(15)), 0)
      << consumer.process().Stderr();
}

}  // namespace
}  // namespace messaging
