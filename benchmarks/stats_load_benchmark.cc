// GetStats under load with many producers tracked: the consumer registers
// --producers producer ids through as many short Consume streams (one new
// id each, as in the issue that made GetStats small), then measures
// batched ingestion over --streams ConsumeBatches streams for --seconds,
// once alone and once while a client polls GetStats --poll_hz times a
// second. A GetStats that grew with the producers (2.2 MB and 686 ms at
// 20,000) would take the poller's share out of ingestion; one of fixed
// size must not.
//
//   bazel run -c opt //benchmarks:stats_load_benchmark
//   bazel run -c opt //benchmarks:stats_load_benchmark -- --producers=100000
//
// The consumer runs in this process (no log unless --data_dir), on
// loopback. Prints GetStats' size and latency, and messages/s with and
// without polling; exits 1 if a call fails.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "consumer_service/consumer_server.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"

ABSL_FLAG(int, producers, 20'000,
          "Producer ids registered first, one short stream each.");
ABSL_FLAG(int, register_threads, 8, "Threads opening the short streams.");
ABSL_FLAG(int, streams, 4, "Concurrent ConsumeBatches streams measured.");
ABSL_FLAG(int, batch_size, 64, "Messages per MensajeBatch.");
ABSL_FLAG(absl::Duration, seconds, absl::Seconds(3),
          "How long each ingestion run lasts.");
ABSL_FLAG(int, repetitions, 3,
          "Runs of each kind, alternating; medians are printed.");
ABSL_FLAG(double, poll_hz, 10, "GetStats calls per second during the run.");
ABSL_FLAG(std::string, data_dir, "",
          "The consumer's --data_dir; empty: no log (memory only).");

