// What gRPC itself costs per message on this machine: the floor under the
// per-message rows of //benchmarks. A bare server that only counts the
// Mensaje reads of each Consume stream, and a bare client that writes them
// as fast as gRPC takes them over --streams streams of one channel, as two
// processes on loopback. No validation, no accounting, no log: what is left
// is gRPC's per-message path, for each of its server APIs (callback, async
// completion queue) with each of its client APIs (callback, sync).
//
//   bazel run -c opt //benchmarks:grpc_floor_benchmark -- --streams=1,1000
//
// Prints messages/s and each process's CPU per message, medians of the
// repetitions; exits 1 if a run loses messages or fails.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"

ABSL_FLAG(int64_t, messages, 1'000'000, "Messages per run.");
ABSL_FLAG(int, repetitions, 3, "Runs of each pair; medians are printed.");
ABSL_FLAG(int64_t, payload_bytes, 64, "Payload of each message.");
ABSL_FLAG(std::vector<std::string>, streams,
          std::vector<std::string>({"1", "1000"}),
          "Concurrent streams on the client's one channel, a comma-separated "
          "list; each count is a row per pair of APIs.");
ABSL_FLAG(int, flush_every, 256,
          "The client sends every this many messages and gives gRPC the "
          "buffer hint on the others, as the producer coalesces writes.");

namespace messaging {
namespace {

enum class ServerApi { kCallback, kAsync };
enum class ClientApi { kCallback, kSync };

// Counts the reads of each Consume stream and answers with the count, until
// `streams` streams have ended.
class FloorServer {
 public:
  // `on_listening` gets the port once the server is up.
  static void Run(ServerApi api, int streams,
                  const std::function<void(int)>& on_listening) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    if (api == ServerApi::kCallback) {
      CallbackService service;
      builder.RegisterService(&service);
      std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
      on_listening(port);
      service.AwaitStreams(streams);
      server->Shutdown();
    } else {
      v1::ConsumerService::AsyncService service;
      builder.RegisterService(&service);
      std::unique_ptr<grpc::ServerCompletionQueue> queue =
          builder.AddCompletionQueue();
      std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
      on_listening(port);
      ServeAsync(&service, queue.get(), streams);
      server->Shutdown();
      queue->Shutdown();
      void* tag;
      bool ok;
      while (queue->Next(&tag, &ok)) {
        static_cast<AsyncCall*>(tag)->Proceed(false);
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

    void AwaitStreams(int streams) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return finished_ >= streams; });
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
        ++service->finished_;
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
    int finished_ = 0;
  };

  // One stream on the completion queue, its own tag. Each read completes
  // on the thread that polls the queue, with no hand-off between threads.
  class AsyncCall {
   public:
    AsyncCall(v1::ConsumerService::AsyncService* service,
              grpc::ServerCompletionQueue* queue, int* finished)
        : finished_(finished) {
      service->RequestConsume(&context_, &reader_, queue, queue, this);
    }

    // Takes the call's next step once its last operation completed; true
    // if it was the arrival of a new stream.
    bool Proceed(bool ok) {
      switch (state_) {
        case State::kRequested:
          if (!ok) break;
          state_ = State::kReading;
          reader_.Read(&message_, this);
          return true;
        case State::kReading:
          if (ok) {
            ++received_;
            reader_.Read(&message_, this);
            return false;
          }
          state_ = State::kFinishing;
          summary_.set_messages_received(received_);
          reader_.Finish(summary_, grpc::Status::OK, this);
          return false;
        case State::kFinishing:
          ++*finished_;
          break;
      }
      delete this;
      return false;
    }

   private:
    enum class State { kRequested, kReading, kFinishing };
    int* const finished_;
    grpc::ServerContext context_;
    grpc::ServerAsyncReader<v1::ConsumeSummary, v1::Mensaje> reader_{&context_};
    v1::Mensaje message_;
    v1::ConsumeSummary summary_;
    uint64_t received_ = 0;
    State state_ = State::kRequested;
  };

  static void ServeAsync(v1::ConsumerService::AsyncService* service,
                         grpc::ServerCompletionQueue* queue, int streams) {
    int finished = 0;
    int requested = 1;
    new AsyncCall(service, queue, &finished);
    void* tag;
    bool ok;
    while (finished < streams && queue->Next(&tag, &ok)) {
      if (static_cast<AsyncCall*>(tag)->Proceed(ok) && requested < streams) {
        new AsyncCall(service, queue, &finished);
        ++requested;
      }
    }
  }
};

// One producer's messages, each with its own sequence, text and time as
// the producer's, written with the buffer hint but every --flush_every.
class MessageSource {
 public:
  MessageSource(int64_t payload_bytes, int flush_every)
      : flush_every_(flush_every) {
    message_.set_producer_id("floor");
    message_.set_payload(std::string(payload_bytes, 'x'));
  }

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

 private:
  const int flush_every_;
  v1::Mensaje message_;
};

// Writes `messages` messages into one Consume stream from its own thread.
uint64_t WriteSync(v1::ConsumerService::Stub* stub, int64_t messages,
                   MessageSource* source) {
  grpc::ClientContext context;
  v1::ConsumeSummary summary;
  std::unique_ptr<grpc::ClientWriter<v1::Mensaje>> writer =
      stub->Consume(&context, &summary);
  for (int64_t i = 0;
       i < messages && writer->Write(source->Next(i), source->Options(i));
       ++i) {
  }
  writer->WritesDone();
  return writer->Finish().ok() ? summary.messages_received() : 0;
}

// Writes `messages` messages into one Consume stream from gRPC's threads.
class CallbackWriter : public grpc::ClientWriteReactor<v1::Mensaje> {
 public:
  CallbackWriter(v1::ConsumerService::Stub* stub, int64_t messages,
                 MessageSource* source)
      : messages_(messages), source_(source) {
    stub->async()->Consume(&context_, &summary_, this);
    WriteOrClose();
    StartCall();
  }

