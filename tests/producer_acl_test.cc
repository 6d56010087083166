// Producer ids bound to client certificates (--producer_acl), between the
// real binaries with a throw-away PKI (make_test_certs.sh): a client may
// not write, nor ask the state of, a producer id its certificate is not
// allowed; which name of a certificate is its identity; the ACL's start-up
// refusals and its reload on SIGHUP.
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "consumer_service/log_reader.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"
#include "testing/mensajes.h"
#include "testing/subprocess.h"

namespace messaging {
namespace {

using testing::HasSubstr;
using testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::trunc) << contents;
}

// The services' log lines in `stderr` ("<time> <LEVEL> ..."); not the
// report LeakSanitizer appends under --config=asan.
int LogLines(const std::string& stderr_text) {
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(stderr_text, '\n')) {
    lines += line.size() > 11 && absl::ascii_isdigit(line[0]) &&
             line[4] == '-' && line[10] == 'T';
  }
  return lines;
}

class ProducerAclTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(absl::StrCat(std::getenv("TEST_TMPDIR"), "/pki"));
    ASSERT_EQ(Subprocess::Start({"/bin/mkdir", "-p", *dir_}).Wait(), 0);
    Subprocess pki = Subprocess::Start(
        {"/bin/bash", RunfilePath("tests/make_test_certs.sh"), *dir_});
    ASSERT_EQ(pki.WaitOrKill(absl::Seconds(60)), 0) << pki.Stderr();
  }

  void SetUp() override {
    const std::string name =
        testing::UnitTest::GetInstance()->current_test_info()->name();
    acl_path_ = absl::StrCat(*dir_, "/", name, ".acl");
    data_dir_ = absl::StrCat(*dir_, "/", name, ".data");
    WriteFile(acl_path_,
              "# identity              producer id pattern\n"
              "spiffe://test/alice     alice\n"
              "spiffe://test/alice     alice-*\n"
              "\n"
              "mallory                 mallory-*\n");
  }

  static std::string Pki(const std::string& file) {
    return absl::StrCat(*dir_, "/", file);
  }

  static std::vector<std::string> MutualTls() {
    return {"--tls_cert=" + Pki("server.pem"), "--tls_key=" + Pki("server.key"),
            "--tls_client_ca=" + Pki("ca.pem")};
  }

  // A consumer with mutual TLS, a log, and the ACL of this test.
  ConsumerProcess StartConsumer() {
    std::vector<std::string> flags = MutualTls();
    flags.push_back("--producer_acl=" + acl_path_);
    flags.push_back("--data_dir=" + data_dir_);
    flags.push_back("--print_messages=false");
    return ConsumerProcess::Start(flags);
  }

  // A stub presenting the certificate `client` (alice, mallory...).
  static std::unique_ptr<v1::ConsumerService::Stub> StubAs(
      const ConsumerProcess& consumer, const std::string& client) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = ReadFile(Pki("ca.pem"));
    tls.pem_cert_chain = ReadFile(Pki(client + ".pem"));
    tls.pem_private_key = ReadFile(Pki(client + ".key"));
    // An address, not "localhost": no DNS resolver (c-ares) in the test.
    grpc::ChannelArguments arguments;
    arguments.SetSslTargetNameOverride("localhost");
    return v1::ConsumerService::NewStub(grpc::CreateCustomChannel(
        consumer.target(), grpc::SslCredentials(tls), arguments));
  }

  // Runs producer_service with the certificate `client` to its end.
  static Subprocess Produce(const ConsumerProcess& consumer,
                            const std::string& client,
                            const std::string& producer_id, int count) {
    Subprocess producer = Subprocess::Start(
        {RunfilePath("producer_service/producer_service"),
         absl::StrCat("--target=localhost:", consumer.port()),
         absl::StrCat("--count=", count), "--interval=0",
         "--print_messages=false", "--connect_timeout=10s",
         "--producer_id=" + producer_id, "--tls", "--tls_ca=" + Pki("ca.pem"),
         "--tls_cert=" + Pki(client + ".pem"),
         "--tls_key=" + Pki(client + ".key")});
    producer.WaitOrKill(absl::Seconds(60));
    return producer;
  }

  static grpc::Status ProducerState(v1::ConsumerService::Stub& stub,
                                    const std::string& producer_id,
                                    v1::ProducerState* state) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::GetProducerStateRequest request;
    request.set_producer_id(producer_id);
    return stub.GetProducerState(&context, request, state);
  }

  static std::string* dir_;
  std::string acl_path_;
  std::string data_dir_;
};

