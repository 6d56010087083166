// An in-process consumer on an ephemeral loopback port, for tests.
//
// Usage:
//   TestConsumer consumer = TestConsumer::Start();
//   auto stub = messaging::v1::ConsumerService::NewStub(consumer.channel());
#ifndef TESTS_TEST_CONSUMER_H_
#define TESTS_TEST_CONSUMER_H_

#include <memory>
#include <ostream>
#include <string>

#include "consumer_service/consumer_server.h"
#include "grpcpp/channel.h"

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

}  // namespace messaging

#endif  // TESTS_TEST_CONSUMER_H_
