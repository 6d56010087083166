// TLS and mutual TLS between the real binaries, with a throw-away PKI made
// at test time by make_test_certs.sh.
#include <signal.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/subprocess.h"

namespace messaging {
namespace {

using testing::HasSubstr;

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
  EXPECT_EQ(Produce(consumer, {}).Wait(), 1);
}

TEST_F(TlsTest, ProducerRefusesAConsumerItsCaDidNotSign) {
  ConsumerProcess consumer = ConsumerProcess::Start(ServerTls());
  EXPECT_EQ(
      Produce(consumer, {"--tls", "--tls_ca=" + Cert("rogue-ca.pem")}).Wait(),
      1);
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
  EXPECT_THAT(producer.Stderr(), HasSubstr("not reachable"));
}

TEST_F(TlsTest, MutualTlsRefusesACertificateFromAnotherCa) {
  std::vector<std::string> flags = ServerTls();
  flags.push_back("--tls_client_ca=" + Cert("ca.pem"));
  ConsumerProcess consumer = ConsumerProcess::Start(flags);
  EXPECT_EQ(Produce(consumer, {"--tls", "--tls_ca=" + Cert("ca.pem"),
                               "--tls_cert=" + Cert("rogue-client.pem"),
                               "--tls_key=" + Cert("rogue-client.key")})
                .Wait(),
            1);
}

TEST_F(TlsTest, MissingKeyFileIsOneClearLine) {
  Subprocess consumer = Subprocess::Start(
      {RunfilePath("consumer_service/consumer_service"),
       "--address=127.0.0.1:0", "--tls_cert=" + Cert("server.pem"),
       "--tls_key=" + Cert("no-such.key")});
  EXPECT_EQ(consumer.WaitOrKill(absl::Seconds(30)), 1);
  EXPECT_THAT(consumer.Stderr(), HasSubstr("--tls_key="));
}

}  // namespace
}  // namespace messaging
