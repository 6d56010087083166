// An in-process consumer on an ephemeral loopback port, and single
// producer streams into it, for tests.
//
// Usage:
//   TestConsumer consumer = TestConsumer::Start();
//   auto stub = v1::ConsumerService::NewStub(consumer.NewChannel());
//   TestStream stream(stub.get(), options);
//   absl::StatusOr<v1::ConsumeSummary> summary = stream.Await();
#ifndef TESTS_TEST_CONSUMER_H_
#define TESTS_TEST_CONSUMER_H_

#include <memory>
#include <ostream>
#include <string>

#include "consumer_service/consumer_server.h"
#include "grpcpp/channel.h"
#include "producer_service/producer.h"

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

// One Consume stream of `options.count` messages from `first_sequence`,
// started at construction.
class TestStream {
 public:
  TestStream(v1::ConsumerService::Stub* stub, const ProducerOptions& options,
             std::ostream* console = nullptr, uint64_t first_sequence = 0)
      : production_(options, first_sequence),
        reactor_(stub, &production_, options.interval,
                 options.print_messages ? console : nullptr) {}

  absl::StatusOr<v1::ConsumeSummary> Await() { return reactor_.Await(); }
  void Stop() {
    production_.Stop();
    reactor_.WakeUp();
  }
  Production& production() { return production_; }
  ProduceReactor& reactor() { return reactor_; }

 private:
  Production production_;
  ProduceReactor reactor_;
};

}  // namespace messaging

#endif  // TESTS_TEST_CONSUMER_H_