  void OnWriteDone(bool ok) override {
    if (ok) WriteOrClose();
  }

  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(mutex_);
    received_ = status.ok() ? summary_.messages_received() : 0;
    done_ = true;
    finished_.notify_one();
  }

  // The messages the server counted, once the stream has ended.
  uint64_t Await() {
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [this] { return done_; });
    return received_;
  }

 private:
  void WriteOrClose() {
    if (written_ == messages_) {
      StartWritesDone();
      return;
    }
    // OnWriteDone may run on another thread as soon as StartWrite is
    // called: count the write first.
    const int64_t sequence = written_++;
    StartWrite(&source_->Next(sequence), source_->Options(sequence));
  }

  const int64_t messages_;
  MessageSource* const source_;
  grpc::ClientContext context_;
  v1::ConsumeSummary summary_;
  int64_t written_ = 0;
  std::mutex mutex_;
  std::condition_variable finished_;
  uint64_t received_ = 0;
  bool done_ = false;
};

// Sends `messages` in all over `streams` streams of one channel, as the
// producer's streams share its channel; returns the messages counted.
uint64_t RunClient(ClientApi api, int port, int streams, int64_t messages) {
  std::unique_ptr<v1::ConsumerService::Stub> stub =
      v1::ConsumerService::NewStub(
          grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                              grpc::InsecureChannelCredentials()));
  std::vector<std::unique_ptr<MessageSource>> sources;
  for (int i = 0; i < streams; ++i) {
    sources.push_back(std::make_unique<MessageSource>(
        absl::GetFlag(FLAGS_payload_bytes), absl::GetFlag(FLAGS_flush_every)));
  }
  const auto share = [&](int stream) {
    return messages / streams + (stream < messages % streams ? 1 : 0);
  };
  std::atomic<uint64_t> received{0};
  if (api == ClientApi::kSync) {
    std::vector<std::thread> threads;
    for (int i = 0; i < streams; ++i) {
      threads.emplace_back([&, i] {
        received += WriteSync(stub.get(), share(i), sources[i].get());
      });
    }
    for (std::thread& thread : threads) thread.join();
  } else {
    std::vector<std::unique_ptr<CallbackWriter>> writers;
    for (int i = 0; i < streams; ++i) {
      writers.push_back(std::make_unique<CallbackWriter>(stub.get(), share(i),
                                                         sources[i].get()));
    }
    for (auto& writer : writers) received += writer->Await();
  }
  return received;
}

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
                           int streams) {
  const int64_t messages = absl::GetFlag(FLAGS_messages);
  int port_pipe[2];
  if (pipe(port_pipe) != 0) return std::nullopt;
  const pid_t server = Spawn([&] {
    FloorServer::Run(server_api, streams, [&](int port) {
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
    const absl::Time start = absl::Now();
    const uint64_t received = RunClient(client_api, port, streams, messages);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    if (received != static_cast<uint64_t>(messages)) {
      std::fprintf(stderr,
                   "grpc_floor_benchmark: the server counted %lu of %ld "
                   "messages\n",
                   static_cast<unsigned long>(received),
                   static_cast<long>(messages));
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
  std::vector<int> stream_counts;
  for (const std::string& text : absl::GetFlag(FLAGS_streams)) {
    int streams;
    if (!absl::SimpleAtoi(text, &streams) || streams < 1 ||
        streams > messages) {
      stream_counts.clear();
      break;
    }
    stream_counts.push_back(streams);
  }
  if (messages < 1 || repetitions < 1 || stream_counts.empty() ||
      absl::GetFlag(FLAGS_flush_every) < 1 ||
      absl::GetFlag(FLAGS_payload_bytes) < 0) {
    std::fprintf(stderr,
                 "grpc_floor_benchmark: --messages, --repetitions and "
                 "--flush_every must be >= 1, --payload_bytes >= 0, and "
                 "--streams a list of counts from 1 to --messages\n");
    return 2;
  }
  std::printf(
      "%ld messages of %ld bytes per run, median of %d runs\n\n"
      "| streams | server API | client API | msgs/s | server CPU us/msg | "
      "client CPU us/msg |\n|---:|---|---|---:|---:|---:|\n",
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
  for (const int streams : stream_counts) {
    for (const auto& pair : pairs) {
      std::vector<double> rates, server_cpu, client_cpu;
      for (int i = 0; i < repetitions; ++i) {
        std::optional<Run> run = RunPair(pair.server, pair.client, streams);
        if (!run) return 1;
        rates.push_back(run->messages_per_second);
        server_cpu.push_back(run->server_cpu_seconds);
        client_cpu.push_back(run->client_cpu_seconds);
      }
      const double per_message = 1e6 / messages;
      std::printf("| %d | %s | %s | %.0f | %.2f | %.2f |\n", streams,
                  pair.server_name, pair.client_name, Median(rates),
                  Median(server_cpu) * per_message,
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
