#include "benchmarks/floor_server.h"

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "grpcpp/grpcpp.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"

namespace messaging {
namespace {

using v1::ConsumerService;

// What a stream's reads add up to, and the answer that says so.
class Tally {
 public:
  void Add(const v1::Mensaje&) { ++reads_; }
  // Length() is the buffer's size as received, known without a look at
  // its bytes.
  void Add(const grpc::ByteBuffer& batch) {
    ++reads_;
    bytes_ += batch.Length();
  }

  void Answer(v1::ConsumeSummary* summary) const {
    summary->set_messages_received(reads_);
    summary->set_bytes_received(bytes_);
  }
  void Answer(grpc::ByteBuffer* summary) const {
    v1::ConsumeSummary typed;
    Answer(&typed);
    const std::string bytes = typed.SerializeAsString();
    grpc::Slice slice(bytes);
    *summary = grpc::ByteBuffer(&slice, 1);
  }

 private:
  uint64_t reads_ = 0;
  uint64_t bytes_ = 0;
};

// Consume typed, ConsumeBatches raw: the batches' bytes are never parsed.
class CallbackService
    : public ConsumerService::WithRawCallbackMethod_ConsumeBatches<
          ConsumerService::CallbackService> {
 public:
  grpc::ServerReadReactor<v1::Mensaje>* Consume(
      grpc::CallbackServerContext*, v1::ConsumeSummary* summary) override {
    return new Counter<v1::Mensaje, v1::ConsumeSummary>(this, summary);
  }

  grpc::ServerReadReactor<grpc::ByteBuffer>* ConsumeBatches(
      grpc::CallbackServerContext*, grpc::ByteBuffer* summary) override {
    return new Counter<grpc::ByteBuffer, grpc::ByteBuffer>(this, summary);
  }

  void AwaitStreams(int streams) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return finished_ >= streams; });
  }

 private:
  template <typename Request, typename Summary>
  class Counter : public grpc::ServerReadReactor<Request> {
   public:
    Counter(CallbackService* service, Summary* summary)
        : service_(service), summary_(summary) {
      this->StartRead(&message_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) {
        tally_.Answer(summary_);
        this->Finish(grpc::Status::OK);
        return;
      }
      tally_.Add(message_);
      this->StartRead(&message_);
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
    Summary* const summary_;
    Request message_;
    Tally tally_;
  };

  std::mutex mutex_;
  std::condition_variable done_;
  int finished_ = 0;
};

using AsyncService = ConsumerService::WithRawMethod_ConsumeBatches<
    ConsumerService::AsyncService>;

// What the streams on one completion queue share.
struct AsyncServing {
  AsyncService* service;
  grpc::ServerCompletionQueue* queue;
  int streams;  // to serve in all
  int arrived = 0;
  int finished = 0;
};

// One stream on the completion queue, its own tag.
class AsyncStep {
 public:
  virtual ~AsyncStep() = default;
  // Takes the call's next step once its last operation completed.
  virtual void Proceed(bool ok) = 0;
};

void RequestCall(
    AsyncServing* serving, grpc::ServerContext* context,
    grpc::ServerAsyncReader<v1::ConsumeSummary, v1::Mensaje>* reader,
    void* tag) {
  serving->service->RequestConsume(context, reader, serving->queue,
                                   serving->queue, tag);
}
void RequestCall(
    AsyncServing* serving, grpc::ServerContext* context,
    grpc::ServerAsyncReader<grpc::ByteBuffer, grpc::ByteBuffer>* reader,
    void* tag) {
  serving->service->RequestConsumeBatches(context, reader, serving->queue,
                                          serving->queue, tag);
}

// One stream of either method. Each read completes on the thread that
// polls the queue, with no hand-off between threads.
template <typename Request, typename Summary>
class AsyncCall : public AsyncStep {
 public:
  explicit AsyncCall(AsyncServing* serving) : serving_(serving) {
    RequestCall(serving, &context_, &reader_, this);
  }

  void Proceed(bool ok) override {
    switch (state_) {
      case State::kRequested:
        if (!ok) break;
        // The next stream of this method, while more are to come.
        if (++serving_->arrived < serving_->streams) new AsyncCall(serving_);
        state_ = State::kReading;
        reader_.Read(&message_, this);
        return;
      case State::kReading:
        if (ok) {
          tally_.Add(message_);
          reader_.Read(&message_, this);
          return;
        }
        state_ = State::kFinishing;
        tally_.Answer(&summary_);
        reader_.Finish(summary_, grpc::Status::OK, this);
        return;
      case State::kFinishing:
        ++serving_->finished;
        break;
    }
    delete this;
  }

 private:
  enum class State { kRequested, kReading, kFinishing };
  AsyncServing* const serving_;
  grpc::ServerContext context_;
  grpc::ServerAsyncReader<Summary, Request> reader_{&context_};
  Request message_;
  Summary summary_;
  Tally tally_;
  State state_ = State::kRequested;
};

// Serves `serving->streams` streams of either method until all have ended.
void ServeAsync(AsyncServing* serving) {
  new AsyncCall<v1::Mensaje, v1::ConsumeSummary>(serving);
  new AsyncCall<grpc::ByteBuffer, grpc::ByteBuffer>(serving);
  void* tag;
  bool ok;
  while (serving->finished < serving->streams &&
         serving->queue->Next(&tag, &ok)) {
    static_cast<AsyncStep*>(tag)->Proceed(ok);
  }
}

}  // namespace

void RunFloorServer(ServerApi api, int streams,
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
    return;
  }
  AsyncService service;
  builder.RegisterService(&service);
  std::unique_ptr<grpc::ServerCompletionQueue> queue =
      builder.AddCompletionQueue();
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  on_listening(port);
  AsyncServing serving{&service, queue.get(), streams};
  ServeAsync(&serving);
  server->Shutdown();
  queue->Shutdown();
  // The calls still requested come back failed, and free themselves.
  void* tag;
  bool ok;
  while (queue->Next(&tag, &ok)) static_cast<AsyncStep*>(tag)->Proceed(false);
}

}  // namespace messaging
