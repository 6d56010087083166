// Serves a Registry over HTTP for Prometheus to scrape: GET /metrics
// returns Registry::Scrape() as `text/plain; version=0.0.4; charset=utf-8`;
// any other path is 404, any other method on /metrics 405.
//
// The HTTP server is Debian's civetweb 1.15 (libcivetweb-dev), the one
// prometheus-cpp embeds, run with two threads: one accepts, one serves,
// which is plenty for a scrape every few seconds. Connections are closed
// after each response and a request must arrive within 5 s, so a client
// that connects and says nothing holds the serving thread no longer than
// that. Debian builds civetweb without IPv6, so the host is an IPv4
// address.
//
// Start it after SIGTERM/SIGINT are blocked (RunServiceMain does that
// first): its threads inherit the mask, and sigwait() stays the only taker.
//
// Usage:
//   absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> server =
//       metrics::MetricsServer::Start("0.0.0.0:9464", &registry);
//   if (!server.ok()) return server.status();
//   LogInfo(absl::StrCat("metrics on ", (*server)->url()));
//   // metrics on http://0.0.0.0:9464/metrics
//   ...
//   server->reset();  // Stops serving; waits for a scrape in progress.
#ifndef METRICS_METRICS_SERVER_H_
#define METRICS_METRICS_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "metrics/registry.h"

struct mg_connection;
struct mg_context;

namespace messaging::metrics {

class MetricsServer {
 public:
  // Listens on `address`, "IPv4:port" ("0.0.0.0:9464" for every
  // interface; port 0 picks a free port, see port()). `registry` must
  // outlive the server. Errors: INVALID_ARGUMENT for an address that is not
  // IPv4:port, UNAVAILABLE when it cannot be bound; either message is one
  // line that says what to change.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      absl::string_view address, const Registry* registry);

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  // Stops listening and waits for a scrape being served; milliseconds
  // otherwise.
  ~MetricsServer();

  // The port listened on: the chosen one when the address asked for 0.
  int port() const { return port_; }
  // "http://<host>:<port>/metrics".
  std::string url() const;

 private:
  MetricsServer(std::string host, const Registry* registry);

  // civetweb's callbacks; `this` is their user data.
  static int OnRequest(mg_connection* connection, void* server);
  static int OnLog(const mg_connection* connection, const char* message);

  const std::string host_;
  const Registry* const registry_;
  mg_context* context_ = nullptr;
  int port_ = 0;

  // civetweb says why a bind failed only in log lines: until Start has
  // succeeded they are kept for its error, then they go to stderr.
  std::atomic<bool> serving_{false};
  absl::Mutex log_mu_;
  std::vector<std::string> start_log_ ABSL_GUARDED_BY(log_mu_);
};

}  // namespace messaging::metrics

#endif  // METRICS_METRICS_SERVER_H_
