#include "consumer_service/consume_reactor.h"

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "consumer_service/compressed_flag.h"
#include "consumer_service/grpc_status.h"
#include "google/protobuf/descriptor.h"
#include "protos/messaging/v1/wire/byte_buffers.h"
#include "protos/messaging/v1/wire/mensaje_decoder.h"

namespace messaging {

struct ConsumeReactor::Format {
  // Decodes one read into scratch->views.
  Decoded (*decode)(absl::string_view bytes, DecodeScratch* scratch);
  // The message a read holds, to name it in errors.
  const google::protobuf::Descriptor* (*descriptor)();
};

namespace {

Decoded DecodeOneMensaje(absl::string_view bytes, DecodeScratch* scratch) {
  scratch->views.resize(1);
  return DecodeMensaje(bytes, &scratch->views[0], &scratch->parsed);
}

Decoded DecodeOneBatch(absl::string_view bytes, DecodeScratch* scratch) {
  return DecodeMensajeBatch(bytes, &scratch->views, &scratch->parsed);
}

// Where the reads of every stream served by this thread are decoded.
// Views into the read copy nothing, and a kept vector of them allocates
// nothing per read; keeping it per thread rather than per stream costs the
// same for thousands of streams as for a few. That is safe because a
// read's messages are done with before OnReadDone returns.
DecodeScratch& ThreadScratch() {
  thread_local DecodeScratch scratch;
  return scratch;
}

// About 1 MiB of views.
constexpr size_t kMaxKeptViews = (1 << 20) / sizeof(MensajeView);

}  // namespace

const ConsumeReactor::Format ConsumeReactor::kMensaje = {
    &DecodeOneMensaje, &v1::Mensaje::descriptor};
const ConsumeReactor::Format ConsumeReactor::kMensajeBatch = {
    &DecodeOneBatch, &v1::MensajeBatch::descriptor};

// The reactor's state that other threads read or write, and the one way
// they end its call: under `mutex_`, at most once (Finish). Finish may be
// called with the mutex held because gRPC never runs a read reactor's
// OnDone inside Finish: it dispatches it to another thread.
//
// Lifetime: the reactor holds the link from its construction; from the
// FIN on, the log's pending durability callback (Acceptor::WhenDurable)
// holds it too, and the log holds it while the stream waits for room in
// its queue (Acceptor::WhenLogHasRoom), with no read pending. The
// durability callback ends the call, and gRPC may then run OnDone and
// delete the reactor on another thread before the callback has returned
// and let go of the link. So the link is shared and outlives the
// reactor, and OnDone detaches it: nothing reaches the reactor through the
// link afterwards. The reaper does not hold the link: it reaches the
// reactor as an IdleStream, unregistered in OnDone before the reactor is
// deleted.
class ConsumeReactor::Link final : public DurabilityWaiter,
                                   public LogRoomWaiter {
 public:
  explicit Link(ConsumeReactor* reactor) : reactor_(reactor) {}

  // Ends the call with `status` unless it has ended already. For the
  // reactor's own reads.
  void FinishOnce(const grpc::Status& status) {
    absl::MutexLock lock(&mutex_);
    if (reactor_ != nullptr && !finished_) FinishLocked(status);
  }

  // As FinishOnce, and not while the stream closes normally. For the reaper.
  void FinishIdle(const grpc::Status& status) {
    absl::MutexLock lock(&mutex_);
    if (reactor_ != nullptr && !finished_ && !closing_) FinishLocked(status);
  }

  // At the FIN: from now on only OnDurable ends the call. False if it has
  // ended already.
  bool StartClosing() {
    absl::MutexLock lock(&mutex_);
    if (finished_) return false;
    closing_ = true;
    return true;
  }

  // The summary was written before the reactor asked for this call, on the
  // thread of the FIN; Finish sends it.
  void OnDurable(absl::Status durable) override {
    absl::MutexLock lock(&mutex_);
    if (reactor_ == nullptr || finished_) return;
    FinishLocked(durable.ok() ? grpc::Status::OK : ToGrpcStatus(durable));
  }

  // The stream paused after a read, for the log; it reads on unless the
  // call has ended meanwhile. (gRPC runs the read's OnReadDone on a thread
  // of its own, never inline here.)
  void OnLogRoom() override {
    absl::MutexLock lock(&mutex_);
    if (reactor_ == nullptr || finished_) return;
    reactor_->StartRead(&reactor_->read_);
  }

  // From OnDone: the reactor is gone. The code the call was finished with;
  // CANCELLED if it never was.
  absl::StatusCode Detach() {
    absl::MutexLock lock(&mutex_);
    reactor_ = nullptr;
    return code_;
  }

 private:
  void FinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    finished_ = true;
    code_ = static_cast<absl::StatusCode>(status.error_code());
    reactor_->Finish(status);
  }

