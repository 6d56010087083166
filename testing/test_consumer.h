// An in-process consumer on an ephemeral loopback port, and single
// producer streams into it, for tests.
//
// Usage:
//   TestConsumer consumer = TestConsumer::Start();
//   ConsumerStubs stubs(consumer.NewChannel());
//   TestStream stream(&stubs, options);
//   absl::StatusOr<v1::ConsumeSummary> summary = stream.Await();
#ifndef TESTING_TEST_CONSUMER_H_
#define TESTING_TEST_CONSUMER_H_

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "consumer_service/consumer_server.h"
#include "grpcpp/channel.h"
#include "producer_service/consumer_stubs.h"
#include "producer_service/produce_stream.h"
#include "producer_service/producer_options.h"
#include "producer_service/production.h"

namespace messaging {

class TestConsumer {
 public:
  // Starts a consumer on 127.0.0.1:0 with `options` (their address is
  // replaced); per-message lines go to `console` when not null. Aborts the
  // test binary if the server cannot start.
  static TestConsumer Start(ConsumerOptions options = QuietOptions(),
                            std::ostream* console = nullptr);

  static ConsumerOptions QuietOptions();

  ConsumerServer& server() { return *server_; }
  const std::string& target() const { return target_; }
  // A new channel (and so a new connection) to the consumer.
  std::shared_ptr<grpc::Channel> NewChannel() const;

 private:
  std::unique_ptr<ConsumerServer> server_;
  std::string target_;
};

// The consumer's GetStats, on a new channel; fails the test on an error.
v1::ConsumerStats GetStats(const TestConsumer& consumer);
// GetStats once every stream has ended: a client sees its status slightly
// before the consumer has counted the stream (waits up to 5 s).
v1::ConsumerStats StatsWhenIdle(const TestConsumer& consumer);

// Writes `messages` on one Consume stream with the synchronous API, closes
// it, and returns the final status; the summary goes to `summary`.
grpc::Status SendOnOneStream(v1::ConsumerService::Stub& stub,
                             const std::vector<v1::Mensaje>& messages,
                             v1::ConsumeSummary* summary);

// One stream of `options.count` messages from `first_sequence`, started
// at construction: Consume, or ConsumeBatches when options.batch_size > 1.
class TestStream {
 public:
  TestStream(ConsumerStubs* stubs, const ProducerOptions& options,
             std::ostream* console = nullptr, uint64_t first_sequence = 0)
      : production_(options, first_sequence),
        call_(StartProduceStream(stubs, &production_, options, console)) {}

  absl::StatusOr<v1::ConsumeSummary> Await() { return call_->Await(); }
  void Stop() {
    production_.Stop();
    call_->WakeUp();
  }
  Production& production() { return production_; }

 private:
  Production production_;
  std::unique_ptr<ProduceCall> call_;
};

}  // namespace messaging

#endif  // TESTING_TEST_CONSUMER_H_
