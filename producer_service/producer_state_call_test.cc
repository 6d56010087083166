#include "producer_service/producer_state_call.h"

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
#include "protos/messaging/v1/messaging.grpc.pb.h"

namespace messaging {
namespace {

// A consumer that knows every producer, ten sequences in.
class StateService final : public v1::ConsumerService::CallbackService {
  grpc::ServerUnaryReactor* GetProducerState(
      grpc::CallbackServerContext* context,
      const v1::GetProducerStateRequest* request,
      v1::ProducerState* response) override {
    response->set_known(request->producer_id() == "known");
    response->set_next_sequence(10);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// Keeps the one outcome it is told.
class Outcome final : public ProducerStateCall::Callbacks {
 public:
  void OnProducerState(const grpc::Status& status,
                       const v1::ProducerState& state) override {
    absl::MutexLock lock(&mutex_);
    status_ = status;
    state_ = state;
  }
  // The outcome, if it came within a few seconds.
  std::optional<grpc::Status> Await(v1::ProducerState* state) {
    absl::MutexLock lock(&mutex_);
    auto told = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return status_.has_value();
    };
    if (!mutex_.AwaitWithTimeout(absl::Condition(&told), absl::Seconds(10))) {
      return std::nullopt;
    }
    *state = state_;
    return status_;
  }

 private:
  absl::Mutex mutex_;
  std::optional<grpc::Status> status_ ABSL_GUARDED_BY(mutex_);
  v1::ProducerState state_ ABSL_GUARDED_BY(mutex_);
};

std::unique_ptr<v1::ConsumerService::Stub> StubFor(int port) {
  return v1::ConsumerService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

TEST(ProducerStateCallTest, TellsTheConsumersAnswer) {
  StateService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  std::unique_ptr<v1::ConsumerService::Stub> stub = StubFor(port);

  Outcome outcome;
  StartProducerStateCall(stub.get(), "known", absl::Now() + absl::Seconds(10),
                         /*wait_for_ready=*/true, &outcome);
  v1::ProducerState state;
  const std::optional<grpc::Status> status = outcome.Await(&state);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->ok()) << status->error_message();
  EXPECT_TRUE(state.known());
  EXPECT_EQ(state.next_sequence(), 10u);
  server->Shutdown();
}

// A port that was free a moment ago: nothing listens there.
int UnusedPort() {
  StateService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  builder.BuildAndStart()->Shutdown();
  return port;
}

TEST(ProducerStateCallTest, WaitingForReadyRunsIntoTheDeadline) {
  std::unique_ptr<v1::ConsumerService::Stub> stub = StubFor(UnusedPort());
  Outcome outcome;
  StartProducerStateCall(stub.get(), "known",
                         absl::Now() + absl::Milliseconds(200),
                         /*wait_for_ready=*/true, &outcome);
  v1::ProducerState state;
  const std::optional<grpc::Status> status = outcome.Await(&state);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST(ProducerStateCallTest, WithoutWaitingFailsAtOnceAsUnavailable) {
  std::unique_ptr<v1::ConsumerService::Stub> stub = StubFor(UnusedPort());
  Outcome outcome;
  StartProducerStateCall(stub.get(), "known", absl::Now() + absl::Seconds(10),
                         /*wait_for_ready=*/false, &outcome);
  v1::ProducerState state;
  const std::optional<grpc::Status> status = outcome.Await(&state);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace messaging
