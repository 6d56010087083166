// What the consumer's gRPC health service says, from two things that
// change on different threads: whether the server is serving (started, not
// shutting down) and whether its message log can write. While the log's
// writes fail (a full disk), health is NOT_SERVING, so that Kubernetes
// takes the pod out of its Service and producers go to others or wait; it
// turns SERVING again by itself once writes succeed.
//
// It is also the log's LogEventListener, and forwards durability to the
// Acceptor, which counts what became durable.
//
// Usage:
//   ServingHealth health;
//   options.event_listener = &health;        // before MessageLog::Open
//   health.set_acceptor(acceptor.get());      // before the first Accept
//   health.Start(server->GetHealthCheckService(), "messaging.v1.Consumer..");
//   ...
//   health.Stop();                            // at shutdown
#ifndef CONSUMER_SERVICE_SERVING_HEALTH_H_
#define CONSUMER_SERVICE_SERVING_HEALTH_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "consumer_service/acceptor.h"
#include "consumer_service/message_log.h"
#include "grpcpp/health_check_service_interface.h"

namespace messaging {

class ServingHealth final : public LogEventListener {
 public:
  void set_acceptor(Acceptor* acceptor) { acceptor_.store(acceptor); }

  // The server is serving: health is SERVING (overall and for `service`)
  // unless the log fails.
  void Start(grpc::HealthCheckServiceInterface* health, std::string service);
  // Shutting down: NOT_SERVING for good.
  void Stop();

  // LogEventListener, on the log's writer thread.
  void OnDurable(uint64_t offset) override;
  void OnHealthChanged(const absl::Status& error) override;

 private:
  void ApplyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  std::atomic<Acceptor*> acceptor_{nullptr};
  absl::Mutex mutex_;
  grpc::HealthCheckServiceInterface* health_ ABSL_GUARDED_BY(mutex_) = nullptr;
  std::string service_ ABSL_GUARDED_BY(mutex_);
  bool serving_ ABSL_GUARDED_BY(mutex_) = false;
  bool log_healthy_ ABSL_GUARDED_BY(mutex_) = true;
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_SERVING_HEALTH_H_
