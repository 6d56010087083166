#include "benchmarks/floor_client.h"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmarks/flush_policy.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/rpc_method.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"
#include "protos/messaging/v1/wire/mensaje_encoder.h"
#include "protos/messaging/v1/wire/method_paths.h"

namespace messaging {
namespace {

// One Consume stream's writes: each message with its own sequence, text and
// time, as the producer's.
class MessageSource {
 public:
  using Request = v1::Mensaje;

  MessageSource(int64_t messages, const FloorLoad& load)
      : messages_(messages), flush_(load.flush_every, load.flush_delay) {
    message_.set_producer_id("floor");
    message_.set_payload(std::string(load.payload_bytes, 'x'));
  }

  int64_t writes() const { return messages_; }
  // What the server answers for a stream of them: it counts no bytes.
  uint64_t bytes() const { return 0; }

  const v1::Mensaje& Next(int64_t index) {
    message_.set_sequence(index);
    message_.set_text(absl::StrCat("Mensaje ", index));
    *message_.mutable_created_at() =
        google::protobuf::util::TimeUtil::GetCurrentTime();
    return message_;
  }

  grpc::WriteOptions Options(int64_t index) {
    return flush_.OptionsOfWrite(index, index + 1, absl::Now());
  }

 private:
  const int64_t messages_;
  FlushPolicy flush_;
  v1::Mensaje message_;
};

// MensajeBatch bytes of one producer, encoded once per size: a stream's
// writes are its full batch, again and again, and then what is left.
class BatchBuffers {
 public:
  explicit BatchBuffers(int64_t payload_bytes)
      : encoder_("floor", payload_bytes) {}

  // A MensajeBatch of `count` messages, sequences from 0, one created_at:
  // the server decodes none of it.
  const grpc::ByteBuffer& Of(int count) {
    grpc::ByteBuffer& buffer = buffers_[count];
    if (buffer.Length() == 0 && count > 0) {
      std::string bytes(count * encoder_.max_encoded_size(), '\0');
      char* end = bytes.data();
      const absl::Time now = absl::Now();
      for (int i = 0; i < count; ++i) {
        end = encoder_.Encode(i, now, MensajeEncoder::kBatchElement, end);
      }
      grpc::Slice slice(bytes.data(), end - bytes.data());
      buffer = grpc::ByteBuffer(&slice, 1);
    }
    return buffer;
  }

 private:
  MensajeEncoder encoder_;
  std::map<int, grpc::ByteBuffer> buffers_;
};

// One ConsumeBatches stream's writes. Each is the same buffer, whose copy
// into a write shares its slice: no byte is encoded or copied per write.
class BatchSource {
 public:
  using Request = grpc::ByteBuffer;

  BatchSource(int64_t messages, const FloorLoad& load, BatchBuffers* buffers)
      : messages_(messages),
        batch_size_(load.batch_size),
        flush_(load.flush_every, load.flush_delay),
        full_writes_(messages / load.batch_size),
        batch_(buffers->Of(load.batch_size)),
        rest_(buffers->Of(messages % load.batch_size)) {}

  int64_t writes() const { return full_writes_ + (rest_.Length() ? 1 : 0); }
  uint64_t bytes() const {
    return full_writes_ * batch_.Length() + rest_.Length();
  }

  const grpc::ByteBuffer& Next(int64_t index) const {
    return index < full_writes_ ? batch_ : rest_;
  }

  grpc::WriteOptions Options(int64_t index) {
    const int64_t before = index * batch_size_;
    return flush_.OptionsOfWrite(
        before, std::min(before + batch_size_, messages_), absl::Now());
  }

 private:
  const int64_t messages_;
  const int64_t batch_size_;
  FlushPolicy flush_;
  const int64_t full_writes_;
  const grpc::ByteBuffer batch_;
  const grpc::ByteBuffer rest_;
};

// The two streaming calls. Consume through the generated stub;
// ConsumeBatches through the very calls the generated stub makes for it,
// with a grpc::ByteBuffer, which gRPC sends as it is, for the MensajeBatch
// it would serialize on every write: gRPC 1.51's public raw stub
// (GenericStub) has no blocking stream to measure the sync API with.
class FloorStub {
 public:
  explicit FloorStub(const std::shared_ptr<grpc::Channel>& channel)
      : channel_(channel),
        typed_(v1::ConsumerService::NewStub(channel)),
        consume_batches_(ConsumeBatchesPath().c_str(),
                         grpc::internal::RpcMethod::CLIENT_STREAMING, channel) {
  }

  void Open(grpc::ClientContext* context, v1::ConsumeSummary* summary,
            std::unique_ptr<grpc::ClientWriter<v1::Mensaje>>* writer) {
    *writer = typed_->Consume(context, summary);
  }
  void Open(grpc::ClientContext* context, v1::ConsumeSummary* summary,
            std::unique_ptr<grpc::ClientWriter<grpc::ByteBuffer>>* writer) {
    writer->reset(grpc::internal::ClientWriterFactory<grpc::ByteBuffer>::Create(
        channel_.get(), consume_batches_, context, summary));
  }

  void Start(grpc::ClientContext* context, v1::ConsumeSummary* summary,
             grpc::ClientWriteReactor<v1::Mensaje>* reactor) {
    typed_->async()->Consume(context, summary, reactor);
  }
  void Start(grpc::ClientContext* context, v1::ConsumeSummary* summary,
             grpc::ClientWriteReactor<grpc::ByteBuffer>* reactor) {
    grpc::internal::ClientCallbackWriterFactory<grpc::ByteBuffer>::Create(
        channel_.get(), consume_batches_, context, summary, reactor);
  }

