#include "consumer_service/consumer_service_impl.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "consumer_service/grpc_status.h"
#include "consumer_service/producer_limits.h"
#include "consumer_service/producer_listing.h"

namespace messaging {
namespace {

// How long a producer refused for too many streams should wait.
constexpr absl::Duration kStreamLimitPushback = absl::Seconds(1);

// Answers a stream over the limit at once.
class Refusal final : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  explicit Refusal(const StreamLimits& limits) {
    Finish(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("the consumer already has ", limits.max_concurrent_streams,
                     " streams open (--max_concurrent_streams); retry later")));
  }
  void OnDone() override { delete this; }
};

// Answers GetProducerState once the state it reports is durable. Held by
// the log's pending callback; `reactor` is gRPC's, alive until Finish.
class ProducerStateAnswer final : public DurabilityWaiter {
 public:
  ProducerStateAnswer(grpc::ServerUnaryReactor* reactor,
                      ConsumerStatsRecorder* stats)
      : reactor_(reactor), stats_(stats) {}

  void OnDurable(absl::Status durable) override {
    if (!durable.ok()) stats_->CallRefused(durable.code());
    reactor_->Finish(ToGrpcStatus(durable));
  }

 private:
  grpc::ServerUnaryReactor* const reactor_;
  ConsumerStatsRecorder* const stats_;
};

}  // namespace

ConsumerServiceImpl::ConsumerServiceImpl(ConsumerStatsRecorder* stats,
                                         Acceptor* acceptor,
                                         StreamLimits limits,
                                         const ProducerAuthorizer* authorizer)
    : stats_(stats),
      acceptor_(acceptor),
      limits_(limits),
      authorizer_(authorizer),
      reaper_(limits.idle_timeout) {}

grpc::ServerReadReactor<grpc::ByteBuffer>* ConsumerServiceImpl::Consume(
    grpc::CallbackServerContext* context, grpc::ByteBuffer* summary) {
  return StartStream(ConsumeReactor::kMensaje, context, summary);
}

grpc::ServerReadReactor<grpc::ByteBuffer>* ConsumerServiceImpl::ConsumeBatches(
    grpc::CallbackServerContext* context, grpc::ByteBuffer* summary) {
  return StartStream(ConsumeReactor::kMensajeBatch, context, summary);
}

grpc::ServerReadReactor<grpc::ByteBuffer>* ConsumerServiceImpl::StartStream(
    const ConsumeReactor::Format& format, grpc::CallbackServerContext* context,
    grpc::ByteBuffer* summary) {
  stats_->StreamStarted();
  if (open_streams_.fetch_add(1) < limits_.max_concurrent_streams) {
    return new ConsumeReactor(
        format, acceptor_, &reaper_, this, context, summary,
        authorizer_ == nullptr
            ? nullptr
            : authorizer_->GateFor(*context->auth_context()));
  }
  open_streams_.fetch_sub(1);
  stats_->StreamEnded(absl::StatusCode::kResourceExhausted);
  context->AddTrailingMetadata(
      kRetryPushbackKey,
      std::to_string(absl::ToInt64Milliseconds(kStreamLimitPushback)));
  return new Refusal(limits_);
}

void ConsumerServiceImpl::OnStreamEnded(absl::StatusCode code) {
  open_streams_.fetch_sub(1);
  stats_->StreamEnded(code);
}

grpc::ServerUnaryReactor* ConsumerServiceImpl::GetProducerState(
    grpc::CallbackServerContext* context,
    const v1::GetProducerStateRequest* request, v1::ProducerState* state) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->producer_id().empty()) {
    stats_->CallRefused(absl::StatusCode::kInvalidArgument);
    reactor->Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        "GetProducerStateRequest.producer_id is empty; name the producer"));
    return reactor;
  }
  absl::Status allowed = CheckProducerIdSize(
      request->producer_id(), "GetProducerStateRequest.producer_id");
  if (allowed.ok() && authorizer_ != nullptr) {
    allowed = authorizer_->Authorize(*context->auth_context(),
                                     request->producer_id());
  }
  if (!allowed.ok()) {
    reactor->Finish(ToGrpcStatus(allowed));
    return reactor;
  }
  const ProducerLedger::Standing standing =
      acceptor_->ledger().Lookup(request->producer_id());
  state->set_producer_id(request->producer_id());
  state->set_known(standing.known);
  state->set_next_sequence(standing.next_sequence);
  // Only what is durable is confirmed.
  acceptor_->WhenDurable(
      standing, std::make_shared<ProducerStateAnswer>(reactor, stats_));
  return reactor;
}

grpc::ServerUnaryReactor* ConsumerServiceImpl::GetStats(
    grpc::CallbackServerContext* context,
    const v1::GetStatsRequest* /*request*/, v1::ConsumerStats* stats) {
  *stats = stats_->Snapshot(absl::Now());
  stats->set_producers_tracked(acceptor_->ledger().producer_count());
  stats->set_durable(acceptor_->log() != nullptr);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ConsumerServiceImpl::ListProducers(
    grpc::CallbackServerContext* context,
    const v1::ListProducersRequest* request,
    v1::ListProducersResponse* response) {
  const absl::Status listed =
      ListProducerPage(acceptor_->ledger(), *request, response);
  if (!listed.ok()) stats_->CallRefused(listed.code());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(listed));
  return reactor;
}

}  // namespace messaging
