// The bounds on what a producer makes the consumer keep: producer ids of
// at most 256 bytes, sequences below 2^63 (so a producer's next sequence
// never wraps), and at most --max_producers producer ids. Each breach is a
// precise status; nothing of it is kept, and the producers within the
// bounds carry on.
#include <cstdlib>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "consumer_service/log_reader.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "testing/mensajes.h"
#include "testing/test_consumer.h"

namespace messaging {
namespace {

using testing::HasSubstr;

constexpr uint64_t kSequenceLimit = uint64_t{1} << 63;

class BoundedInputTest : public testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        testing::UnitTest::GetInstance()->current_test_info()->name());
    ConsumerOptions options = TestConsumer::QuietOptions();
    options.data_dir = data_dir_;
    options.max_producers = 3;
    consumer_.emplace(TestConsumer::Start(options));
    stub_ = v1::ConsumerService::NewStub(consumer_->NewChannel());
  }

  grpc::Status Send(const std::vector<v1::Mensaje>& messages,
                    v1::ConsumeSummary* summary = nullptr) {
    v1::ConsumeSummary unused;
    return SendOnOneStream(*stub_, messages, summary ? summary : &unused);
  }

  grpc::Status SendBatch(const v1::MensajeBatch& batch) {
    grpc::ClientContext context;
    v1::ConsumeSummary summary;
    auto writer = stub_->ConsumeBatches(&context, &summary);
    writer->Write(batch);
    writer->WritesDone();
    return writer->Finish();
  }

  grpc::Status State(const std::string& producer_id, v1::ProducerState* state) {
    grpc::ClientContext context;
    v1::GetProducerStateRequest request;
    request.set_producer_id(producer_id);
    return stub_->GetProducerState(&context, request, state);
  }

  // The producers the consumer tracks, in id order (one page holds them).
  v1::ListProducersResponse Producers() {
    grpc::ClientContext context;
    v1::ListProducersRequest request;
    request.set_page_size(1000);
    v1::ListProducersResponse producers;
    EXPECT_TRUE(stub_->ListProducers(&context, request, &producers).ok());
    return producers;
  }

  v1::ConsumerStats Stats() {
    grpc::ClientContext context;
    v1::ConsumerStats stats;
    EXPECT_TRUE(stub_->GetStats(&context, v1::GetStatsRequest(), &stats).ok());
    return stats;
  }

  // Producer id -> sequences in the log, after the consumer stopped.
  std::map<std::string, std::vector<uint64_t>> Logged() {
    consumer_.reset();
    std::map<std::string, std::vector<uint64_t>> logged;
    absl::StatusOr<uint64_t> read =
        ReadLogDirectory(data_dir_, [&](const v1::Mensaje& message, uint64_t) {
          logged[message.producer_id()].push_back(message.sequence());
        });
    EXPECT_TRUE(read.ok()) << read.status();
    return logged;
  }

  std::string data_dir_;
  std::optional<TestConsumer> consumer_;
  std::unique_ptr<v1::ConsumerService::Stub> stub_;
};