  absl::Mutex mutex_;
  // Null once the reactor is done.
  ConsumeReactor* reactor_ ABSL_GUARDED_BY(mutex_);
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  // Reads are over; the call waits for its messages to be durable.
  bool closing_ ABSL_GUARDED_BY(mutex_) = false;
  absl::StatusCode code_ ABSL_GUARDED_BY(mutex_) = absl::StatusCode::kCancelled;
};

ConsumeReactor::ConsumeReactor(const Format& format, Acceptor* acceptor,
                               IdleReaper* reaper, StreamEndListener* listener,
                               grpc::CallbackServerContext* context,
                               grpc::ByteBuffer* summary,
                               std::unique_ptr<const ProducerIdGate> gate)
    : format_(format),
      acceptor_(acceptor),
      reaper_(reaper),
      listener_(listener),
      context_(context),
      summary_(summary),
      link_(std::make_shared<Link>(this)),
      gate_(std::move(gate)),
      stream_(gate_.get()),
      last_activity_nanos_(absl::ToUnixNanos(absl::Now())) {
  reaper_->Register(this);
  StartRead(&read_);
}

void ConsumeReactor::OnReadDone(bool ok) {
  if (!ok) {
    CloseWhenDurable();
    return;
  }
  const absl::Time now = absl::Now();
  last_activity_nanos_.store(absl::ToUnixNanos(now), std::memory_order_relaxed);
  if (absl::Status taken = DecodeAndAccept(now); !taken.ok()) {
    link_->FinishOnce(ToGrpcStatus(taken));
    return;
  }
  // Otherwise the link reads on once the log has room.
  if (acceptor_->WhenLogHasRoom(link_)) StartRead(&read_);
}

void ConsumeReactor::OnCancel() { cancelled_ = true; }

void ConsumeReactor::OnDone() {
  // Unregistered first, so the reaper no longer reaches this reactor.
  reaper_->Unregister(this);
  const absl::StatusCode code = link_->Detach();
  listener_->OnStreamEnded(cancelled_ ? absl::StatusCode::kCancelled : code);
  delete this;
}

absl::Time ConsumeReactor::LastActivity() const {
  return absl::FromUnixNanos(
      last_activity_nanos_.load(std::memory_order_relaxed));
}

void ConsumeReactor::OnIdle(const absl::Status& status) {
  link_->FinishIdle(ToGrpcStatus(status));
}

absl::Status ConsumeReactor::DecodeAndAccept(absl::Time now) {
  grpc::Slice slice;
  if (!ContiguousSlice(read_, &slice)) {
    return absl::InternalError("a read arrived without its bytes");
  }
  read_.Clear();
  ++reads_;
  if (ReadMarkedCompressedButNotInflated(context_)) {
    // INTERNAL, as gRPC's wire protocol asks of a compressed flag that no
    // grpc-encoding explains.
    return absl::InternalError(absl::StrCat(
        "message ", reads_,
        " of the stream is marked compressed, but the call names no "
        "compression this consumer inflates (grpc-encoding); send it "
        "uncompressed, or name gzip or deflate and start the consumer with "
        "--accept_compression"));
  }
  DecodeScratch& scratch = ThreadScratch();
  const Decoded decoded = format_.decode(AsStringView(slice), &scratch);
  if (decoded == Decoded::kMalformed) {
    scratch = DecodeScratch();
    return absl::InvalidArgumentError(
        absl::StrCat("message ", reads_, " of the stream is not a valid ",
                     format_.descriptor()->full_name(),
                     "; send it as protobuf encodes it, with UTF-8 strings"));
  }

  const absl::Status taken = acceptor_->Accept(scratch.views, now, &stream_);
  // Memory is kept only for what producers send: a read of very many
  // messages, or one the generated parser took, frees what it needed.
  if (decoded == Decoded::kByGeneratedParser ||
      scratch.views.capacity() > kMaxKeptViews) {
    scratch = DecodeScratch();
  }
  return taken;
}

void ConsumeReactor::CloseWhenDurable() {
  if (!link_->StartClosing()) return;
  // An empty stream names no producer, and waits for nothing of one.
  const ProducerLedger::Standing standing =
      stream_.producer_id().empty()
          ? ProducerLedger::Standing{}
          : acceptor_->ledger().Lookup(stream_.producer_id());
  // Written here, on the FIN's thread, before WhenDurable can finish the
  // call: gRPC reads the response only in Finish (with an OK status).
  *summary_ =
      ByteBufferOf(stream_.Summary(standing.next_sequence).SerializeAsString());
  acceptor_->WhenDurable(standing, link_);
}

}  // namespace messaging
