#include "metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "civetweb.h"
#include "metrics/exposition.h"

namespace messaging::metrics {
namespace {

constexpr char kPath[] = "/metrics";
constexpr char kExample[] =
    "use IPv4:port, e.g. 0.0.0.0:9464 for every interface or 127.0.0.1:0 "
    "for a free port on this machine only";

struct HostPort {
  std::string host;
  int port = 0;
};

absl::StatusOr<HostPort> ParseAddress(absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics address '", address, "' has no port: ", kExample));
  }
  const absl::string_view host = address.substr(0, colon);
  const absl::string_view port = address.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics address '", address,
        "' is IPv6, which Debian's civetweb is built without: ", kExample));
  }
  in_addr ipv4;
  if (inet_pton(AF_INET, std::string(host).c_str(), &ipv4) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("metrics address '", address,
                                                   "' does not start with an ",
                                                   "IPv4 address: ", kExample));
  }
  int number = -1;
  const bool digits =
      !port.empty() && std::all_of(port.begin(), port.end(), [](char c) {
        return absl::ascii_isdigit(c);
      });
  if (!digits || port.size() > 5 || !absl::SimpleAtoi(port, &number) ||
      number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address '", address, "' has port '", port,
                     "', not 0 to 65535: ", kExample));
  }
  return HostPort{std::string(host), number};
}

// civetweb's line for a failed bind is "cannot bind to A: 98 (Address
// already in use)": the part in parentheses is the news, A is said already.
// Otherwise mg_start2's own error says what went wrong.
std::string BindFailure(const std::vector<std::string>& log,
                        absl::string_view start_error) {
  for (const std::string& line : log) {
    if (line.rfind("cannot bind", 0) != 0) continue;
    const size_t open = line.rfind('(');
    if (open != std::string::npos && line.back() == ')') {
      return line.substr(open + 1, line.size() - open - 2);
    }
    return line;
  }
  return std::string(start_error);
}

// Connects to host:port and hangs up at once; a refused connection (the
// listener is already closed) is as good.
void WakeListener(const std::string& host, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  inet_pton(AF_INET, host.c_str(), &address.sin_addr);
  connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  close(fd);
}

void Respond(mg_connection* connection, int status,
             absl::string_view content_type, absl::string_view body,
             const char* allow = nullptr) {
  const std::string length = absl::StrCat(body.size());
  mg_response_header_start(connection, status);
  mg_response_header_add(connection, "Content-Type", content_type.data(),
                         static_cast<int>(content_type.size()));
  mg_response_header_add(connection, "Content-Length", length.c_str(), -1);
  if (allow != nullptr) mg_response_header_add(connection, "Allow", allow, -1);
  mg_response_header_send(connection);
  // A client that left before reading its answer is no concern of ours.
  mg_write(connection, body.data(), body.size());
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    absl::string_view address, const Registry* registry) {
  absl::StatusOr<HostPort> host_port = ParseAddress(address);
  if (!host_port.ok()) return host_port.status();
  std::unique_ptr<MetricsServer> server(
      new MetricsServer(host_port->host, registry));

  const std::string listening =
      absl::StrCat(host_port->host, ":", host_port->port);
  // clang-format off
  const char* options[] = {
      "listening_ports", listening.c_str(),
      // One thread serves; civetweb's master thread accepts.
      "num_threads", "1",
      // The serving thread must not wait on an idle client between
      // scrapes, nor long on one that connects and says nothing.
      "enable_keep_alive", "no",
      "request_timeout_ms", "5000",
      nullptr,
  };
  // clang-format on

  mg_callbacks callbacks = {};
  callbacks.log_message = &MetricsServer::OnLog;
  mg_init_data init = {&callbacks, server.get(), options};
  char error_text[256] = "";
  mg_error_data error = {nullptr, error_text, sizeof(error_text)};
  server->context_ = mg_start2(&init, &error);
  if (server->context_ == nullptr) {
    absl::MutexLock lock(&server->log_mu_);
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", listening, ": ",
                     BindFailure(server->start_log_, error_text),
                     "; choose another address, or port 0 for a free one"));
  }
  mg_server_port port;
  if (mg_get_server_ports(server->context_, 1, &port) != 1) {
    return absl::InternalError(
        absl::StrCat("civetweb listens on ", listening, " but on no port"));
  }
  server->port_ = port.port;
  // Every path: paths other than /metrics get the same plain 404.
  mg_set_request_handler(server->context_, "/", &MetricsServer::OnRequest,
                         server.get());
  server->serving_.store(true, std::memory_order_release);
  {
    absl::MutexLock lock(&server->log_mu_);
    for (const std::string& line : server->start_log_) {
      std::fprintf(stderr, "metrics server: %s\n", line.c_str());
    }
  }
  return server;
}

MetricsServer::MetricsServer(std::string host, const Registry* registry)
    : host_(std::move(host)), registry_(registry) {}

MetricsServer::~MetricsServer() {
  if (context_ == nullptr) return;
  // mg_stop() raises civetweb's stop flag and waits for its accept loop,
  // which looks at the flag only between polls of up to 2 s (a constant of
  // the build). A connection ends the poll at once: stopping, and with it a
  // service's shutdown, takes milliseconds instead of up to 2 s.
  std::atomic<bool> stopped{false};
  std::thread stopper([this, &stopped] {
    mg_stop(context_);
    stopped.store(true);
  });
  while (!stopped.load()) {
    WakeListener(host_ == "0.0.0.0" ? "127.0.0.1" : host_, port_);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stopper.join();
}

std::string MetricsServer::url() const {
  return absl::StrCat("http://", host_, ":", port_, kPath);
}

int MetricsServer::OnRequest(mg_connection* connection, void* server) {
  const mg_request_info* request = mg_get_request_info(connection);
  // local_uri is null for an absolute URI naming another host.
  if (request->local_uri == nullptr ||
      std::strcmp(request->local_uri, kPath) != 0) {
    Respond(connection, 404, "text/plain; charset=utf-8",
            "Not found: metrics are at /metrics\n");
    return 404;
  }
  if (std::strcmp(request->request_method, "GET") != 0) {
    Respond(connection, 405, "text/plain; charset=utf-8",
            "Only GET is served here\n", /*allow=*/"GET");
    return 405;
  }
  const std::string text =
      static_cast<const MetricsServer*>(server)->registry_->Scrape();
  Respond(connection, 200, kContentType, text);
  return 200;
}

int MetricsServer::OnLog(const mg_connection* connection, const char* message) {
  auto* server =
      static_cast<MetricsServer*>(mg_get_user_data(mg_get_context(connection)));
  if (server->serving_.load(std::memory_order_acquire)) {
    std::fprintf(stderr, "metrics server: %s\n", message);
  } else {
    absl::MutexLock lock(&server->log_mu_);
    server->start_log_.emplace_back(message);
  }
  return 1;  // Handled: civetweb writes no log file of its own.
}

}  // namespace messaging::metrics
