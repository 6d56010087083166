// TLS and mutual TLS between the real binaries, with a throw-away PKI made
// at test time by make_test_certs.sh.
#include <signal.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/subprocess.h"

namespace messaging {
namespace {

using testing::ContainsRegex;
using testing::HasSubstr;

// The producer's line when it gave up connecting (--connect_timeout=2s).
constexpr char kNotReachable[] = "is not reachable after 2s";

// gRPC's line for a failed TLS handshake, with OpenSSL's reason in it.
testing::Matcher<std::string> HandshakeFailed(const std::string& reason) {
  return ContainsRegex("Handshake failed[^\n]*" + reason);
}

class TlsTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new std::string(absl::StrCat(std::getenv("TEST_TMPDIR"), "/pki"));
    Subprocess make = Subprocess::Start({"/bin/mkdir", "-p", *certs_});
    ASSERT_EQ(make.Wait(), 0);
    Subprocess pki = Subprocess::Start(
        {"/bin/bash", RunfilePath("tests/make_test_certs.sh"), *certs_});
    ASSERT_EQ(pki.WaitOrKill(absl::Seconds(60)), 0) << pki.Stderr();
  }

  static std::string Cert(const std::string& name) {
    return absl::StrCat(*certs_, "/", name);
  }

  static std::vector<std::string> ServerTls() {
    return {"--tls_cert=" + Cert("server.pem"),
            "--tls_key=" + Cert("server.key")};
  }

  // Runs the producer against `consumer` with `flags` to its end.
  static Subprocess Produce(const ConsumerProcess& consumer,
                            std::vector<std::string> flags) {
    std::vector<std::string> argv = {
        RunfilePath("producer_service/producer_service"),
        absl::StrCat("--target=localhost:", consumer.port()),
        "--count=3",
        "--interval=0",
        "--connect_timeout=2s",
        "--producer_id=tls"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    Subprocess producer = Subprocess::Start(argv);
    producer.WaitOrKill(absl::Seconds(60));
    return producer;
  }

  // Expects `consumer` to log that it refused a handshake for `reason`;
  // waits for the line, which is written while the producer retries.
  static void ExpectConsumerRefused(ConsumerProcess& consumer,
                                    const std::string& reason) {
    EXPECT_TRUE(consumer.process().WaitForStderr(reason, absl::Seconds(10)))
        << "no line with: " << reason;
    EXPECT_THAT(consumer.process().Stderr(), HandshakeFailed(reason));
  }

  static std::string* certs_;
};

std::string* TlsTest::certs_ = nullptr;

TEST_F(TlsTest, ProducerVerifiesTheConsumerOverTls) {
  ConsumerProcess consumer = ConsumerProcess::Start(ServerTls());
  EXPECT_THAT(consumer.process().Stderr(), HasSubstr("(TLS)"));
  Subprocess producer =
      Produce(consumer, {"--tls", "--tls_ca=" + Cert("ca.pem")});
  EXPECT_EQ(producer.Wait(), 0) << producer.Stderr();
  EXPECT_THAT(producer.Stdout(), HasSubstr("Consumer summary: 3 messages"));
}

TEST_F(TlsTest, PlaintextProducerCannotTalkToATlsConsumer) {
  ConsumerProcess consumer = ConsumerProcess::Start(ServerTls());
  Subprocess producer = Produce(consumer, {});
  EXPECT_EQ(producer.Wait(), 1);
  EXPECT_THAT(producer.Stderr(), HasSubstr(kNotReachable));
  // Plaintext HTTP/2 is no TLS record: the consumer says so.
  ExpectConsumerRefused(consumer, "wrong version number");
}

TEST_F(TlsTest, ProducerRefusesAConsumerItsCaDidNotSign) {
  ConsumerProcess consumer = ConsumerProcess::Start(ServerTls());
  Subprocess producer =
      Produce(consumer, {"--tls", "--tls_ca=" + Cert("rogue-ca.pem")});
  EXPECT_EQ(producer.Wait(), 1);
  EXPECT_THAT(producer.Stderr(), HandshakeFailed("certificate verify failed"));
  EXPECT_THAT(producer.Stderr(), HasSubstr(kNotReachable));
}

TEST_F(TlsTest, MutualTlsAcceptsAClientCertificateFromTheTrustedCa) {
  std::vector<std::string> flags = ServerTls();
  flags.push_back("--tls_client_ca=" + Cert("ca.pem"));
  ConsumerProcess consumer = ConsumerProcess::Start(flags);
  EXPECT_THAT(consumer.process().Stderr(), HasSubstr("(mutual TLS)"));
  EXPECT_EQ(Produce(consumer, {"--tls", "--tls_ca=" + Cert("ca.pem"),
                               "--tls_cert=" + Cert("client.pem"),
                               "--tls_key=" + Cert("client.key")})
                .Wait(),
            0);
}

TEST_F(TlsTest, MutualTlsRefusesAClientWithoutCertificate) {
  std::vector<std::string> flags = ServerTls();
  flags.push_back("--tls_client_ca=" + Cert("ca.pem"));
  ConsumerProcess consumer = ConsumerProcess::Start(flags);
  Subprocess producer =
      Produce(consumer, {"--tls", "--tls_ca=" + Cert("ca.pem")});
  EXPECT_EQ(producer.Wait(), 1);
  EXPECT_THAT(producer.Stderr(), HasSubstr(kNotReachable));
  ExpectConsumerRefused(consumer, "peer did not return a certificate");
}

TEST_F(TlsTest, MutualTlsRefusesACertificateFromAnotherCa) {
  std::vector<std::string> flags = ServerTls();
  flags.push_back("--tls_client_ca=" + Cert("ca.pem"));
  ConsumerProcess consumer = ConsumerProcess::Start(flags);
  Subprocess producer =
      Produce(consumer, {"--tls", "--tls_ca=" + Cert("ca.pem"),
                         "--tls_cert=" + Cert("rogue-client.pem"),
                         "--tls_key=" + Cert("rogue-client.key")});
  EXPECT_EQ(producer.Wait(), 1);
  EXPECT_THAT(producer.Stderr(), HasSubstr(kNotReachable));
  ExpectConsumerRefused(consumer, "certificate verify failed");
}

TEST_F(TlsTest, MissingKeyFileIsOneClearLine) {
  Subprocess consumer = Subprocess::Start(
      {RunfilePath("consumer_service/consumer_service"),
       "--address=127.0.0.1:0", "--tls_cert=" + Cert("server.pem"),
       "--tls_key=" + Cert("no-such.key")});
  EXPECT_EQ(consumer.WaitOrKill(absl::Seconds(30)), 1);
  EXPECT_THAT(consumer.Stderr(),
              HasSubstr("cannot read --tls_key=" + Cert("no-such.key")));
  const std::string stderr_lines = consumer.Stderr();
  EXPECT_EQ(std::count(stderr_lines.begin(), stderr_lines.end(), '\n'), 1)
      << stderr_lines;
}

}  // namespace
}  // namespace messaging
