// The producer side: numbers and builds the demo's Mensaje sequence and
// streams it into a consumer's Consume RPC, closing the stream (WritesDone)
// as the FIN signal. It keeps every message until the consumer confirms
// it, and after any failure reconnects and resumes right after the last
// sequence the consumer holds, so nothing is lost or duplicated.
//
// Usage:
//   ProducerOptions options;
//   options.producer_id = "host-1";
//   options.count = 10;
//   absl::Status done = RunProducer(options, std::cout);
//
// Or one stream on a channel of your own (tests):
//   Production production(options, /*first_sequence=*/0);
//   ConsumerStubs stubs(channel);
//   ProduceReactor<v1::Mensaje> reactor(&stubs, &production, options,
//                                       &std::cout);
//   absl::StatusOr<v1::ConsumeSummary> summary = reactor.Await();
#ifndef PRODUCER_SERVICE_PRODUCER_H_
#define PRODUCER_SERVICE_PRODUCER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/tls_credentials.h"
#include "grpcpp/generic/generic_stub.h"
#include "producer_service/write_coalescer.h"
#include "protos/messaging/v1/messaging.grpc.pb.h"
#include "protos/messaging/v1/wire/mensaje_encoder.h"

namespace messaging {

struct ProducerOptions {
  // The consumer's address, in gRPC target syntax (host:port, dns:///...).
  // With consumer_shards > 1 it holds "{shard}", replaced by this
  // producer's shard: see ResolveTarget.
  std::string target = "localhost:50051";
  // How many consumers share the producers: each producer id always goes to
  // the same one, which holds its sequence state.
  int consumer_shards = 1;
  // Messages to send, "Mensaje <n>" for the next `count` sequences.
  int64_t count = 5;
  // Pause between two new messages; zero sends as fast as the stream allows.
  absl::Duration interval = absl::Milliseconds(100);
  // Messages per second, instead of `interval`: message n is due at
  // start + n / rate, so a producer that fell behind catches up in a burst.
  // 0: not paced by rate.
  double rate = 0;
  // Size of each message's payload field, in bytes.
  int64_t payload_bytes = 0;
  // Names this producer in every message; required.
  std::string producer_id;
  // How long to wait for the consumer the first time.
  absl::Duration connect_timeout = absl::Seconds(10);
  // The whole run, retries included, must end within this.
  absl::Duration deadline = absl::Minutes(10);
  // Messages kept until the consumer confirms them. When that many wait,
  // the producer closes the stream to get them confirmed before going on.
  int64_t max_unconfirmed = 65536;
  // Messages per ConsumeBatches write; 1 uses the per-message Consume RPC.
  int64_t batch_size = 1;
  // The longest a message waits in the producer for others to share its
  // write: a batch is sent once its first message has waited this long,
  // even if not full, so a slow producer keeps a low latency, and with
  // batch_size 1 messages due within it of each other share a write. 0
  // writes each message on its own.
  absl::Duration batch_delay = absl::Microseconds(250);
  // Concurrent streams; with more than one, stream i uses the producer id
  // "<producer_id>-<i>" and sends `count` messages.
  int streams = 1;
  // Backoff between retries: doubles from initial to max, with jitter.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // One "Produciendo: ..." line per message on stdout.
  bool print_messages = true;
  // TLS: verify the consumer with tls.ca (system roots when empty); present
  // tls.certificate/private_key for mutual TLS.
  bool use_tls = false;
  TlsFiles tls;
  // The name the consumer's certificate must carry, when it differs from
  // the target's host (for example when dialing an IP address).
  std::string tls_server_name;
};

// OK, or INVALID_ARGUMENT naming the flag at fault and what it accepts.
absl::Status ValidateProducerOptions(const ProducerOptions& options);

// The consumer's index for `producer_id`, from 0 to `shards` - 1: a stable
// hash (FNV-1a), the same in every process and on every run.
int ConsumerShard(absl::string_view producer_id, int shards);

// options.target with "{shard}" replaced by the producer's shard, e.g.
// "dns:///consumer-{shard}.consumer-headless:50051" with 3 shards gives
// "dns:///consumer-2.consumer-headless:50051" for some producer id.
std::string ResolveTarget(const ProducerOptions& options);

// The messages of one run: those produced so far and not yet confirmed by
// the consumer, oldest first, and how many are still to produce. Each
// stream first sends the unconfirmed ones again (the consumer drops what it
// already has), then new ones.
//
// A message is its sequence and creation time (the rest follows from the
// options), so that is all it keeps of each, 8 bytes, and it encodes
// messages (MensajeEncoder) as they are sent, into one buffer. Messages are
// kept in batches: a batch is sent whole on a ConsumeBatches stream, a
// per-message stream sends its messages one by one, and a confirmed batch
// is emptied and reused, so a steady run allocates nothing per message.
// What the methods return encoded is valid until the next call.
//
// Not thread-safe, except Stop(): a stream's reactor uses it between
// StartStream() and the end of that stream; Confirm() runs between streams.
class Production {
 public:
  Production(const ProducerOptions& options, uint64_t first_sequence);
  ~Production();

