#include "metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/exposition.h"
#include "metrics/http_client_for_test.h"
#include "metrics/registry.h"

namespace messaging::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::unique_ptr<MetricsServer> StartOrDie(const Registry* registry) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("127.0.0.1:0", registry);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

// Threads named civetweb-master, civetweb-worker, ... (sanitizers add
// threads of their own, so all of them are not counted).
int CivetwebThreads() {
  int count = 0;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/self/task")) {
    std::string name;
    std::ifstream(task.path() / "comm") >> name;
    if (absl::StartsWith(name, "civetweb")) ++count;
  }
  return count;
}

TEST(MetricsServerTest, ServesTheRegistryOnMetricsWithTwoThreads) {
  Registry registry;
  registry.AddCounter("app_messages_total", "Messages.")->Increment(5);
  ASSERT_EQ(CivetwebThreads(), 0);
  std::unique_ptr<MetricsServer> server = StartOrDie(&registry);
  ASSERT_NE(server, nullptr);
  // Each thread names itself once it runs.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (CivetwebThreads() < 2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(CivetwebThreads(), 2);
  EXPECT_GT(server->port(), 0);
  EXPECT_EQ(server->url(),
            absl::StrCat("http://127.0.0.1:", server->port(), "/metrics"));

  absl::StatusOr<HttpResponse> response = HttpGet(server->port(), "/metrics");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["content-type"],
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response->body,
            "# HELP app_messages_total Messages.\n"
            "# TYPE app_messages_total counter\n"
            "app_messages_total 5\n");
  // A query string (Prometheus sends none, curl users might) is ignored.
  response = HttpGet(server->port(), "/metrics?debug=1");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
}

TEST(MetricsServerTest, ScrapesWhileOtherThreadsCount) {
  Registry registry;
  Counter* counter = registry.AddCounter("app_ops_total", "Operations.");
  Histogram* sizes = registry.AddHistogram("app_op_bytes", "Op sizes.", {10});
  std::unique_ptr<MetricsServer> server = StartOrDie(&registry);
  ASSERT_NE(server, nullptr);

  constexpr int kThreads = 3;
  constexpr int kPerThread = 300000;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([counter, sizes] {
      for (int j = 0; j < kPerThread; ++j) {
        counter->Increment();
        if (j % 100 == 0) sizes->Observe(j % 20);
      }
    });
  }
  std::vector<absl::StatusOr<HttpResponse>> scrapes;
  for (int i = 0; i < 20; ++i)
    scrapes.push_back(HttpGet(server->port(), "/metrics"));
  for (std::thread& thread : threads) thread.join();

  const uint64_t total = uint64_t{kThreads} * kPerThread;
  uint64_t last = 0;
  for (const absl::StatusOr<HttpResponse>& scrape : scrapes) {
    ASSERT_TRUE(scrape.ok()) << scrape.status();
    ASSERT_EQ(scrape->status, 200);
    const size_t at = scrape->body.find("\napp_ops_total ");
    ASSERT_NE(at, std::string::npos) << scrape->body;
    uint64_t seen;
    ASSERT_TRUE(absl::SimpleAtoi(
        scrape->body.substr(at + 15, scrape->body.find('\n', at + 1) - at - 15),
        &seen));
    EXPECT_GE(seen, last);
    EXPECT_LE(seen, total);
    last = seen;
  }
  absl::StatusOr<HttpResponse> final_scrape =
      HttpGet(server->port(), "/metrics");
  ASSERT_TRUE(final_scrape.ok()) << final_scrape.status();
  EXPECT_EQ(final_scrape->body, registry.Scrape());
  EXPECT_THAT(final_scrape->body,
              HasSubstr(absl::StrCat("\napp_ops_total ", total, "\n")));
  EXPECT_THAT(final_scrape->body,
              HasSubstr(absl::StrCat("\napp_op_bytes_count ",
                                     kThreads * kPerThread / 100, "\n")));
}

TEST(MetricsServerTest, OtherPathsAreNotFound) {
  Registry registry;
  std::unique_ptr<MetricsServer> server = StartOrDie(&registry);
  ASSERT_NE(server, nullptr);
  for (const char* path : {"/", "/metricsx", "/metrics/more", "/favicon.ico"}) {
    absl::StatusOr<HttpResponse> response = HttpGet(server->port(), path);
    ASSERT_TRUE(response.ok()) << path << ": " << response.status();
    EXPECT_EQ(response->status, 404) << path;
    EXPECT_EQ(response->body, "Not found: metrics are at /metrics\n");
  }
}

TEST(MetricsServerTest, OtherMethodsAreNotAllowed) {
  Registry registry;
  std::unique_ptr<MetricsServer> server = StartOrDie(&registry);
  ASSERT_NE(server, nullptr);
  for (const char* method : {"POST", "PUT", "DELETE"}) {
    absl::StatusOr<HttpResponse> response =
        HttpRequest(server->port(), method, "/metrics");
    ASSERT_TRUE(response.ok()) << method << ": " << response.status();
    EXPECT_EQ(response->status, 405) << method;
    EXPECT_EQ(response->headers["allow"], "GET");
  }
}