namespace messaging {
namespace {

[[noreturn]] void Fail(const std::string& what, const grpc::Status& status) {
  std::fprintf(stderr, "%s failed: %s: %s\n", what.c_str(),
               std::to_string(status.error_code()).c_str(),
               status.error_message().c_str());
  std::exit(1);
}

v1::Mensaje Message(const std::string& producer_id, uint64_t sequence) {
  v1::Mensaje message;
  message.set_producer_id(producer_id);
  message.set_sequence(sequence);
  message.set_text(absl::StrCat("Mensaje ", sequence));
  *message.mutable_created_at() =
      google::protobuf::util::TimeUtil::GetCurrentTime();
  return message;
}

// One Consume stream of one message for each of `count` new producer ids.
void RegisterProducers(const std::shared_ptr<grpc::Channel>& channel, int count,
                       int threads) {
  std::atomic<int> next{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      auto stub = v1::ConsumerService::NewStub(channel);
      for (int i = next++; i < count; i = next++) {
        grpc::ClientContext context;
        v1::ConsumeSummary summary;
        auto writer = stub->Consume(&context, &summary);
        writer->Write(Message(absl::StrFormat("short-%07d", i), 0));
        writer->WritesDone();
        if (grpc::Status status = writer->Finish(); !status.ok()) {
          Fail("a short stream", status);
        }
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
}

struct Latencies {
  std::vector<absl::Duration> samples;
  size_t bytes = 0;
  uint64_t producers_tracked = 0;

  std::string Format() const {
    if (samples.empty()) return "no calls";
    std::vector<absl::Duration> sorted = samples;
    std::sort(sorted.begin(), sorted.end());
    const absl::Duration total =
        std::accumulate(sorted.begin(), sorted.end(), absl::ZeroDuration());
    return absl::StrFormat(
        "%d calls: avg %.0f us, p50 %.0f us, max %.0f us; %d bytes, "
        "producers_tracked %d",
        sorted.size(), absl::ToDoubleMicroseconds(total / sorted.size()),
        absl::ToDoubleMicroseconds(sorted[sorted.size() / 2]),
        absl::ToDoubleMicroseconds(sorted.back()), bytes, producers_tracked);
  }
};

void TimeGetStats(v1::ConsumerService::Stub& stub, Latencies* latencies) {
  grpc::ClientContext context;
  v1::ConsumerStats stats;
  const absl::Time start = absl::Now();
  if (grpc::Status status =
          stub.GetStats(&context, v1::GetStatsRequest(), &stats);
      !status.ok()) {
    Fail("GetStats", status);
  }
  latencies->samples.push_back(absl::Now() - start);
  latencies->bytes = stats.ByteSizeLong();
  latencies->producers_tracked = stats.producers_tracked();
}

// --streams ConsumeBatches streams of new producer ids `run`-0..., as fast
// as they go for `duration`; while they do, GetStats every `poll_interval`
// (none when infinite). Messages accepted per second.
double Ingest(const std::shared_ptr<grpc::Channel>& channel,
              const std::string& run, absl::Duration duration,
              absl::Duration poll_interval, Latencies* polled) {
  const int batch_size = absl::GetFlag(FLAGS_batch_size);
  const absl::Time start = absl::Now();
  const absl::Time end = start + duration;
  std::atomic<uint64_t> accepted{0};
  std::vector<std::thread> streams;
  for (int s = 0; s < absl::GetFlag(FLAGS_streams); ++s) {
    streams.emplace_back([&, s] {
      auto stub = v1::ConsumerService::NewStub(channel);
      grpc::ClientContext context;
      v1::ConsumeSummary summary;
      auto writer = stub->ConsumeBatches(&context, &summary);
      const std::string producer_id = absl::StrCat(run, "-", s);
      uint64_t sequence = 0;
      while (absl::Now() < end) {
        v1::MensajeBatch batch;
        for (int i = 0; i < batch_size; ++i) {
          *batch.add_messages() = Message(producer_id, sequence++);
        }
        if (!writer->Write(batch)) break;
      }
      writer->WritesDone();
      if (grpc::Status status = writer->Finish(); !status.ok()) {
        Fail("a batched stream", status);
      }
      accepted += summary.messages_received();
    });
  }
  if (poll_interval != absl::InfiniteDuration()) {
    auto stub = v1::ConsumerService::NewStub(channel);
    for (absl::Time next = start; next < end; next += poll_interval) {
      absl::SleepFor(next - absl::Now());
      TimeGetStats(*stub, polled);
    }
  }
  for (std::thread& stream : streams) stream.join();
  return static_cast<double>(accepted) /
         absl::ToDoubleSeconds(absl::Now() - start);
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int Run() {
  ConsumerOptions options;
  options.address = "127.0.0.1:0";
  options.print_messages = false;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  absl::StatusOr<std::unique_ptr<ConsumerServer>> server =
      ConsumerServer::Start(options, nullptr);
  if (!server.ok()) {
    std::fprintf(stderr, "consumer did not start: %s\n",
                 server.status().ToString().c_str());
    return 1;
  }
  const std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials());
  auto stub = v1::ConsumerService::NewStub(channel);

  const int producers = absl::GetFlag(FLAGS_producers);
  absl::Time start = absl::Now();
  RegisterProducers(channel, producers, absl::GetFlag(FLAGS_register_threads));
  std::printf("registered %d producers (one short stream each) in %.1f s\n",
              producers, absl::ToDoubleSeconds(absl::Now() - start));

  Latencies idle;
  for (int i = 0; i < 200; ++i) TimeGetStats(*stub, &idle);
  std::printf("GetStats, idle:        %s\n", idle.Format().c_str());

  // Alternating runs, so that a neighbour's load on the machine falls on
  // both kinds alike; medians are printed.
  const absl::Duration seconds = absl::GetFlag(FLAGS_seconds);
  std::vector<double> alone;
  std::vector<double> with_polling;
  Latencies polled;
  for (int r = 0; r < absl::GetFlag(FLAGS_repetitions); ++r) {
    Latencies unused;
    alone.push_back(Ingest(channel, absl::StrCat("alone", r), seconds,
                           absl::InfiniteDuration(), &unused));
    with_polling.push_back(
        Ingest(channel, absl::StrCat("polled", r), seconds,
               absl::Seconds(1) / absl::GetFlag(FLAGS_poll_hz), &polled));
  }
  std::printf("GetStats, under load:  %s\n", polled.Format().c_str());
  const double alone_median = Median(alone);
  const double polled_median = Median(with_polling);
  std::printf(
      "batched ingestion (%d streams x %d-message batches, %d runs of %.0f s "
      "each, medians):\n"
      "  alone:                     %.0f messages/s\n"
      "  GetStats polled at %.0f/s:  %.0f messages/s (%.1f%% of alone)\n",
      absl::GetFlag(FLAGS_streams), absl::GetFlag(FLAGS_batch_size),
      absl::GetFlag(FLAGS_repetitions), absl::ToDoubleSeconds(seconds),
      alone_median, absl::GetFlag(FLAGS_poll_hz), polled_median,
      100 * polled_median / alone_median);
  (*server)->Shutdown(absl::Seconds(5));
  return 0;
}

}  // namespace
}  // namespace messaging

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return messaging::Run();
}
