#include "producer_service/produce_stream.h"

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/metadata_keys.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "producer_service/consumer_stubs.h"
#include "producer_service/producer_options.h"
#include "producer_service/production.h"
#include "protos/messaging/v1/messaging.pb.h"
#include "protos/messaging/v1/wire/byte_buffers.h"
#include "protos/messaging/v1/wire/method_paths.h"

namespace messaging {
namespace {

// A consumer stand-in: takes the raw streams, records the method and the
// sequences of the last one, and answers with a summary once the producer has
// closed; or, when told to refuse, refuses every stream at once with a
// retry pushback.
class FakeConsumer final : public grpc::CallbackGenericService {
 public:
  void RefuseWithPushback(absl::string_view millis) {
    absl::MutexLock lock(&mutex_);
    refusal_pushback_ = std::string(millis);
  }
  std::string method() {
    absl::MutexLock lock(&mutex_);
    return method_;
  }
  std::vector<uint64_t> sequences() {
    absl::MutexLock lock(&mutex_);
    return sequences_;
  }
  // Whether `count` messages came within a few seconds.
  bool AwaitMessages(size_t count) {
    absl::MutexLock lock(&mutex_);
    auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return sequences_.size() >= count;
    };
    return mutex_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
  }

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return new Reactor(this, context);
  }

 private:
  class Reactor final : public grpc::ServerGenericBidiReactor {
   public:
    Reactor(FakeConsumer* owner, grpc::GenericCallbackServerContext* context)
        : owner_(owner), batches_(context->method() == ConsumeBatchesPath()) {
      absl::MutexLock lock(&owner_->mutex_);
      owner_->method_ = context->method();
      owner_->sequences_.clear();
      if (!owner_->refusal_pushback_.empty()) {
        context->AddTrailingMetadata(kRetryPushbackKey,
                                     owner_->refusal_pushback_);
        Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            "too many streams"));
        return;
      }
      StartRead(&request_);
    }

    void OnReadDone(bool ok) override {
      if (ok) {
        Record();
        StartRead(&request_);
        return;
      }
      // The producer closed the stream: the summary.
      v1::ConsumeSummary summary;
      {
        absl::MutexLock lock(&owner_->mutex_);
        summary.set_messages_received(owner_->sequences_.size());
        if (!owner_->sequences_.empty()) {
          summary.set_next_sequence(owner_->sequences_.back() + 1);
        }
      }
      answer_ = ByteBufferOf(summary.SerializeAsString());
      StartWriteAndFinish(&answer_, grpc::WriteOptions(), grpc::Status::OK);
    }

    void OnDone() override { delete this; }

   private:
    void Record() {
      grpc::Slice slice;
      ASSERT_TRUE(ContiguousSlice(request_, &slice));
      v1::MensajeBatch batch;
      if (batches_) {
        ASSERT_TRUE(batch.ParseFromArray(slice.begin(), slice.size()));
      } else {
        ASSERT_TRUE(
            batch.add_messages()->ParseFromArray(slice.begin(), slice.size()));
      }
      absl::MutexLock lock(&owner_->mutex_);
      for (const v1::Mensaje& message : batch.messages()) {
        owner_->sequences_.push_back(message.sequence());
      }
    }

    FakeConsumer* const owner_;
    const bool batches_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer answer_;
  };

  absl::Mutex mutex_;
  std::string refusal_pushback_ ABSL_GUARDED_BY(mutex_);
  std::string method_ ABSL_GUARDED_BY(mutex_);
  std::vector<uint64_t> sequences_ ABSL_GUARDED_BY(mutex_);
};

class ProduceStreamTest : public testing::Test {
 protected:
  ProduceStreamTest() {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterCallbackGenericService(&consumer_);
    server_ = builder.BuildAndStart();
    stubs_ = std::make_unique<ConsumerStubs>(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  ~ProduceStreamTest() override { server_->Shutdown(); }

  static ProducerOptions Options(int64_t count, int64_t batch_size) {
    ProducerOptions options;
    options.producer_id = "streamer";
    options.count = count;
    options.batch_size = batch_size;
    options.interval = absl::ZeroDuration();
    return options;
  }

  FakeConsumer consumer_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ConsumerStubs> stubs_;
};

TEST_F(ProduceStreamTest, TheBatchSizePicksTheRpc) {
  const struct {
    int64_t batch_size;
    const std::string& path;
  } cases[] = {{1, ConsumePath()}, {3, ConsumeBatchesPath()}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    const ProducerOptions options = Options(7, c.batch_size);
    Production production(options, 0);
    std::ostringstream console;
    std::unique_ptr<ProduceCall> call =
        StartProduceStream(stubs_.get(), &production, options, &console);
    absl::StatusOr<v1::ConsumeSummary> summary = call->Await();
    ASSERT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->next_sequence(), 7u);
    EXPECT_EQ(consumer_.method(), c.path);
    std::vector<uint64_t> sequences;
    std::string lines;
    for (int i = 0; i < 7; ++i) {
      sequences.push_back(i);
      absl::StrAppend(&lines, "Produciendo: Mensaje ", i, "\n");
    }
    EXPECT_EQ(consumer_.sequences(), sequences);
    EXPECT_EQ(console.str(), lines);
  }
}

TEST_F(ProduceStreamTest, NoConsoleLinesWithoutPrintMessages) {
  ProducerOptions options = Options(3, 1);
  options.print_messages = false;
  Production production(options, 0);
  std::ostringstream console;
  std::unique_ptr<ProduceCall> call =
      StartProduceStream(stubs_.get(), &production, options, &console);
  ASSERT_TRUE(call->Await().ok());
  EXPECT_EQ(consumer_.sequences(), (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(console.str(), "");
}

TEST_F(ProduceStreamTest, ARefusalKeepsTheConsumersRetryPushback) {
  consumer_.RefuseWithPushback("1500");
  const ProducerOptions options = Options(3, 1);
  Production production(options, 0);
  std::unique_ptr<ProduceCall> call =
      StartProduceStream(stubs_.get(), &production, options, nullptr);
  const absl::StatusOr<v1::ConsumeSummary> summary = call->Await();
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kResourceExhausted)
      << summary.status();
  EXPECT_EQ(call->retry_pushback(), absl::Milliseconds(1500));
}

TEST_F(ProduceStreamTest, WakeUpEndsAPauseOnceTheProductionIsStopped) {
  ProducerOptions options = Options(10, 1);
  options.interval = absl::Hours(1);
  Production production(options, 0);
  std::unique_ptr<ProduceCall> call =
      StartProduceStream(stubs_.get(), &production, options, nullptr);
  ASSERT_TRUE(consumer_.AwaitMessages(1));
  // The stream now sleeps until the next message is due, in an hour.
  EXPECT_FALSE(call->WaitUntil(absl::Now() + absl::Milliseconds(50)));
  const absl::Time stopped = absl::Now();
  production.Stop();
  call->WakeUp();
  EXPECT_TRUE(call->WaitUntil(absl::Now() + absl::Seconds(10)));
  const absl::StatusOr<v1::ConsumeSummary> summary = call->Await();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_LT(absl::Now() - stopped, absl::Seconds(5));
  EXPECT_EQ(summary->next_sequence(), 1u);
  EXPECT_EQ(consumer_.sequences(), (std::vector<uint64_t>{0}));
}

}  // namespace
}  // namespace messaging
