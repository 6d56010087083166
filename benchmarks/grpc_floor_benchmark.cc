// What gRPC itself costs per message on this machine: the floor under the
// per-message rows of //benchmarks. A bare server that only counts the
// Mensaje reads of one Consume stream, and a bare client that writes them
// as fast as gRPC takes them, as two processes on loopback. No validation,
// no accounting, no log: what is left is gRPC's per-message path, for each
// of its server APIs (callback, async completion queue) with each of its
// client APIs (callback, sync).
//
//   bazel run -c opt //benchmarks:grpc_floor_benchmark -- --repetitions=3
//
// Prints messages/s and each process's CPU per message, medians of the
// repetitions; exits 1 if a run loses messages or fails.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"

ABSL_FLAG(int64_t, messages, 1'000'000, "Messages per run.");
ABSL_FLAG(int, repetitions, 3, "Runs of each pair; medians are printed.");
ABSL_FLAG(int64_t, payload_bytes, 64, "Payload of each message.");
ABSL_FLAG(int, flush_every, 256,
          "The client sends every this many messages and gives gRPC the "
          "buffer hint on the others, as the producer coalesces writes.");

namespace messaging {
namespace {

enum class ServerApi { kCallback, kAsync };
enum class ClientApi { kCallback, kSync };

// Counts the reads of one stream, answers with the count, and returns.
class FloorServer {
 public:
  // Serves until one Consume stream has ended; `on_listening` gets the port.
  static void Run(ServerApi api, const std::function<void(int)>& on_listening) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    if (api == ServerApi::kCallback) {
      CallbackService service;
      builder.RegisterService(&service);
      std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
      on_listening(port);
      service.WaitForOneStream();
      server->Shutdown();
    } else {
      v1::ConsumerService::AsyncService service;
      builder.RegisterService(&service);
      std::unique_ptr<grpc::ServerCompletionQueue> queue =
          builder.AddCompletionQueue();
      std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
      on_listening(port);
      ServeOneAsyncStream(&service, queue.get());
      server->Shutdown();
      queue->Shutdown();
      void* tag;
      bool ok;
      while (queue->Next(&tag, &ok)) {
      }
    }
  }

 private:
  class CallbackService : public v1::ConsumerService::CallbackService {
   public:
    grpc::ServerReadReactor<v1::Mensaje>* Consume(
        grpc::CallbackServerContext*, v1::ConsumeSummary* summary) override {
      return new Counter(this, summary);
    }

    void WaitForOneStream() {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [this] { return finished_; });
    }

   private:
    class Counter : public grpc::ServerReadReactor<v1::Mensaje> {
     public:
      Counter(CallbackService* service, v1::ConsumeSummary* summary)
          : service_(service), summary_(summary) {
        StartRead(&message_);
      }
      void OnReadDone(bool ok) override {
        if (!ok) {
          summary_->set_messages_received(received_);
          Finish(grpc::Status::OK);
          return;
        }
        ++received_;
        StartRead(&message_);
      }
      void OnDone() override {
        CallbackService* service = service_;
        delete this;
        std::lock_guard<std::mutex> lock(service->mutex_);
        service->finished_ = true;
        service->done_.notify_one();
      }

     private:
      CallbackService* const service_;
      v1::ConsumeSummary* const summary_;
      v1::Mensaje message_;
      uint64_t received_ = 0;
    };

    std::mutex mutex_;
    std::condition_variable done_;
    bool finished_ = false;
  };

  // One thread drives the stream from its completion queue: each read
  // completes on the thread that polls, with no hand-off between threads.
  static void ServeOneAsyncStream(v1::ConsumerService::AsyncService* service,
                                  grpc::ServerCompletionQueue* queue) {
    grpc::ServerContext context;
    grpc::ServerAsyncReader<v1::ConsumeSummary, v1::Mensaje> reader(&context);
    service->RequestConsume(&context, &reader, queue, queue, nullptr);
    void* tag;
    bool ok;
    if (!queue->Next(&tag, &ok) || !ok) return;
    v1::Mensaje message;
    uint64_t received = 0;
    for (reader.Read(&message, nullptr); queue->Next(&tag, &ok) && ok;
         reader.Read(&message, nullptr)) {
      ++received;
    }
    v1::ConsumeSummary summary;
    summary.set_messages_received(received);
    reader.Finish(summary, grpc::Status::OK, nullptr);
    queue->Next(&tag, &ok);
  }
};

