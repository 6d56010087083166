#include "consumer_service/consumer_service_impl.h"

#include <atomic>

#include "absl/time/clock.h"
#include "consumer_service/consume_stream.h"

namespace messaging {
namespace {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

// Reads one producer's stream until the producer closes it (the FIN signal),
// then answers with the stream's summary.
class ConsumeReactor final : public grpc::ServerReadReactor<v1::Mensaje> {
 public:
  ConsumeReactor(ConsumerServiceImpl* service, v1::ConsumeSummary* summary)
      : service_(service), summary_(summary) {
    service_->stats()->StreamStarted();
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The producer closed its side (or the call broke; then OnCancel has
      // run or will, and the status below never reaches anyone).
      *summary_ = stream_.Summary();
      Finish(grpc::Status::OK);
      return;
    }
    absl::Status accepted = stream_.Accept(incoming_, absl::Now());
    if (!accepted.ok()) {
      rejected_ = true;
      Finish(ToGrpcStatus(accepted));
      return;
    }
    service_->stats()->MessageAccepted(incoming_);
    service_->PrintConsumed(incoming_);
    StartRead(&incoming_);
  }

  void OnCancel() override { cancelled_ = true; }

  void OnDone() override {
    service_->stats()->StreamEnded(!rejected_ && !cancelled_);
    delete this;
  }

 private:
  ConsumerServiceImpl* const service_;
  v1::ConsumeSummary* const summary_;
  v1::Mensaje incoming_;
  ConsumeStream stream_;
  bool rejected_ = false;
  // Set by OnCancel, which may run on another thread than the reads.
  std::atomic<bool> cancelled_{false};
};

}  // namespace

grpc::ServerReadReactor<v1::Mensaje>* ConsumerServiceImpl::Consume(
    grpc::CallbackServerContext* /*context*/, v1::ConsumeSummary* summary) {
  return new ConsumeReactor(this, summary);
}

grpc::ServerUnaryReactor* ConsumerServiceImpl::GetStats(
    grpc::CallbackServerContext* context,
    const v1::GetStatsRequest* /*request*/, v1::ConsumerStats* stats) {
  *stats = stats_->Snapshot(absl::Now());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

void ConsumerServiceImpl::PrintConsumed(const v1::Mensaje& message) {
  if (console_ == nullptr) return;
  absl::MutexLock lock(&console_mutex_);
  *console_ << "Consumiendo: " << message.text() << std::endl;
}

}  // namespace messaging
