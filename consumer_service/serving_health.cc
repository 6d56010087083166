#include "consumer_service/serving_health.h"

#include <utility>

#include "common/logging.h"

namespace messaging {

void ServingHealth::Start(grpc::HealthCheckServiceInterface* health,
                          std::string service) {
  absl::MutexLock lock(&mutex_);
  health_ = health;
  service_ = std::move(service);
  serving_ = true;
  ApplyLocked();
}

void ServingHealth::Stop() {
  absl::MutexLock lock(&mutex_);
  serving_ = false;
  ApplyLocked();
}

void ServingHealth::OnDurable(uint64_t offset) {
  if (Acceptor* acceptor = acceptor_.load(); acceptor != nullptr) {
    acceptor->OnDurable(offset);
  }
}

void ServingHealth::OnHealthChanged(const absl::Status& error) {
  absl::MutexLock lock(&mutex_);
  log_healthy_ = error.ok();
  if (serving_) {
    if (error.ok()) {
      LogInfo("health: SERVING again, the message log writes");
    } else {
      LogWarning("health: NOT_SERVING while the message log cannot write",
                 {{"error", std::string(error.message())}});
    }
  }
  ApplyLocked();
}

void ServingHealth::ApplyLocked() {
  if (health_ == nullptr) return;
  const bool serving = serving_ && log_healthy_;
  health_->SetServingStatus(service_, serving);
  health_->SetServingStatus(serving);
}

}  // namespace messaging
