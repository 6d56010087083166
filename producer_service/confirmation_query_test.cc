#include "producer_service/confirmation_query.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "producer_service/producer_options.h"
#include "producer_service/production.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"

namespace messaging {
namespace {

// A consumer that answers every GetProducerState as it is told.
class StateService final : public v1::ConsumerService::CallbackService {
 public:
  void AnswerWith(const grpc::Status& status, const v1::ProducerState& state) {
    absl::MutexLock lock(&mutex_);
    status_ = status;
    state_ = state;
  }
  std::string last_producer_id() {
    absl::MutexLock lock(&mutex_);
    return last_producer_id_;
  }

  grpc::ServerUnaryReactor* GetProducerState(
      grpc::CallbackServerContext* context,
      const v1::GetProducerStateRequest* request,
      v1::ProducerState* response) override {
    absl::MutexLock lock(&mutex_);
    last_producer_id_ = request->producer_id();
    *response = state_;
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(status_);
    return reactor;
  }

 private:
  absl::Mutex mutex_;
  grpc::Status status_ ABSL_GUARDED_BY(mutex_);
  v1::ProducerState state_ ABSL_GUARDED_BY(mutex_);
  std::string last_producer_id_ ABSL_GUARDED_BY(mutex_);
};

// Counts what a stream would be told.
class CountingCallbacks final : public ConfirmationQuery::Callbacks {
 public:
  void OnQueryStarted() override {
    absl::MutexLock lock(&mutex_);
    ++started_;
  }
  void OnQueryAnswered() override {
    absl::MutexLock lock(&mutex_);
    ++answered_;
  }

  int started() {
    absl::MutexLock lock(&mutex_);
    return started_;
  }
  // Whether `count` answers came within a few seconds.
  bool AwaitAnswers(int count) {
    absl::MutexLock lock(&mutex_);
    auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return answered_ >= count;
    };
    return mutex_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
  }

 private:
  absl::Mutex mutex_;
  int started_ ABSL_GUARDED_BY(mutex_) = 0;
  int answered_ ABSL_GUARDED_BY(mutex_) = 0;
};

v1::ProducerState State(bool known, uint64_t next_sequence) {
  v1::ProducerState state;
  state.set_known(known);
  state.set_next_sequence(next_sequence);
  return state;
}

ProducerOptions Options(int64_t max_unconfirmed) {
  ProducerOptions options;
  options.producer_id = "asker";
  options.count = 100;
  options.max_unconfirmed = max_unconfirmed;
  options.batch_size = 2;
  return options;
}

// What a batch stream holds: its production, `batches` batches of two
// messages of it sent, and the confirmation beside it.
struct Stream {
  Stream(v1::ConsumerService::Stub* stub, int64_t max_unconfirmed, int batches,
         ConfirmationQuery::Callbacks* callbacks)
      : production(Options(max_unconfirmed), 0),
        confirmation(stub, &production, max_unconfirmed, callbacks) {
    production.StartStream();
    for (int i = 0; i < batches; ++i) SendBatch();
  }

  void SendBatch() {
    EXPECT_EQ(production.ProduceIntoOpenBatch(nullptr, absl::Now(), 2), 2u);
    production.SealOpenBatch();
  }

  Production production;
  ConfirmationQuery confirmation;
};

class ConfirmationQueryTest : public testing::Test {
 protected:
  ConfirmationQueryTest() {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::ConsumerService::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                            grpc::InsecureChannelCredentials()));
  }
  ~ConfirmationQueryTest() override { server_->Shutdown(); }

  StateService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::ConsumerService::Stub> stub_;
  CountingCallbacks callbacks_;
};

