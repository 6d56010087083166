// The messaging.v1.ConsumerService implementation, on gRPC's callback API:
// admission of streams, and the unary RPCs.
//
// Each admitted Consume or ConsumeBatches stream is a ConsumeReactor
// (consume_reactor.h); a stream over --max_concurrent_streams is refused
// with RESOURCE_EXHAUSTED and a retry pushback (kRetryPushbackKey). Both stream
// methods are raw: their reactors decode each read themselves, in place, which
// is faster than gRPC's generated parsing, and lets an undecodable message end
// its stream with INVALID_ARGUMENT. What happens to each message is the
// Acceptor's (acceptor.h); the service also runs the IdleReaper that ends
// streams idle for too long.
//
// Usage:
//   ConsumerStatsRecorder stats(absl::Now());
//   Acceptor acceptor(std::make_unique<ProducerLedger>(), /*log=*/nullptr,
//                     &stats, &std::cout);
//   ConsumerServiceImpl service(&stats, &acceptor, StreamLimits(),
//                               /*authorizer=*/nullptr);
//   grpc::ServerBuilder builder;
//   builder.RegisterService(&service);
#ifndef CONSUMER_SERVICE_CONSUMER_SERVICE_IMPL_H_
#define CONSUMER_SERVICE_CONSUMER_SERVICE_IMPL_H_

#include <atomic>

#include "absl/time/time.h"
#include "common/metadata_keys.h"  // a refusal's trailer: kRetryPushbackKey
#include "consumer_service/acceptor.h"
#include "consumer_service/consume_reactor.h"
#include "consumer_service/consumer_stats.h"
#include "consumer_service/idle_reaper.h"
#include "consumer_service/producer_authorizer.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"

namespace messaging {

struct StreamLimits {
  // Consume streams open at once; more are refused with RESOURCE_EXHAUSTED.
  int max_concurrent_streams = 10000;
  // A stream that sends nothing for this long ends with DEADLINE_EXCEEDED.
  absl::Duration idle_timeout = absl::Minutes(5);
};

class ConsumerServiceImpl final
    : public v1::ConsumerService::WithRawCallbackMethod_Consume<
          v1::ConsumerService::WithRawCallbackMethod_ConsumeBatches<
              v1::ConsumerService::CallbackService>>,
      private StreamEndListener {
 public:
  // The pointers must outlive the service. `authorizer`, when not null,
  // decides which producer ids each peer may write and ask about
  // (--producer_acl); null allows any.
  ConsumerServiceImpl(ConsumerStatsRecorder* stats, Acceptor* acceptor,
                      StreamLimits limits,
                      const ProducerAuthorizer* authorizer);

  // Read Mensaje and MensajeBatch messages; answer a ConsumeSummary.
  grpc::ServerReadReactor<grpc::ByteBuffer>* Consume(
      grpc::CallbackServerContext* context, grpc::ByteBuffer* summary) override;
  grpc::ServerReadReactor<grpc::ByteBuffer>* ConsumeBatches(
      grpc::CallbackServerContext* context, grpc::ByteBuffer* summary) override;

  // Answers once what it reports is durable.
  grpc::ServerUnaryReactor* GetProducerState(
      grpc::CallbackServerContext* context,
      const v1::GetProducerStateRequest* request,
      v1::ProducerState* state) override;

  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context,
                                     const v1::GetStatsRequest* request,
                                     v1::ConsumerStats* stats) override;

  // Pages through the ledger (producer_listing.h).
  grpc::ServerUnaryReactor* ListProducers(
      grpc::CallbackServerContext* context,
      const v1::ListProducersRequest* request,
      v1::ListProducersResponse* response) override;

 private:
  // A reactor for an admitted stream, or one that refuses it (with a retry
  // pushback in `context`) when the limit is reached.
  grpc::ServerReadReactor<grpc::ByteBuffer>* StartStream(
      const ConsumeReactor::Format& format,
      grpc::CallbackServerContext* context, grpc::ByteBuffer* summary);

  // StreamEndListener: frees the stream's slot.
  void OnStreamEnded(absl::StatusCode code) override;

  ConsumerStatsRecorder* const stats_;
  Acceptor* const acceptor_;
  const StreamLimits limits_;
  const ProducerAuthorizer* const authorizer_;
  std::atomic<int> open_streams_{0};
  IdleReaper reaper_;
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_CONSUMER_SERVICE_IMPL_H_
