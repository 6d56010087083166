// What gRPC itself costs per message on this machine: the floor under the
// rows of //benchmarks. A bare server that only counts the reads of each
// stream, and a bare client that writes as fast as gRPC takes them over
// --streams streams of one channel, as two processes on loopback
// (floor_server.h, floor_client.h). No validation, no accounting, no log:
// what is left is gRPC's own path, for each of its server APIs (callback,
// async completion queue) with each of its client APIs (callback, sync).
// Per-message (the default) a Mensaje per write on Consume; with
// --batch_size=N, MensajeBatch of N messages, encoded once, on
// ConsumeBatches, which the server reads as bytes and never decodes.
//
//   bazel run -c opt //benchmarks:grpc_floor_benchmark -- --streams=1,1000
//   bazel run -c opt //benchmarks:grpc_floor_benchmark -- --batch_size=256
//
// Prints messages/s and each process's CPU per message, medians of the
// repetitions; exits 1 if a run loses messages or fails.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmarks/floor_client.h"
#include "benchmarks/floor_server.h"
#include "grpc/grpc.h"

ABSL_FLAG(int64_t, messages, 1'000'000, "Messages per run.");
ABSL_FLAG(int, repetitions, 3, "Runs of each pair; medians are printed.");
ABSL_FLAG(int64_t, payload_bytes, 64, "Payload of each message.");
ABSL_FLAG(std::vector<std::string>, streams,
          std::vector<std::string>({"1", "1000"}),
          "Concurrent streams on the client's one channel, a comma-separated "
          "list; each count is a row per pair of APIs.");
ABSL_FLAG(int, flush_every, 256,
          "The client sends each write that reaches a multiple of this many "
          "messages and gives gRPC the buffer hint on the others, as the "
          "producer coalesces writes (with batches at least this large, "
          "every write is sent).");
ABSL_FLAG(absl::Duration, flush_delay, absl::Microseconds(250),
          "The client also sends a write once the first write a stream holds "
          "has waited this long, as the producer's --batch_delay bounds it "
          "(default the same); inf: --flush_every alone decides.");
ABSL_FLAG(int, batch_size, 0,
          "0: a Mensaje per write on Consume. N > 0: MensajeBatch of N "
          "messages per write on ConsumeBatches, as the batched rows send.");