// Writes --messages messages of one producer, each with its own sequence,
// text and time as the producer's, into one Consume stream.
class FloorClient {
 public:
  FloorClient(int port, int64_t messages, int64_t payload_bytes,
              int flush_every)
      : stub_(v1::ConsumerService::NewStub(
            grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                grpc::InsecureChannelCredentials()))),
        messages_(messages),
        flush_every_(flush_every) {
    message_.set_producer_id("floor-1");
    message_.set_payload(std::string(payload_bytes, 'x'));
  }

  // Returns the messages the server counted.
  uint64_t Run(ClientApi api) {
    grpc::ClientContext context;
    v1::ConsumeSummary summary;
    if (api == ClientApi::kSync) {
      std::unique_ptr<grpc::ClientWriter<v1::Mensaje>> writer =
          stub_->Consume(&context, &summary);
      for (int64_t i = 0; i < messages_ && writer->Write(Next(i), Options(i));
           ++i) {
      }
      writer->WritesDone();
      if (!writer->Finish().ok()) return 0;
    } else {
      Writer writer(this, &context, &summary);
      if (!writer.Await().ok()) return 0;
    }
    return summary.messages_received();
  }

 private:
  class Writer : public grpc::ClientWriteReactor<v1::Mensaje> {
   public:
    Writer(FloorClient* client, grpc::ClientContext* context,
           v1::ConsumeSummary* summary)
        : client_(client) {
      client_->stub_->async()->Consume(context, summary, this);
      WriteOrClose();
      StartCall();
    }
    void OnWriteDone(bool ok) override {
      if (ok) WriteOrClose();
    }
    void OnDone(const grpc::Status& status) override {
      std::lock_guard<std::mutex> lock(mutex_);
      status_ = status;
      done_ = true;
      finished_.notify_one();
    }
    grpc::Status Await() {
      std::unique_lock<std::mutex> lock(mutex_);
      finished_.wait(lock, [this] { return done_; });
      return status_;
    }

   private:
    void WriteOrClose() {
      if (written_ == client_->messages_) {
        StartWritesDone();
        return;
      }
      // OnWriteDone may run on another thread as soon as StartWrite is
      // called: count the write first.
      const int64_t sequence = written_++;
      StartWrite(&client_->Next(sequence), client_->Options(sequence));
    }

    FloorClient* const client_;
    int64_t written_ = 0;
    std::mutex mutex_;
    std::condition_variable finished_;
    grpc::Status status_;
    bool done_ = false;
  };

  const v1::Mensaje& Next(int64_t sequence) {
    message_.set_sequence(sequence);
    message_.set_text(absl::StrCat("Mensaje ", sequence));
    *message_.mutable_created_at() =
        google::protobuf::util::TimeUtil::GetCurrentTime();
    return message_;
  }

  grpc::WriteOptions Options(int64_t sequence) const {
    grpc::WriteOptions options;
    if ((sequence + 1) % flush_every_ != 0) options.set_buffer_hint();
    return options;
  }

  std::unique_ptr<v1::ConsumerService::Stub> stub_;
  const int64_t messages_;
  const int flush_every_;
  v1::Mensaje message_;
};

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
std::optional<Run> RunPair(ServerApi server_api, ClientApi client_api) {
  const int64_t messages = absl::GetFlag(FLAGS_messages);
  int port_pipe[2], result_pipe[2];
  if (pipe(port_pipe) != 0 || pipe(result_pipe) != 0) return std::nullopt;
  const pid_t server = Spawn([&] {
    FloorServer::Run(server_api, [&](int port) {
      (void)!write(port_pipe[1], &port, sizeof(port));
    });
    return 0;
  });
  int port = 0;
  close(port_pipe[1]);
  const bool listening =
      read(port_pipe[0], &port, sizeof(port)) == sizeof(port) && port > 0;
  close(port_pipe[0]);
  const pid_t client = Spawn([&] {
    if (!listening) return 1;
    FloorClient floor_client(port, messages, absl::GetFlag(FLAGS_payload_bytes),
                             absl::GetFlag(FLAGS_flush_every));
    const absl::Time start = absl::Now();
    const uint64_t received = floor_client.Run(client_api);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    if (received != static_cast<uint64_t>(messages)) {
      std::fprintf(
          stderr,
          "grpc_floor_benchmark: the server counted %lu of %ld messages\n",
          static_cast<unsigned long>(received), static_cast<long>(messages));
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
  return Run{messages / seconds, CpuSeconds(server_usage),
             CpuSeconds(client_usage)};
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle]
                           : (values[middle - 1] + values[middle]) / 2;
}

int RunFloorBenchmark() {
  const int64_t messages = absl::GetFlag(FLAGS_messages);
  const int repetitions = absl::GetFlag(FLAGS_repetitions);
  if (messages < 1 || repetitions < 1 || absl::GetFlag(FLAGS_flush_every) < 1 ||
      absl::GetFlag(FLAGS_payload_bytes) < 0) {
    std::fprintf(stderr,
                 "grpc_floor_benchmark: --messages, --repetitions and "
                 "--flush_every must be >= 1, --payload_bytes >= 0\n");
    return 2;
  }
  std::printf(
      "%ld messages of %ld bytes per run, median of %d runs\n\n"
      "| server API | client API | msgs/s | server CPU us/msg | client CPU "
      "us/msg |\n|---|---|---:|---:|---:|\n",
      static_cast<long>(messages),
      static_cast<long>(absl::GetFlag(FLAGS_payload_bytes)), repetitions);
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
  for (const auto& pair : pairs) {
    std::vector<double> rates, server_cpu, client_cpu;
    for (int i = 0; i < repetitions; ++i) {
      std::optional<Run> run = RunPair(pair.server, pair.client);
      if (!run) return 1;
      rates.push_back(run->messages_per_second);
      server_cpu.push_back(run->server_cpu_seconds);
      client_cpu.push_back(run->client_cpu_seconds);
    }
    const double per_message = 1e6 / messages;
    std::printf("| %s | %s | %.0f | %.2f | %.2f |\n", pair.server_name,
                pair.client_name, Median(rates),
                Median(server_cpu) * per_message,
                Median(client_cpu) * per_message);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace messaging

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return messaging::RunFloorBenchmark();
}
