// A TCP proxy on loopback that can cut every connection through it at
// once: a network failure on demand, for tests.
//
// Usage:
//   TcpProxy proxy(consumer_port);
//   producer --target=127.0.0.1:<proxy.port()> ...
//   proxy.CutAll();  // both sides see their connections die
#ifndef TESTING_TCP_PROXY_H_
#define TESTING_TCP_PROXY_H_

#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace messaging {

class TcpProxy {
 public:
  // Listens on 127.0.0.1 (an ephemeral port) and forwards every connection
  // to 127.0.0.1:`target_port`.
  explicit TcpProxy(int target_port);
  ~TcpProxy();

  int port() const { return port_; }
  // Resets every open connection, in both directions. New connections are
  // still accepted afterwards.
  void CutAll();
  int connections_cut() const { return connections_cut_; }

 private:
  void AcceptLoop();
  // Copies bytes from `from` to `to` until either side ends.
  void Pump(int from, int to);

  const int target_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_cut_{0};
  std::thread acceptor_;

  absl::Mutex mutex_;
  // Descriptors of open connections, and how many of their connection's
  // two pumps still run.
  std::set<int> sockets_ ABSL_GUARDED_BY(mutex_);
  std::map<int, int> pumps_left_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::thread> pumps_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace messaging

#endif  // TESTING_TCP_PROXY_H_