std::string* ProducerAclTest::dir_ = nullptr;

// Messages that are not the demo's, so that none can pass for alice's.
std::vector<v1::Mensaje> Forged(const std::string& producer_id, int count) {
  std::vector<v1::Mensaje> messages = DemoMensajes(producer_id, 0, count);
  for (v1::Mensaje& message : messages) {
    message.set_text("forged " + std::to_string(message.sequence()));
  }
  return messages;
}

TEST_F(ProducerAclTest, ImpersonationIsRefusedAndTheRealProducerDeliversAll) {
  ConsumerProcess consumer = StartConsumer();
  EXPECT_THAT(consumer.process().Stderr(), HasSubstr("(mutual TLS)"));
  EXPECT_THAT(consumer.process().Stderr(),
              HasSubstr("producer ACL " + acl_path_ + ": 3 rules"));
  std::unique_ptr<v1::ConsumerService::Stub> mallory =
      StubAs(consumer, "mallory");

  // Mallory streams 500 messages as alice, in the range alice will send.
  {
    grpc::ClientContext context;
    v1::ConsumeSummary summary;
    auto writer = mallory->Consume(&context, &summary);
    for (const v1::Mensaje& message : Forged("alice", 500)) {
      if (!writer->Write(message)) break;
    }
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(status.error_message(),
              "client certificate identity 'mallory' (subject CN) may not "
              "write producer id 'alice': no line of --producer_acl allows "
              "it; present a certificate the ACL allows for this id, or add "
              "a line '<identity> alice' to the ACL");
  }
  // The same as one batch.
  {
    grpc::ClientContext context;
    v1::ConsumeSummary summary;
    auto writer = mallory->ConsumeBatches(&context, &summary);
    v1::MensajeBatch batch;
    for (const v1::Mensaje& message : Forged("alice", 500)) {
      *batch.add_messages() = message;
    }
    writer->Write(batch);
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(status.error_message(), HasSubstr("'alice'"));
  }
  // Nor may mallory learn where alice stands.
  v1::ProducerState state;
  const grpc::Status asked = ProducerState(*mallory, "alice", &state);
  EXPECT_EQ(asked.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(asked.error_message(),
              HasSubstr("identity 'mallory' (subject CN) may not write "
                        "producer id 'alice'"));

  // producer_service as mallory, with alice's id: refused, final, one line.
  Subprocess impostor = Produce(consumer, "mallory", "alice", 500);
  EXPECT_EQ(impostor.Wait(), 1);
  EXPECT_THAT(impostor.Stderr(), HasSubstr("PERMISSION_DENIED: client "
                                           "certificate identity 'mallory'"));
  EXPECT_THAT(impostor.Stderr(), HasSubstr("not retrying"));
  EXPECT_THAT(impostor.Stderr(), Not(HasSubstr("retrying in")));
  EXPECT_EQ(LogLines(impostor.Stderr()), 1) << impostor.Stderr();

  // Alice sends all of hers, and nothing of mallory's is in her way.
  Subprocess alice = Produce(consumer, "alice", "alice", 500);
  EXPECT_EQ(alice.Wait(), 0) << alice.Stderr();
  EXPECT_THAT(alice.Stdout(),
              HasSubstr("Consumer summary: 500 messages, 5390 bytes, producer "
                        "alice, sequences 0..499"));
  EXPECT_THAT(alice.Stdout(), Not(HasSubstr("duplicates")));
  // Her own ids under the prefix rule work too.
  EXPECT_EQ(Produce(consumer, "alice", "alice-2", 3).Wait(), 0);
  // And mallory writes her own.
  EXPECT_EQ(Produce(consumer, "mallory", "mallory-1", 3).Wait(), 0);

  consumer.process().Signal(SIGTERM);
  ASSERT_EQ(consumer.process().WaitOrKill(absl::Seconds(30)), 0);
  std::map<std::string, std::vector<uint64_t>> logged;
  absl::StatusOr<uint64_t> read =
      ReadLogDirectory(data_dir_, [&](const v1::Mensaje& message, uint64_t) {
        EXPECT_THAT(message.text(), Not(HasSubstr("forged")));
        EXPECT_EQ(message.text(), absl::StrCat("Mensaje ", message.sequence()));
        logged[message.producer_id()].push_back(message.sequence());
      });
  ASSERT_TRUE(read.ok()) << read.status();
  std::vector<uint64_t> expected(500);
  for (uint64_t i = 0; i < expected.size(); ++i) expected[i] = i;
  EXPECT_EQ(logged["alice"], expected);
  EXPECT_EQ(logged["alice-2"], (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(logged["mallory-1"], (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(logged.size(), 3u);
}

// What gRPC 1.51 shows of a real certificate, and which name is taken: the
// first URI SAN, else the first DNS SAN, else the subject CN. The ACL
// allows none of these ids, so each refusal names the identity.
TEST_F(ProducerAclTest, IdentityIsFirstUriSanElseFirstDnsSanElseCommonName) {
  ConsumerProcess consumer = StartConsumer();
  const struct {
    const char* client;
    const char* identity;
  } cases[] = {
      // URI SANs spiffe://test/alice and spiffe://test/second, DNS SAN
      // alice.test, CN alice.
      {"alice", "'spiffe://test/alice' (URI SAN)"},
      // An email SAN (ignored), DNS SANs first.test and second.test.
      {"dns-client", "'first.test' (DNS SAN)"},
      // No SAN at all.
      {"mallory", "'mallory' (subject CN)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.client);
    v1::ProducerState state;
    const grpc::Status status =
        ProducerState(*StubAs(consumer, c.client), "nobody", &state);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(status.error_message(),
                HasSubstr(absl::StrCat("identity ", c.identity,
                                       " may not write producer id 'nobody'")));
  }
  // alice's second URI SAN and her CN are not her identity.
  WriteFile(acl_path_,
            "spiffe://test/second alice\n"
            "alice alice\n"
            "alice.test alice\n");
  consumer.process().Signal(SIGHUP);
  ASSERT_TRUE(consumer.process().WaitForStderr("reloaded", absl::Seconds(10)));
  v1::ProducerState state;
  EXPECT_EQ(
      ProducerState(*StubAs(consumer, "alice"), "alice", &state).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ProducerAclTest, AclNeedsMutualTls) {
  for (const std::vector<std::string>& transport :
       {std::vector<std::string>{},
        {"--tls_cert=" + Pki("server.pem"),
         "--tls_key=" + Pki("server.key")}}) {
    std::vector<std::string> argv = {
        RunfilePath("consumer_service/consumer_service"),
        "--address=127.0.0.1:0", "--producer_acl=" + acl_path_};
    argv.insert(argv.end(), transport.begin(), transport.end());
    Subprocess consumer = Subprocess::Start(argv);
    EXPECT_EQ(consumer.WaitOrKill(absl::Seconds(30)), 2);
    EXPECT_EQ(consumer.Stderr(),
              "consumer_service: --producer_acl needs mutual TLS: the ACL "
              "authorizes client certificates; set --tls_cert, --tls_key and "
              "--tls_client_ca\n");
  }
}

TEST_F(ProducerAclTest, BadAclIsOneLineAtStart) {
  WriteFile(acl_path_, "spiffe://test/alice alice\nmallory\n");
  std::vector<std::string> argv = {
      RunfilePath("consumer_service/consumer_service"), "--address=127.0.0.1:0",
      "--producer_acl=" + acl_path_};
  const std::vector<std::string> tls = MutualTls();
  argv.insert(argv.end(), tls.begin(), tls.end());
  Subprocess consumer = Subprocess::Start(argv);
  EXPECT_EQ(consumer.WaitOrKill(absl::Seconds(30)), 1);
  EXPECT_THAT(consumer.Stderr(),
              HasSubstr(absl::StrCat(
                  "--producer_acl=", acl_path_,
                  " line 2: expected '<identity> <producer id pattern>'")));
  EXPECT_EQ(LogLines(consumer.Stderr()), 1) << consumer.Stderr();

  argv[2] = "--producer_acl=" + acl_path_ + ".missing";
  Subprocess missing = Subprocess::Start(argv);
  EXPECT_EQ(missing.WaitOrKill(absl::Seconds(30)), 1);
  EXPECT_THAT(
      missing.Stderr(),
      HasSubstr("cannot read --producer_acl=" + acl_path_ + ".missing"));
  EXPECT_EQ(LogLines(missing.Stderr()), 1) << missing.Stderr();
}

TEST_F(ProducerAclTest, MutualTlsWithoutAclWarnsThatIdsAreNotAuthorized) {
  ConsumerProcess consumer = ConsumerProcess::Start(MutualTls());
  EXPECT_THAT(consumer.process().Stderr(),
              HasSubstr("WARNING mutual TLS without --producer_acl: producer "
                        "ids are not authorized"));
  // Unchanged behaviour: any certificate writes any id.
  EXPECT_EQ(Produce(consumer, "mallory", "alice", 3).Wait(), 0);
  // Plaintext and TLS without client certificates say nothing of it.
  ConsumerProcess plaintext = ConsumerProcess::Start({});
  EXPECT_THAT(plaintext.process().Stderr(), Not(HasSubstr("--producer_acl")));
}

TEST_F(ProducerAclTest, SighupReloadsTheAclAndABadOneKeepsThePrevious) {
  ConsumerProcess consumer = StartConsumer();
  Subprocess refused = Produce(consumer, "mallory", "shared-1", 3);
  EXPECT_EQ(refused.Wait(), 1);
  EXPECT_THAT(refused.Stderr(), HasSubstr("PERMISSION_DENIED"));

  WriteFile(acl_path_, "mallory shared-*\nspiffe://test/alice alice\n");
  consumer.process().Signal(SIGHUP);
  ASSERT_TRUE(consumer.process().WaitForStderr(
      "producer ACL reloaded from --producer_acl=" + acl_path_ + ": 2 rules",
      absl::Seconds(10)))
      << consumer.process().Stderr();
  EXPECT_EQ(Produce(consumer, "mallory", "shared-1", 3).Wait(), 0);
  // mallory-* is no longer hers.
  EXPECT_EQ(Produce(consumer, "mallory", "mallory-1", 3).Wait(), 1);

  WriteFile(acl_path_, "mallory shared-*\nmallory sha*red\n");
  consumer.process().Signal(SIGHUP);
  ASSERT_TRUE(consumer.process().WaitForStderr("keeping the previous one",
                                               absl::Seconds(10)))
      << consumer.process().Stderr();
  EXPECT_THAT(
      consumer.process().Stderr(),
      HasSubstr(absl::StrCat(
          "WARNING producer ACL not reloaded, keeping the previous one (2 "
          "rules): --producer_acl=",
          acl_path_, " line 2: '*' may only end a producer id pattern")));
  // The previous ACL still holds: alice keeps her id.
  EXPECT_EQ(Produce(consumer, "alice", "alice", 3).Wait(), 0);
  EXPECT_EQ(Produce(consumer, "mallory", "shared-1", 3).Wait(), 0);

  consumer.process().Signal(SIGTERM);
  EXPECT_EQ(consumer.process().WaitOrKill(absl::Seconds(30)), 0);
}

}  // namespace
}  // namespace messaging
