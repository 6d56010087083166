// Bad and hostile input against a consumer with a durable log: each case
// gets a clear status or a closed connection, and afterwards the consumer
// still serves a well-behaved producer, whose messages, sent before and
// after, are in the log exactly once, as are the bad producer's messages
// that came before its bad one.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "consumer_service/log_reader.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "testing/mensajes.h"
#include "testing/test_consumer.h"

namespace messaging {
namespace {

// A TCP connection that speaks no gRPC.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address),
                         sizeof(address)) == 0;
  }
  ~RawConnection() { close(fd_); }

  bool connected() const { return connected_; }
  void Send(const std::string& bytes) {
    send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
  // Whether the consumer closes the connection within `timeout` (whatever
  // it sends first, such as an HTTP/2 GOAWAY, is read and ignored).
  bool ClosedByPeerWithin(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    char buffer[4096];
    while (absl::Now() < deadline) {
      pollfd readable{fd_, POLLIN, 0};
      if (poll(&readable, 1, 50) <= 0) continue;
      if (recv(fd_, buffer, sizeof(buffer), 0) <= 0) return true;
    }
    return false;
  }

 private:
  const int fd_;
  bool connected_ = false;
};

class HostileInputTest : public testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        testing::UnitTest::GetInstance()->current_test_info()->name());
    ConsumerOptions options = TestConsumer::QuietOptions();
    options.data_dir = data_dir_;
    options.max_message_bytes = 1024;
    options.handshake_timeout = absl::Milliseconds(300);
    options.limits.idle_timeout = absl::Milliseconds(300);
    consumer_.emplace(TestConsumer::Start(options));
    stub_ = v1::ConsumerService::NewStub(consumer_->NewChannel());
    ASSERT_TRUE(Send(DemoMensajes("good", 0, 10)).ok());
  }

  // The consumer still serves the good producer, and the log holds its 20
  // messages and the bad producer's accepted ones exactly once.
  void TearDown() override {
    v1::ConsumeSummary summary;
    ASSERT_TRUE(Send(DemoMensajes("good", 10, 10), &summary).ok());
    EXPECT_EQ(summary.messages_received(), 10u);

    std::map<std::string, std::map<uint64_t, int>> logged;
    ASSERT_TRUE(
        ReadLogDirectory(data_dir_, [&](const v1::Mensaje& message, uint64_t) {
          ++logged[message.producer_id()][message.sequence()];
        }).ok());
    std::map<uint64_t, int> once;
    for (uint64_t sequence = 0; sequence < 20; ++sequence) once[sequence] = 1;
    EXPECT_EQ(logged["good"], once);
    std::map<uint64_t, int> bad_once;
    for (uint64_t sequence = 0; sequence < bad_accepted_; ++sequence) {
      bad_once[sequence] = 1;
    }
    EXPECT_EQ(logged["bad"], bad_once);
  }

  grpc::Status Send(const std::vector<v1::Mensaje>& messages,
                    v1::ConsumeSummary* summary = nullptr) {
    v1::ConsumeSummary unused;
    return SendOnOneStream(*stub_, messages, summary ? summary : &unused);
  }

  std::string data_dir_;
  std::optional<TestConsumer> consumer_;
  std::unique_ptr<v1::ConsumerService::Stub> stub_;
  // How many of the "bad" producer's messages came before its bad one.
  uint64_t bad_accepted_ = 0;
};