 private:
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::ConsumerService::Stub> typed_;
  const grpc::internal::RpcMethod consume_batches_;
};

// Writes one stream from its own thread; the server's answer, empty if the
// stream failed.
template <typename Source>
v1::ConsumeSummary WriteSync(FloorStub* stub, Source* source) {
  grpc::ClientContext context;
  v1::ConsumeSummary summary;
  std::unique_ptr<grpc::ClientWriter<typename Source::Request>> writer;
  stub->Open(&context, &summary, &writer);
  for (int64_t i = 0; i < source->writes() &&
                      writer->Write(source->Next(i), source->Options(i));
       ++i) {
  }
  writer->WritesDone();
  return writer->Finish().ok() ? summary : v1::ConsumeSummary();
}

// Writes one stream from gRPC's threads.
template <typename Source>
class CallbackWriter
    : public grpc::ClientWriteReactor<typename Source::Request> {
 public:
  CallbackWriter(FloorStub* stub, Source* source) : source_(source) {
    stub->Start(&context_, &summary_, this);
    WriteOrClose();
    this->StartCall();
  }

  void OnWriteDone(bool ok) override {
    if (ok) WriteOrClose();
  }

  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!status.ok()) summary_.Clear();
    done_ = true;
    finished_.notify_one();
  }

  // The server's answer once the stream has ended, empty if it failed.
  v1::ConsumeSummary Await() {
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [this] { return done_; });
    return summary_;
  }

 private:
  void WriteOrClose() {
    if (written_ == source_->writes()) {
      this->StartWritesDone();
      return;
    }
    // OnWriteDone may run on another thread as soon as StartWrite is
    // called: count the write first.
    const int64_t index = written_++;
    this->StartWrite(&source_->Next(index), source_->Options(index));
  }

  Source* const source_;
  grpc::ClientContext context_;
  v1::ConsumeSummary summary_;
  int64_t written_ = 0;
  std::mutex mutex_;
  std::condition_variable finished_;
  bool done_ = false;
};

// Writes every source's stream at once; the sum of the server's answers.
template <typename Source>
v1::ConsumeSummary Send(ClientApi api, FloorStub* stub,
                        const std::vector<std::unique_ptr<Source>>& sources) {
  std::vector<v1::ConsumeSummary> answers(sources.size());
  if (api == ClientApi::kSync) {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < sources.size(); ++i) {
      threads.emplace_back(
          [&, i] { answers[i] = WriteSync(stub, sources[i].get()); });
    }
    for (std::thread& thread : threads) thread.join();
  } else {
    std::vector<std::unique_ptr<CallbackWriter<Source>>> writers;
    for (const std::unique_ptr<Source>& source : sources) {
      writers.push_back(
          std::make_unique<CallbackWriter<Source>>(stub, source.get()));
    }
    for (size_t i = 0; i < writers.size(); ++i) {
      answers[i] = writers[i]->Await();
    }
  }
  v1::ConsumeSummary total;
  for (const v1::ConsumeSummary& answer : answers) {
    total.set_messages_received(total.messages_received() +
                                answer.messages_received());
    total.set_bytes_received(total.bytes_received() + answer.bytes_received());
  }
  return total;
}

// Sends the sources' streams and checks that the server read every write
// and, for batches, every byte of them.
template <typename Source>
absl::Status SendAndCheck(ClientApi api, FloorStub* stub,
                          const std::vector<std::unique_ptr<Source>>& sources,
                          const FloorLoad& load) {
  uint64_t writes = 0, bytes = 0;
  for (const std::unique_ptr<Source>& source : sources) {
    writes += source->writes();
    bytes += source->bytes();
  }
  const v1::ConsumeSummary read = Send(api, stub, sources);
  if (read.messages_received() == writes && read.bytes_received() == bytes) {
    return absl::OkStatus();
  }
  if (load.batch_size == 0) {
    return absl::DataLossError(absl::StrCat("the server counted ",
                                            read.messages_received(), " of ",
                                            load.messages, " messages"));
  }
  return absl::DataLossError(absl::StrCat(
      "the server read ", read.messages_received(), " batches of ",
      read.bytes_received(), " bytes, but ", writes, " batches of ", bytes,
      " bytes (", load.messages, " messages) were written"));
}

}  // namespace

absl::Status RunFloorClient(ClientApi api, int port, const FloorLoad& load) {
  FloorStub stub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials()));
  const auto share = [&](int stream) {
    return load.messages / load.streams +
           (stream < load.messages % load.streams ? 1 : 0);
  };
  if (load.batch_size == 0) {
    std::vector<std::unique_ptr<MessageSource>> sources;
    for (int i = 0; i < load.streams; ++i) {
      sources.push_back(std::make_unique<MessageSource>(share(i), load));
    }
    return SendAndCheck(api, &stub, sources, load);
  }
  BatchBuffers buffers(load.payload_bytes);
  std::vector<std::unique_ptr<BatchSource>> sources;
  for (int i = 0; i < load.streams; ++i) {
    sources.push_back(std::make_unique<BatchSource>(share(i), load, &buffers));
  }
  return SendAndCheck(api, &stub, sources, load);
}

}  // namespace messaging