namespace messaging {
namespace {

double CpuSeconds(const rusage& usage) {
  return absl::ToDoubleSeconds(absl::DurationFromTimeval(usage.ru_utime) +
                               absl::DurationFromTimeval(usage.ru_stime));
}

struct Run {
  double messages_per_second;
  double server_cpu_seconds;
  double client_cpu_seconds;
};

// Runs `child` in a process of its own; gRPC starts only in the children,
// so each is a process with its own gRPC, as the real services are.
pid_t Spawn(const std::function<int()>& child) {
  const pid_t pid = fork();
  if (pid == 0) _exit(child());
  return pid;
}

bool WaitFor(pid_t pid, rusage* usage) {
  int status = 0;
  return wait4(pid, &status, 0, usage) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

// One run of the pair; nullopt, with a line on stderr, if it failed.
std::optional<Run> RunPair(ServerApi server_api, ClientApi client_api,
                           const FloorLoad& load) {
  int port_pipe[2];
  if (pipe(port_pipe) != 0) return std::nullopt;
  const pid_t server = Spawn([&] {
    RunFloorServer(server_api, load.streams, [&](int port) {
      (void)!write(port_pipe[1], &port, sizeof(port));
    });
    return 0;
  });
  int port = 0;
  close(port_pipe[1]);
  const bool listening =
      read(port_pipe[0], &port, sizeof(port)) == sizeof(port) && port > 0;
  close(port_pipe[0]);
  // Made after the server started, which so holds no end of it: the read
  // below ends when the client writes or exits.
  int result_pipe[2];
  if (pipe(result_pipe) != 0) {
    kill(server, SIGKILL);
    waitpid(server, nullptr, 0);
    return std::nullopt;
  }
  const pid_t client = Spawn([&] {
    if (!listening) return 1;
    // A reference to gRPC that is never dropped: the channel's end then
    // does not shut gRPC down, which at times waited 10 s for its pollers
    // inside the timed run; the process _exits instead.
    grpc_init();
    const absl::Time start = absl::Now();
    const absl::Status sent = RunFloorClient(client_api, port, load);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    if (!sent.ok()) {
      std::fprintf(stderr, "grpc_floor_benchmark: %s\n",
                   std::string(sent.message()).c_str());
      return 1;
    }
    (void)!write(result_pipe[1], &seconds, sizeof(seconds));
    return 0;
  });
  close(result_pipe[1]);
  double seconds = 0;
  const bool reported =
      read(result_pipe[0], &seconds, sizeof(seconds)) == sizeof(seconds);
  close(result_pipe[0]);
  rusage client_usage{}, server_usage{};
  const bool client_ok = WaitFor(client, &client_usage);
  if (!client_ok) kill(server, SIGKILL);
  const bool server_ok = WaitFor(server, &server_usage);
  if (!reported || !client_ok || !server_ok) {
    std::fprintf(stderr,
                 "grpc_floor_benchmark: a run failed (client %s, server %s)\n",
                 client_ok ? "ok" : "failed", server_ok ? "ok" : "failed");
    return std::nullopt;
  }
  return Run{load.messages / seconds, CpuSeconds(server_usage),
             CpuSeconds(client_usage)};
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle]
                           : (values[middle - 1] + values[middle]) / 2;
}

int RunFloorBenchmark() {
  FloorLoad load;
  load.messages = absl::GetFlag(FLAGS_messages);
  load.payload_bytes = absl::GetFlag(FLAGS_payload_bytes);
  load.flush_every = absl::GetFlag(FLAGS_flush_every);
  load.flush_delay = absl::GetFlag(FLAGS_flush_delay);
  load.batch_size = absl::GetFlag(FLAGS_batch_size);
  const int repetitions = absl::GetFlag(FLAGS_repetitions);
  std::vector<int> stream_counts;
  for (const std::string& text : absl::GetFlag(FLAGS_streams)) {
    int streams;
    if (!absl::SimpleAtoi(text, &streams) || streams < 1 ||
        streams > load.messages) {
      stream_counts.clear();
      break;
    }
    stream_counts.push_back(streams);
  }
  if (load.messages < 1 || repetitions < 1 || stream_counts.empty() ||
      load.flush_every < 1 || load.flush_delay < absl::ZeroDuration() ||
      load.payload_bytes < 0 || load.batch_size < 0) {
    std::fprintf(stderr,
                 "grpc_floor_benchmark: --messages, --repetitions and "
                 "--flush_every must be >= 1, --flush_delay, --payload_bytes "
                 "and --batch_size >= 0, and --streams a list of counts from "
                 "1 to --messages\n");
    return 2;
  }
  std::printf("%ld messages of %ld bytes per run, median of %d runs\n",
              static_cast<long>(load.messages),
              static_cast<long>(load.payload_bytes), repetitions);
  std::printf(
      "a stream's write is sent every %d messages or once its first "
      "held write has waited %s\n",
      load.flush_every, absl::FormatDuration(load.flush_delay).c_str());
  if (load.batch_size > 0) {
    std::printf(
        "batched: MensajeBatch of %d messages per write, on ConsumeBatches "
        "(msgs/s and us/msg per message)\n",
        load.batch_size);
  }
  std::printf(
      "\n| streams | server API | client API | msgs/s | server CPU us/msg | "
      "client CPU us/msg |\n|---:|---|---|---:|---:|---:|\n");
  // A batch's messages cost some hundredths of a microsecond each.
  const int decimals = load.batch_size > 0 ? 3 : 2;
  const struct {
    ServerApi server;
    ClientApi client;
    const char* server_name;
    const char* client_name;
  } pairs[] = {
      {ServerApi::kCallback, ClientApi::kCallback, "callback", "callback"},
      {ServerApi::kCallback, ClientApi::kSync, "callback", "sync"},
      {ServerApi::kAsync, ClientApi::kCallback, "async", "callback"},
      {ServerApi::kAsync, ClientApi::kSync, "async", "sync"},
  };
  for (const int streams : stream_counts) {
    load.streams = streams;
    for (const auto& pair : pairs) {
      std::vector<double> rates, server_cpu, client_cpu;
      for (int i = 0; i < repetitions; ++i) {
        std::optional<Run> run = RunPair(pair.server, pair.client, load);
        if (!run) return 1;
        rates.push_back(run->messages_per_second);
        server_cpu.push_back(run->server_cpu_seconds);
        client_cpu.push_back(run->client_cpu_seconds);
      }
      const double per_message = 1e6 / load.messages;
      std::printf("| %d | %s | %s | %.0f | %.*f | %.*f |\n", streams,
                  pair.server_name, pair.client_name, Median(rates), decimals,
                  Median(server_cpu) * per_message, decimals,
                  Median(client_cpu) * per_message);
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace
}  // namespace messaging

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return messaging::RunFloorBenchmark();
}