// A listening socket on 127.0.0.1 that holds a port.
class HeldPort {
 public:
  HeldPort() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(address);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), size), 0);
    EXPECT_EQ(listen(fd_, 1), 0);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size),
              0);
    port_ = ntohs(address.sin_port);
  }
  ~HeldPort() { close(fd_); }
  int port() const { return port_; }

 private:
  const int fd_;
  int port_ = 0;
};

TEST(MetricsServerTest, APortInUseIsRefusedInOneLineThatSaysWhatToDo) {
  Registry registry;
  HeldPort held;
  const std::string address = absl::StrCat("127.0.0.1:", held.port());
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start(address, &registry);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(server.status().message(),
            absl::StrCat("cannot serve metrics on ", address,
                         ": Address already in use; choose another address, "
                         "or port 0 for a free one"));
}

TEST(MetricsServerTest, AnAddressOfNoInterfaceIsRefused) {
  Registry registry;
  // TEST-NET-1 (RFC 5737): no machine has it.
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("192.0.2.1:0", &registry);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(server.status().message(),
            "cannot serve metrics on 192.0.2.1:0: Cannot assign requested "
            "address; choose another address, or port 0 for a free one");
}

TEST(MetricsServerTest, AMalformedAddressIsRefusedBeforeAnythingStarts) {
  Registry registry;
  const struct {
    const char* address;
    const char* says;
  } cases[] = {
      {"", "metrics address '' has no port"},
      {"9464", "metrics address '9464' has no port"},
      {"localhost:9464", "'localhost:9464' does not start with an IPv4"},
      {":9464", "':9464' does not start with an IPv4"},
      {"[::1]:9464", "'[::1]:9464' is IPv6, which Debian's civetweb is built"},
      {"127.0.0.1:", "has port '', not 0 to 65535"},
      {"127.0.0.1:65536", "has port '65536', not 0 to 65535"},
      {"127.0.0.1:+80", "has port '+80', not 0 to 65535"},
      {"127.0.0.1:http", "has port 'http', not 0 to 65535"},
  };
  for (const auto& test : cases) {
    absl::StatusOr<std::unique_ptr<MetricsServer>> server =
        MetricsServer::Start(test.address, &registry);
    ASSERT_FALSE(server.ok()) << test.address;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(server.status().message(), HasSubstr(test.says));
    EXPECT_THAT(server.status().message(),
                HasSubstr(": use IPv4:port, e.g. 0.0.0.0:9464"));
  }
}

// Sends `bytes` (perhaps nothing) and hangs up without reading.
void HangUp(int port, absl::string_view bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
            0);
  if (!bytes.empty()) {
    ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  close(fd);
}

// Writes a family too large for the socket buffers, so that the server is
// still writing when a client that asked for it has gone.
class LargeCollector : public Collector {
 public:
  void Collect(Exposition* out) const override {
    out->Family("app_large", "Many series.", MetricType::kGauge);
    for (int i = 0; i < 100000; ++i) {
      const std::string id = absl::StrCat(i);
      out->Sample({{"id", id}}, i);
    }
  }
};

TEST(MetricsServerTest, ClientsThatHangUpEarlyDoNotStopIt) {
  Registry registry;
  registry.AddCollector(std::make_unique<LargeCollector>());
  std::unique_ptr<MetricsServer> server = StartOrDie(&registry);
  ASSERT_NE(server, nullptr);

  HangUp(server->port(), "");          // A TCP probe.
  HangUp(server->port(), "GET /met");  // Half a request.
  // Gone while the answer (several MB) is written: the server gets EPIPE,
  // and neither it nor this process dies of SIGPIPE.
  HangUp(server->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  HangUp(server->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");

  absl::StatusOr<HttpResponse> response = HttpGet(server->port(), "/metrics");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->body, StartsWith("# HELP app_large Many series.\n"));
  EXPECT_THAT(response->body, HasSubstr("app_large{id=\"99999\"} 99999\n"));
}

TEST(MetricsServerTest, StopsListeningWhenDestroyed) {
  Registry registry;
  std::unique_ptr<MetricsServer> server = StartOrDie(&registry);
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  absl::StatusOr<HttpResponse> served = HttpGet(port, "/metrics");
  ASSERT_TRUE(served.ok()) << served.status();
  // Not civetweb's 2 s round of polling: a service's shutdown waits on it.
  const absl::Time start = absl::Now();
  server.reset();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_EQ(CivetwebThreads(), 0);
  absl::StatusOr<HttpResponse> response = HttpGet(port, "/metrics");
  ASSERT_FALSE(response.ok());
  EXPECT_THAT(response.status().message(), HasSubstr("Connection refused"));
}

}  // namespace
}  // namespace messaging::metrics
