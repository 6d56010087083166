#include "testing/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

namespace messaging {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  return address;
}

}  // namespace

TcpProxy::TcpProxy(int target_port) : target_port_(target_port) {
  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = Loopback(0);
  socklen_t length = sizeof(address);
  if (bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listener_, 64) != 0 ||
      getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) !=
          0) {
    std::cerr << "TcpProxy cannot listen" << std::endl;
    std::abort();
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  shutdown(listener_, SHUT_RDWR);
  acceptor_.join();
  close(listener_);
  CutAll();
  std::vector<std::thread> pumps;
  {
    absl::MutexLock lock(&mutex_);
    pumps.swap(pumps_);
  }
  for (std::thread& pump : pumps) pump.join();
}

void TcpProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd ready{listener_, POLLIN, 0};
    if (poll(&ready, 1, 100) <= 0) continue;
    const int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in target = Loopback(target_port_);
    if (connect(server, reinterpret_cast<sockaddr*>(&target), sizeof(target)) !=
        0) {
      close(client);
      close(server);
      continue;
    }
    absl::MutexLock lock(&mutex_);
    sockets_.insert(client);
    sockets_.insert(server);
    // Both pumps of a connection count down on each of its descriptors.
    pumps_left_[client] = 2;
    pumps_left_[server] = 2;
    pumps_.emplace_back([this, client, server] { Pump(client, server); });
    pumps_.emplace_back([this, client, server] { Pump(server, client); });
  }
}

void TcpProxy::Pump(int from, int to) {
  char buffer[64 * 1024];
  while (true) {
    const ssize_t got = read(from, buffer, sizeof(buffer));
    if (got <= 0) break;
    for (ssize_t sent = 0; sent < got;) {
      // MSG_NOSIGNAL: a cut connection must not kill the test with SIGPIPE.
      const ssize_t n = send(to, buffer + sent, got - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += n;
    }
  }
  // Either direction ending ends the connection; the second pump to get
  // here closes it.
  absl::MutexLock lock(&mutex_);
  shutdown(from, SHUT_RDWR);
  shutdown(to, SHUT_RDWR);
  --pumps_left_[to];
  if (--pumps_left_[from] == 0) {
    pumps_left_.erase(from);
    pumps_left_.erase(to);
    sockets_.erase(from);
    sockets_.erase(to);
    close(from);
    close(to);
  }
}

void TcpProxy::CutAll() {
  absl::MutexLock lock(&mutex_);
  for (int socket : sockets_) shutdown(socket, SHUT_RDWR);
  connections_cut_ += static_cast<int>(sockets_.size() / 2);
}

}  // namespace messaging