  // Rewinds to the oldest unconfirmed message, for a new stream.
  void StartStream();

  // For Consume streams: the next message, encoded, producing (and
  // printing to `console`, when not null) a new one if all unconfirmed ones
  // are sent; nullopt when the stream should close: everything is sent,
  // the unconfirmed messages reached the limit, or Stop() was called.
  std::optional<absl::string_view> NextToSend(std::ostream* console);
  // Whether NextToSend() would produce a new message (not resend one).
  bool NextIsNew() const;
  // Whether a new message may be produced now (by count, limit and Stop).
  bool CanProduce() const;
  // When the next new message is due, by --interval or --rate; the first
  // one at once.
  absl::Time NextDue() const;
  // When `messages` (at least 1) more new ones will have been due; with
  // --interval, when the next one is.
  absl::Time DueAfter(size_t messages) const;
  // How many new messages are due by `now` and may be produced (by count,
  // limit and Stop).
  size_t DueCount(absl::Time now) const;

  // For ConsumeBatches streams: a batch sent before and not confirmed,
  // not yet sent on this stream, encoded; nullopt when there is none.
  std::optional<absl::string_view> NextUnsentBatch();
  bool HasUnsentBatch() const;
  // Adds up to `count` new messages, created at `now` (with --rate, each at
  // its time in the schedule if that is earlier), to the open batch,
  // opening one if needed; returns how many, fewer when no more may be
  // produced now (as for NextToSend).
  size_t ProduceIntoOpenBatch(std::ostream* console, absl::Time now,
                              size_t count);
  size_t open_batch_size() const;
  // When the open batch's first message was created; requires
  // open_batch_size() > 0.
  absl::Time open_batch_started() const;
  // Closes the open batch and returns it, encoded, for sending.
  absl::string_view SealOpenBatch();

  // The consumer holds every sequence below `next_sequence`.
  void Confirm(uint64_t next_sequence);
  // The same, while a stream is sending: drops only whole batches this
  // stream has already sent, and keeps its place.
  void ConfirmSent(uint64_t next_sequence);
  // New messages are due but held back by the unconfirmed limit.
  bool HeldBackByLimit() const;

  // No more new messages; thread-safe.
  void Stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }

  // Everything produced is confirmed, and nothing is left to produce.
  bool Finished() const;
  uint64_t produced() const { return produced_; }
  const std::string& producer_id() const { return encoder_.producer_id(); }
  size_t unconfirmed() const { return unconfirmed_; }
  // The sequence of the oldest unconfirmed message, or of the next new one.
  uint64_t first_unconfirmed_sequence() const;

 private:
  // Messages of consecutive sequences (of a batch stream, or a group of a
  // per-message one), encoded; defined in the .cc.
  struct Batch;

  // With --rate, when message `index` (0 the first) is due.
  absl::Time ScheduledAt(uint64_t index) const;
  // Encodes `count` messages of `batch` from index `first`.
  absl::string_view Encode(const Batch& batch, size_t first, size_t count);
  // Adds an empty batch, a recycled one when there is one.
  void AppendBatch();
  // Drops the oldest batch, all confirmed, keeping its memory for reuse.
  void RecycleFrontBatch();
  // Produces the next message, created at `now`, at the end of the last
  // batch.
  void Produce(std::ostream* console, absl::Time now);

  const uint64_t count_;
  const absl::Duration interval_;
  const double rate_;
  // 1e9 / rate_, or 0 without --rate.
  const double nanos_per_message_;
  const size_t max_unconfirmed_;
  const size_t batch_capacity_;
  MensajeEncoder encoder_;
  // The encoding of what was last returned for sending.
  std::string wire_;
  const MensajeEncoder::Framing framing_;
  uint64_t next_sequence_;
  uint64_t produced_ = 0;
  // With --rate, the schedule starts at the first message's creation.
  int64_t first_produced_nanos_ = 0;
  absl::Time last_produced_at_;
  size_t unconfirmed_ = 0;
  std::deque<std::unique_ptr<Batch>> batches_;
  // Confirmed batches, kept with their memory for reuse.
  std::vector<std::unique_ptr<Batch>> spare_batches_;
  // The last batch takes new messages (batch streams: until sealed).
  bool last_batch_open_ = false;
  // The next message to send on this stream: batch index, and index in it.
  size_t cursor_batch_ = 0;
  size_t cursor_message_ = 0;
  std::atomic<bool> stopped_{false};
};

// The consumer's methods on one channel, as the producer calls them: the
// streams raw, since the producer encodes its messages itself
// (MensajeEncoder), the others typed.
struct ConsumerStubs {
  explicit ConsumerStubs(const std::shared_ptr<grpc::Channel>& channel)
      : typed(v1::ConsumerService::NewStub(channel)), raw(channel) {}

  std::unique_ptr<v1::ConsumerService::Stub> typed;
  grpc::GenericStub raw;
};

// What the producer's two kinds of stream share: the call's context, its
// outcome, and the pauses between messages. The stream itself is a
// ProduceReactor.
class ProduceCall {
 public:
  virtual ~ProduceCall() = default;