TEST_F(ConfirmationQueryTest, AsksOnceAQuarterOfTheLimitWaits) {
  // A quarter of the limit: 4.
  Stream stream(stub_.get(), /*max_unconfirmed=*/16, /*batches=*/1,
                &callbacks_);  // 0-1
  Production& production = stream.production;
  ConfirmationQuery& confirmation = stream.confirmation;
  confirmation.MaybeAsk(absl::Now());
  EXPECT_EQ(callbacks_.started(), 0);

  stream.SendBatch();  // 2-3
  service_.AnswerWith(grpc::Status::OK, State(true, 3));
  confirmation.MaybeAsk(absl::Now());
  EXPECT_EQ(callbacks_.started(), 1);
  ASSERT_TRUE(callbacks_.AwaitAnswers(1));
  EXPECT_EQ(service_.last_producer_id(), "asker");
  EXPECT_TRUE(confirmation.answered());
  EXPECT_EQ(production.unconfirmed(), 4u);  // not before TakeAnswer

  confirmation.TakeAnswer(absl::Now());
  EXPECT_FALSE(confirmation.answered());
  // 0-1 are dropped whole; 2, confirmed too, stays in its batch with 3.
  EXPECT_EQ(production.unconfirmed(), 2u);
  EXPECT_EQ(production.first_unconfirmed_sequence(), 2u);
}

TEST_F(ConfirmationQueryTest, BelowTheLimitThereIsNothingToWaitFor) {
  Stream stream(stub_.get(), /*max_unconfirmed=*/16, /*batches=*/1,
                &callbacks_);
  EXPECT_EQ(stream.confirmation.ResumeAt(absl::Now()), std::nullopt);
  EXPECT_EQ(callbacks_.started(), 0);
}

TEST_F(ConfirmationQueryTest, AtTheLimitAFailedQueryClosesTheStream) {
  Stream stream(stub_.get(), /*max_unconfirmed=*/4, /*batches=*/2, &callbacks_);
  Production& production = stream.production;
  ConfirmationQuery& confirmation = stream.confirmation;
  ASSERT_TRUE(production.HeldBackByLimit());
  service_.AnswerWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"),
                      State(true, 4));

  const absl::Time start = absl::Now();
  // Waits for the answer of the query it starts.
  EXPECT_EQ(confirmation.ResumeAt(start), absl::InfiniteFuture());
  EXPECT_EQ(callbacks_.started(), 1);
  ASSERT_TRUE(callbacks_.AwaitAnswers(1));
  confirmation.TakeAnswer(start);
  EXPECT_EQ(production.unconfirmed(), 4u);
  EXPECT_EQ(confirmation.ResumeAt(start + absl::Milliseconds(5)), std::nullopt);
  EXPECT_EQ(callbacks_.started(), 1);
}

TEST_F(ConfirmationQueryTest, AtTheLimitASecondWithoutConfirmationCloses) {
  Stream stream(stub_.get(), /*max_unconfirmed=*/4, /*batches=*/2, &callbacks_);
  Production& production = stream.production;
  ConfirmationQuery& confirmation = stream.confirmation;
  // A consumer that does not know the producer confirms nothing, whatever
  // its next sequence.
  service_.AnswerWith(grpc::Status::OK, State(false, 4));

  const absl::Time start = absl::Now();
  EXPECT_EQ(confirmation.ResumeAt(start), absl::InfiniteFuture());
  ASSERT_TRUE(callbacks_.AwaitAnswers(1));
  confirmation.TakeAnswer(start);
  EXPECT_EQ(production.unconfirmed(), 4u);
  // The next query waits its turn, then is asked.
  EXPECT_EQ(confirmation.ResumeAt(start), start + absl::Milliseconds(1));
  const absl::Time later = start + absl::Milliseconds(500);
  EXPECT_EQ(confirmation.ResumeAt(later), absl::InfiniteFuture());
  ASSERT_TRUE(callbacks_.AwaitAnswers(2));
  confirmation.TakeAnswer(later);
  EXPECT_EQ(callbacks_.started(), 2);
  // Still nothing confirmed, a second after the first answer.
  EXPECT_EQ(confirmation.ResumeAt(start + absl::Milliseconds(1500)),
            std::nullopt);
}

}  // namespace
}  // namespace messaging
