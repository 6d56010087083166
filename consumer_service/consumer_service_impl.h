// The messaging.v1.ConsumerService implementation, on gRPC's callback API.
//
// Each Consume or ConsumeBatches stream is one ConsumeReactor (in the .cc):
// no thread per stream, so one consumer holds thousands of producers. A
// background reaper ends streams that stay idle longer than the limit.
// Both are raw methods: their reactors decode each read themselves, in
// place (mensaje_decoder.h), which is faster than gRPC's generated parsing,
// and lets an undecodable message end its stream with INVALID_ARGUMENT.
//
// Usage:
//   ConsumerStatsRecorder stats(absl::Now());
//   Acceptor acceptor(std::make_unique<ProducerLedger>(), /*log=*/nullptr,
//                     &stats, &std::cout);
//   ConsumerServiceImpl service(&stats, &acceptor, StreamLimits());
//   grpc::ServerBuilder builder;
//   builder.RegisterService(&service);
#ifndef CONSUMER_SERVICE_CONSUMER_SERVICE_IMPL_H_
#define CONSUMER_SERVICE_CONSUMER_SERVICE_IMPL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metadata_keys.h"
#include "consumer_service/acceptor.h"
#include "consumer_service/consumer_stats.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"

namespace messaging {

struct StreamLimits {
  // Consume streams open at once; more are refused with RESOURCE_EXHAUSTED.
  int max_concurrent_streams = 10000;
  // A stream that sends nothing for this long ends with DEADLINE_EXCEEDED.
  absl::Duration idle_timeout = absl::Minutes(5);
};

// Shared by a stream's reactor and the callbacks that may outlive it (the
// log's durability callback, the idle reaper): they reach the reactor only
// through this, under its mutex, and only while it is alive.
struct StreamLink;

class ConsumerServiceImpl final
    : public v1::ConsumerService::WithRawCallbackMethod_Consume<
          v1::ConsumerService::WithRawCallbackMethod_ConsumeBatches<
              v1::ConsumerService::CallbackService>> {
 public:
  // Both pointers must outlive the service.
  ConsumerServiceImpl(ConsumerStatsRecorder* stats, Acceptor* acceptor,
                      StreamLimits limits);
  ~ConsumerServiceImpl() override;

  // Read Mensaje and MensajeBatch messages; answer a ConsumeSummary.
  grpc::ServerReadReactor<grpc::ByteBuffer>* Consume(
      grpc::CallbackServerContext* context, grpc::ByteBuffer* summary) override;
  grpc::ServerReadReactor<grpc::ByteBuffer>* ConsumeBatches(
      grpc::CallbackServerContext* context, grpc::ByteBuffer* summary) override;

  grpc::ServerUnaryReactor* GetProducerState(
      grpc::CallbackServerContext* context,
      const v1::GetProducerStateRequest* request,
      v1::ProducerState* state) override;

  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context,
                                     const v1::GetStatsRequest* request,
                                     v1::ConsumerStats* stats) override;

  // For the reactors.
  ConsumerStatsRecorder* stats() const { return stats_; }
  Acceptor* acceptor() const { return acceptor_; }
  void StreamOpened(std::shared_ptr<StreamLink> link);
  void StreamClosed(const std::shared_ptr<StreamLink>& link);

 private:
  // Counts a new stream in, or refuses it (with a retry pushback in
  // `context`) when the limit is reached.
  bool AdmitStream(grpc::CallbackServerContext* context);
  void ReapIdleStreams();

  ConsumerStatsRecorder* const stats_;
  Acceptor* const acceptor_;
  const StreamLimits limits_;

  std::atomic<int> open_streams_{0};

  absl::Mutex streams_mutex_;
  std::set<std::shared_ptr<StreamLink>> streams_
      ABSL_GUARDED_BY(streams_mutex_);
  bool stopping_ ABSL_GUARDED_BY(streams_mutex_) = false;
  std::thread reaper_;
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_CONSUMER_SERVICE_IMPL_H_