  // Blocks until the call ends; the consumer's summary, or the RPC's error
  // (with the consumer's retry pushback, when it sent one, in
  // `retry_pushback`).
  absl::StatusOr<v1::ConsumeSummary> Await();
  absl::Duration retry_pushback() const { return retry_pushback_; }

  // Ends pauses between messages early from now on (after
  // Production::Stop()).
  void WakeUp();

 protected:
  void RecordOutcome(const grpc::Status& status);

  // Runs `continuation` on the shared Pacer at `when`, or at once after
  // WakeUp() or ResumeNow().
  void RunAt(absl::Time when, std::function<void()> continuation);
  void ResumeNow();

  grpc::ClientContext context_;
  v1::ConsumeSummary summary_;

 private:
  absl::Duration retry_pushback_;
  absl::Mutex mutex_;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mutex_);
  bool woken_ ABSL_GUARDED_BY(mutex_) = false;
};

// One stream, written by gRPC's callback API: Request is v1::Mensaje for a
// Consume stream, v1::MensajeBatch for ConsumeBatches. The stream is a raw
// call (ConsumerStubs::raw) writing the encodings Production keeps. Each
// OnWriteDone starts the next write when the next message is due (by
// --interval or --rate; a batch is sent when full, when nothing more is due
// yet and its first message would wait past `batch_delay`, or at the end;
// single messages due within `batch_delay` of the first unsent one share
// its frame, WriteCoalescer), and when `production` has nothing more for
// this stream the reactor closes it, which is the FIN signal.
//
// Once a quarter of --max_unconfirmed messages wait for confirmation, the
// reactor asks the consumer beside the stream (GetProducerState) what it
// holds, and drops what is confirmed, so a long stream goes on without
// closing; at the limit it waits for those answers. Only if a query fails,
// or they confirm nothing new for a second, does it close the stream to
// have everything confirmed by the summary.
template <typename Request>
class ProduceReactor final
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
      public ProduceCall {
 public:
  // Starts the call at once. `console`, when not null, gets one
  // "Produciendo: ..." line per new message.
  ProduceReactor(ConsumerStubs* stubs, Production* production,
                 const ProducerOptions& options, std::ostream* console);

  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  void WriteNextOrClose();
  // Continues at `when`, keeping the call alive meanwhile.
  void ContinueAt(absl::Time when);
  // Writes `request`, an encoded Request, at `now`.
  void Write(absl::string_view request, absl::Time now);

  // Starts a GetProducerState query when enough messages wait for
  // confirmation, none is in flight, the last one is not too recent, and
  // the limit is not reached.
  void MaybeAskForConfirmation(absl::Time now);
  void AskForConfirmation();
  // Applies the answer of a finished query.
  void TakeConfirmation(absl::Time now);
  // At the unconfirmed limit: pauses for a query's answer (true), or,
  // when the last query failed, does not (false: close the stream, whose
  // summary confirms).
  bool PauseForConfirmation(absl::Time now);

  enum class QueryState { kIdle, kInFlight, kAnswered };
  struct ConfirmationQuery {
    grpc::ClientContext context;
    v1::GetProducerStateRequest request;
    v1::ProducerState state;
    grpc::Status status;
  };

  ConsumerStubs* const stubs_;
  Production* const production_;
  const size_t batch_size_;
  const size_t confirmation_threshold_;
  std::ostream* const console_;
  // The query's callback fills query_ and then sets kAnswered; the
  // reactor reads query_ only in kAnswered, and starts one only in kIdle.
  std::unique_ptr<ConfirmationQuery> query_;
  // The write in flight, and the answer: a ConsumeSummary.
  grpc::ByteBuffer write_buffer_;
  grpc::ByteBuffer summary_buffer_;
  bool summary_parsed_ = false;
  std::atomic<QueryState> query_state_{QueryState::kIdle};
  bool last_query_failed_ = false;
  absl::Time next_query_at_ = absl::InfinitePast();
  // Since when queries have confirmed nothing new; InfiniteFuture if the
  // last one did.
  absl::Time stalled_since_ = absl::InfiniteFuture();
  // Which writes gRPC may hold for the next ones.
  WriteCoalescer coalescer_;
};

// Whether a failed call may succeed if tried again: the consumer or the
// network was unavailable, not the request wrong.
bool IsRetryable(absl::StatusCode code, bool consumer_asked_to_retry);

// One line describing the consumer's summary, for the console.
std::string FormatSummary(const v1::ConsumeSummary& summary);

// Connects to options.target (waiting up to options.connect_timeout), sends
// the messages, retrying and resuming after failures until
// options.deadline, then prints the consumer's summary and the demo's
// closing line to `out`. SIGINT/SIGTERM stop it early (CANCELLED) after a
// clean close. Requires BlockTerminationSignals() before any thread starts.
absl::Status RunProducer(const ProducerOptions& options, std::ostream& out);

}  // namespace messaging

#endif  // PRODUCER_SERVICE_PRODUCER_H_