TEST_F(HostileInputTest, OversizedMessageIsResourceExhausted) {
  std::vector<v1::Mensaje> messages = DemoMensajes("bad", 0, 2);
  messages.push_back(
      DemoMensaje("bad", 2, {/*payload=*/std::string(4096, 'x')}));
  bad_accepted_ = 2;
  EXPECT_EQ(Send(messages).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(HostileInputTest, MissingProducerIdIsInvalidArgumentNamingTheField) {
  std::vector<v1::Mensaje> messages = DemoMensajes("bad", 0, 3);
  messages.push_back(DemoMensaje("", 3));
  bad_accepted_ = 3;
  grpc::Status status = Send(messages);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("Mensaje.producer_id"),
            std::string::npos);
}

TEST_F(HostileInputTest, UndecodableMessageIsInvalidArgumentNamingTheType) {
  std::vector<v1::Mensaje> messages = DemoMensajes("bad", 0, 3);
  // protobuf sends a string that is not UTF-8 (after logging an error), but
  // proto3 refuses to parse one.
  messages.push_back(DemoMensaje("bad", 3));
  messages.back().set_text("Mensaje \xff");
  messages.push_back(DemoMensaje("bad", 4));
  bad_accepted_ = 3;
  grpc::Status status = Send(messages);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("message 4 of the stream is not a "
                                        "valid messaging.v1.Mensaje"),
            std::string::npos)
      << status.error_message();
}

TEST_F(HostileInputTest, SequenceGapIsFailedPrecondition) {
  std::vector<v1::Mensaje> messages = DemoMensajes("bad", 0, 4);
  messages.push_back(DemoMensaje("bad", 9));
  bad_accepted_ = 4;
  EXPECT_EQ(Send(messages).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(HostileInputTest, SequenceGoingBackwardsIsDroppedAsDuplicate) {
  std::vector<v1::Mensaje> messages = DemoMensajes("bad", 0, 5);
  messages.push_back(DemoMensaje("bad", 2));
  messages.push_back(DemoMensaje("bad", 5));
  bad_accepted_ = 6;
  v1::ConsumeSummary summary;
  ASSERT_TRUE(Send(messages, &summary).ok());
  EXPECT_EQ(summary.messages_received(), 6u);
  EXPECT_EQ(summary.duplicates_dropped(), 1u);
}

TEST_F(HostileInputTest, IdleStreamIsEnded) {
  grpc::ClientContext context;
  v1::ConsumeSummary summary;
  auto writer = stub_->Consume(&context, &summary);
  ASSERT_TRUE(writer->Write(DemoMensaje("bad", 0)));
  bad_accepted_ = 1;
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_F(HostileInputTest, ClientCancellingMidStreamKeepsWhatWasAccepted) {
  grpc::ClientContext context;
  v1::ConsumeSummary summary;
  auto writer = stub_->Consume(&context, &summary);
  for (uint64_t sequence = 0; sequence < 3; ++sequence) {
    ASSERT_TRUE(writer->Write(DemoMensaje("bad", sequence)));
  }
  bad_accepted_ = 3;
  // Wait until the three are accepted, then walk away.
  for (int i = 0; i < 500; ++i) {
    if (consumer_->server().ledger().Lookup("bad").next_sequence == 3) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  context.TryCancel();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(HostileInputTest, RawGarbageGetsTheConnectionClosed) {
  RawConnection garbage(consumer_->server().port());
  ASSERT_TRUE(garbage.connected());
  std::string bytes(4096, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<char>(i * 7919 % 251);
  }
  garbage.Send(bytes);
  EXPECT_TRUE(garbage.ClosedByPeerWithin(absl::Seconds(5)));
}

TEST_F(HostileInputTest, Http1RequestGetsTheConnectionClosed) {
  RawConnection http(consumer_->server().port());
  ASSERT_TRUE(http.connected());
  http.Send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_TRUE(http.ClosedByPeerWithin(absl::Seconds(5)));
}

TEST_F(HostileInputTest, PeerThatNeverSpeaksIsDroppedAfterTheHandshakeTimeout) {
  RawConnection silent(consumer_->server().port());
  ASSERT_TRUE(silent.connected());
  // Meanwhile a good stream is served as usual.
  ASSERT_TRUE(Send({DemoMensaje("bad", 0)}).ok());
  bad_accepted_ = 1;
  EXPECT_TRUE(silent.ClosedByPeerWithin(absl::Seconds(5)));
}

}  // namespace
}  // namespace messaging