TEST_F(BoundedInputTest,
       ProducerIdOver256BytesIsInvalidArgumentNamingTheLimit) {
  const std::string huge(1 << 20, 'x');
  const std::string expected =
      "Mensaje.producer_id in message 0 of the stream is 1048576 bytes; "
      "producer ids are at most 256 bytes";
  grpc::Status consumed = Send(DemoMensajes(huge, 0, 3));
  EXPECT_EQ(consumed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(consumed.error_message(), expected);
  grpc::Status batched = SendBatch(DemoBatch(huge, 0, 3));
  EXPECT_EQ(batched.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(batched.error_message(), expected);

  v1::ProducerState state;
  grpc::Status asked = State(huge, &state);
  EXPECT_EQ(asked.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(asked.error_message(),
            "GetProducerStateRequest.producer_id is 1048576 bytes; producer "
            "ids are at most 256 bytes");

  // 257 bytes is one too many; 256 is fine.
  EXPECT_EQ(Send(DemoMensajes(std::string(257, 'y'), 0, 1)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(Send(DemoMensajes(std::string(256, 'y'), 0, 2)).ok());
  // A long id after a valid one is refused for its size, not echoed back.
  std::vector<v1::Mensaje> changed = DemoMensajes("short", 0, 1);
  changed.push_back(DemoMensaje(huge, 1));
  grpc::Status switched = Send(changed);
  EXPECT_EQ(switched.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(switched.error_message(),
            "Mensaje.producer_id in message 1 of the stream is 1048576 bytes; "
            "producer ids are at most 256 bytes");

  // Only the valid ones are kept.
  EXPECT_EQ(Stats().producers_tracked(), 2u);
  const v1::ListProducersResponse producers = Producers();
  ASSERT_EQ(producers.producers_size(), 2);
  EXPECT_EQ(producers.producers(0).producer_id(), "short");
  EXPECT_EQ(producers.producers(1).producer_id(), std::string(256, 'y'));
  std::map<std::string, std::vector<uint64_t>> logged = Logged();
  EXPECT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[std::string(256, 'y')], (std::vector<uint64_t>{0, 1}));
}

TEST_F(BoundedInputTest, SequenceAtOrAbove2To63IsInvalidArgumentAndNeverWraps) {
  for (uint64_t sequence :
       {std::numeric_limits<uint64_t>::max(), kSequenceLimit}) {
    grpc::Status status = Send({DemoMensaje("top", sequence)});
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(),
              absl::StrCat("Mensaje.sequence ", sequence,
                           " in message 0 of the stream is not below 2^63 "
                           "(9223372036854775808), the end of every "
                           "producer's sequence; start a new producer id"));
  }
  v1::ProducerState state;
  ASSERT_TRUE(State("top", &state).ok());
  EXPECT_FALSE(state.known());

  // The last sequence there is: accepted, and then the producer's sequence
  // is at its end.
  v1::ConsumeSummary summary;
  ASSERT_TRUE(Send({DemoMensaje("top", kSequenceLimit - 2),
                    DemoMensaje("top", kSequenceLimit - 1)},
                   &summary)
                  .ok());
  EXPECT_EQ(summary.next_sequence(), kSequenceLimit);
  grpc::Status past = Send({DemoMensaje("top", kSequenceLimit)});
  EXPECT_EQ(past.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Nothing wrapped to 0: a message 0 is a duplicate, not a new start.
  ASSERT_TRUE(Send({DemoMensaje("top", 0)}, &summary).ok());
  EXPECT_EQ(summary.duplicates_dropped(), 1u);
  ASSERT_TRUE(State("top", &state).ok());
  EXPECT_EQ(state.next_sequence(), kSequenceLimit);

  EXPECT_EQ(Logged()["top"],
            (std::vector<uint64_t>{kSequenceLimit - 2, kSequenceLimit - 1}));
}

TEST_F(BoundedInputTest, NewProducerIdPastMaxProducersIsResourceExhausted) {
  for (const char* id : {"p1", "p2", "p3"}) {
    ASSERT_TRUE(Send(DemoMensajes(id, 0, 2)).ok()) << id;
  }
  grpc::Status refused = Send(DemoMensajes("p4", 0, 2));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(refused.error_message(),
            "the consumer already tracks 3 producer ids (--max_producers); "
            "new producer id 'p4' refused, the known ones go on");
  grpc::Status batched = SendBatch(DemoBatch("p5", 0, 2));
  EXPECT_EQ(batched.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  // The known ids keep working, and asking about a new id keeps nothing.
  v1::ProducerState state;
  ASSERT_TRUE(State("p4", &state).ok());
  EXPECT_FALSE(state.known());
  v1::ConsumeSummary summary;
  ASSERT_TRUE(Send(DemoMensajes("p2", 2, 3), &summary).ok());
  EXPECT_EQ(summary.next_sequence(), 5u);
  EXPECT_EQ(Stats().producers_tracked(), 3u);

  std::map<std::string, std::vector<uint64_t>> logged = Logged();
  EXPECT_EQ(logged.size(), 3u);
  EXPECT_EQ(logged["p2"], (std::vector<uint64_t>{0, 1, 2, 3, 4}));
}

TEST_F(BoundedInputTest, MaxProducersHoldsAfterARestart) {
  for (const char* id : {"p1", "p2", "p3"}) {
    ASSERT_TRUE(Send(DemoMensajes(id, 0, 1)).ok()) << id;
  }
  consumer_.reset();
  ConsumerOptions options = TestConsumer::QuietOptions();
  options.data_dir = data_dir_;
  options.max_producers = 3;
  consumer_.emplace(TestConsumer::Start(options));
  stub_ = v1::ConsumerService::NewStub(consumer_->NewChannel());
  EXPECT_EQ(Send(DemoMensajes("p4", 0, 1)).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(Send(DemoMensajes("p1", 1, 1)).ok());
}

}  // namespace
}  // namespace messaging
