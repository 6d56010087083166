// A minimal HTTP/1.1 client over a plain socket, for the tests of
// MetricsServer: what Prometheus does when it scrapes, with nothing shared
// with the server's own HTTP library.
//
// Usage:
//   absl::StatusOr<HttpResponse> response = HttpGet(server->port(),
//   "/metrics"); EXPECT_EQ(response->status, 200);
//   EXPECT_EQ(response->headers["content-type"], kContentType);
#ifndef METRICS_HTTP_CLIENT_FOR_TEST_H_
#define METRICS_HTTP_CLIENT_FOR_TEST_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace messaging::metrics {

struct HttpResponse {
  int status = 0;
  // Names in lower case.
  std::map<std::string, std::string> headers;
  std::string body;
};

// Sends `method` `path` to 127.0.0.1:`port` with "Connection: close" and
// reads the answer to its end. An error when the connection fails, the
// answer is not HTTP/1.x, or its body is not Content-Length long.
absl::StatusOr<HttpResponse> HttpRequest(int port, absl::string_view method,
                                         absl::string_view path);

inline absl::StatusOr<HttpResponse> HttpGet(int port, absl::string_view path) {
  return HttpRequest(port, "GET", path);
}

}  // namespace messaging::metrics

#endif  // METRICS_HTTP_CLIENT_FOR_TEST_H_
