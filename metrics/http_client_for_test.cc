#include "metrics/http_client_for_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace messaging::metrics {
namespace {

absl::Status OsError(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Connects, sends `request` and returns every byte until the server closes.
absl::StatusOr<std::string> Exchange(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return OsError("socket");
  // A server that hangs fails the test instead of stalling it.
  const timeval timeout = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  absl::Status status;
  std::string answer;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address),
              sizeof(address)) != 0) {
    status = OsError(absl::StrCat("connect to port ", port));
  } else if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
             static_cast<ssize_t>(request.size())) {
    status = OsError("send");
  } else {
    char buffer[16384];
    ssize_t n;
    while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0)
      answer.append(buffer, n);
    if (n < 0) status = OsError("recv");
  }
  close(fd);
  if (!status.ok()) return status;
  return answer;
}

}  // namespace

absl::StatusOr<HttpResponse> HttpRequest(int port, absl::string_view method,
                                         absl::string_view path) {
  absl::StatusOr<std::string> answer =
      Exchange(port, absl::StrCat(method, " ", path,
                                  " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  "Connection: close\r\n\r\n"));
  if (!answer.ok()) return answer.status();
  const size_t head_end = answer->find("\r\n\r\n");
  if (head_end == std::string::npos) {
    return absl::DataLossError(absl::StrCat("no end of headers in: ", *answer));
  }
  const std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(*answer).substr(0, head_end), "\r\n");
  HttpResponse response;
  absl::string_view status_line = lines[0];
  if (!absl::ConsumePrefix(&status_line, "HTTP/1.") || status_line.size() < 5 ||
      !absl::SimpleAtoi(status_line.substr(2, 3), &response.status)) {
    return absl::DataLossError(
        absl::StrCat("not an HTTP status line: ", lines[0]));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::pair<absl::string_view, absl::string_view> header =
        absl::StrSplit(lines[i], absl::MaxSplits(':', 1));
    response.headers[absl::AsciiStrToLower(header.first)] =
        std::string(absl::StripAsciiWhitespace(header.second));
  }
  response.body = answer->substr(head_end + 4);
  size_t length;
  if (!absl::SimpleAtoi(response.headers["content-length"], &length) ||
      length != response.body.size()) {
    return absl::DataLossError(
        absl::StrCat("Content-Length '", response.headers["content-length"],
                     "' but ", response.body.size(), " bytes of body"));
  }
  return response;
}

}  // namespace messaging::metrics
