// The messaging.v1.ConsumerService implementation, on gRPC's callback API.
//
// Each Consume stream is one ConsumeReactor (in the .cc): no thread per
// stream, so one consumer holds thousands of producers.
//
// Usage:
//   ConsumerStatsRecorder stats(absl::Now());
//   ConsumerServiceImpl service(&stats, &std::cout);  // or nullptr: quiet
//   grpc::ServerBuilder builder;
//   builder.RegisterService(&service);
#ifndef CONSUMER_SERVICE_CONSUMER_SERVICE_IMPL_H_
#define CONSUMER_SERVICE_CONSUMER_SERVICE_IMPL_H_

#include <ostream>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "consumer_service/consumer_stats.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"

namespace messaging {

class ConsumerServiceImpl final : public v1::ConsumerService::CallbackService {
 public:
  // `console`, when not null, gets one "Consumiendo: <text>" line per
  // accepted message. `stats` must outlive the service.
  ConsumerServiceImpl(ConsumerStatsRecorder* stats, std::ostream* console)
      : stats_(stats), console_(console) {}

  grpc::ServerReadReactor<v1::Mensaje>* Consume(
      grpc::CallbackServerContext* context,
      v1::ConsumeSummary* summary) override;

  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context,
                                     const v1::GetStatsRequest* request,
                                     v1::ConsumerStats* stats) override;

  // Writes the demo's line for an accepted message, whole, even when many
  // streams print at once.
  void PrintConsumed(const v1::Mensaje& message);

  ConsumerStatsRecorder* stats() const { return stats_; }

 private:
  ConsumerStatsRecorder* const stats_;
  absl::Mutex console_mutex_;
  std::ostream* const console_ ABSL_PT_GUARDED_BY(console_mutex_);
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_CONSUMER_SERVICE_IMPL_H_
