// The one place where a message becomes accepted, durable and counted: the
// Acceptor owns the ProducerLedger (which decides) and the MessageLog
// (which keeps), and counts what they let through.
//
// The path of one message, file by file, with the thread of each step:
//
//   1. producer_service/producer.cc: a ProduceReactor encodes the Mensaje
//      (protos/messaging/v1/wire/mensaje_encoder.h) and writes it on a
//      Consume or ConsumeBatches stream.
//   2. consume_reactor.cc: gRPC hands the read to ConsumeReactor::OnReadDone
//      on one of its callback threads (one read of a stream at a time).
//   3. Same thread: the reactor decodes the read into MensajeViews, in place
//      (protos/messaging/v1/wire/mensaje_decoder.h).
//   4. Same thread: Acceptor::Accept checks the stream's rules
//      (consume_stream.h); then, under the acceptor's admission lock, the
//      ledger judges each message (accepted, duplicate, or a gap that ends
//      the stream; producer_ledger.h), the accepted ones are appended to
//      the log (message_log.h: queued, with the position they end at), and
//      the ledger records the producer's new standing and counts. Outside
//      the lock: the stream's and the consumer's totals
//      (ConsumerStatsRecorder) and the "Consumiendo: ..." line.
//   5. The log's writer thread writes what has gathered and fdatasyncs it:
//      the message is durable.
//   6. At the producer's FIN, OnReadDone(false) on a gRPC thread: the
//      reactor serializes its summary itself, then calls WhenDurable with
//      the producer's standing.
//   7. The log's writer thread (or the FIN's thread, when it already is
//      durable) calls DurabilityWaiter::OnDurable, which finishes the call;
//      gRPC sends the summary, then calls OnDone, the reactor's end.
//
// Counting happens at step 4, when a message is accepted; durability is
// promised only through WhenDurable (the summary, GetProducerState).
//
// Usage:
//   ConsumerStatsRecorder stats(absl::Now());
//   Acceptor acceptor(std::make_unique<ProducerLedger>(), /*log=*/nullptr,
//                     &stats, /*console=*/nullptr);
//   ConsumeStream stream;
//   absl::Status accepted = acceptor.Accept(views, absl::Now(), &stream);
//   acceptor.WhenDurable(acceptor.ledger().Lookup(stream.producer_id()),
//                        waiter);  // a std::shared_ptr<DurabilityWaiter>
#ifndef CONSUMER_SERVICE_ACCEPTOR_H_
#define CONSUMER_SERVICE_ACCEPTOR_H_

#include <memory>
#include <ostream>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "consumer_service/consume_stream.h"
#include "consumer_service/consumer_stats.h"
#include "consumer_service/message_log.h"
#include "consumer_service/producer_ledger.h"
#include "protos/messaging/v1/wire/mensaje_view.h"

namespace messaging {

// Told once that a stream paused for the log may read on
// (Acceptor::WhenLogHasRoom).
class LogRoomWaiter {
 public:
  virtual ~LogRoomWaiter() = default;
  // On the log's writer thread; must not block, nor call into the acceptor.
  virtual void OnLogRoom() = 0;
};

// Told once that what it waited for (Acceptor::WhenDurable) is durable.
class DurabilityWaiter {
 public:
  virtual ~DurabilityWaiter() = default;

  // OK once everything waited for is durable; UNAVAILABLE if the log could
  // not write it. Runs on the log's writer thread, or at once on the thread
  // that called WhenDurable; must not block, nor call into the acceptor.
  virtual void OnDurable(absl::Status durable) = 0;
};

class Acceptor : public LogEventListener {
 public:
  // `log` may be null: accepted messages are kept in memory only and are
  // durable at once. `console`, when not null, gets one "Consumiendo:
  // <text>" line per accepted message. `stats` must outlive the acceptor.
  // Producers idle for `producer_state_expiry` are forgotten (checked
  // every tenth of it, between once a second and once a minute).
  Acceptor(std::unique_ptr<ProducerLedger> ledger,
           std::unique_ptr<MessageLog> log, ConsumerStatsRecorder* stats,
           std::ostream* console,
           absl::Duration producer_state_expiry = absl::InfiniteDuration());

  // Closes the log first, while the rest is alive: its last writes still
  // call OnDurable.
  ~Acceptor() override;

  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  // Takes the messages of one read of `stream`, in order, at `now`: each
  // must pass the stream's rules, then the ledger's; accepted ones are
  // appended to the log and counted, duplicates counted and dropped. The
  // first message refused ends the read with its error (INVALID_ARGUMENT,
  // FAILED_PRECONDITION for a gap, or the log's UNAVAILABLE), and the
  // messages before it stay accepted; after a log error, none of this
  // read's messages is. Thread-safe; one read of a stream at a time.
  absl::Status Accept(absl::Span<const MensajeView> messages, absl::Time now,
                      ConsumeStream* stream);

  // Calls waiter->OnDurable once everything `standing` counts (a producer's
  // messages below its next_sequence) is durable. `waiter` is kept until
  // then, so it may outlive whoever registered it.
  void WhenDurable(const ProducerLedger::Standing& standing,
                   std::shared_ptr<DurabilityWaiter> waiter);

  // True when a stream may read on at once after an Accept; otherwise the
  // log's queue is full (producers outrun the disk) and `waiter` is told
  // once it has room (MessageLog::WhenQueueHasRoom): the stream pauses, and
  // gRPC's flow control holds its producer back.
  bool WhenLogHasRoom(std::shared_ptr<LogRoomWaiter> waiter);

  // Has the log write a producer-state snapshot at its current end, for a
  // clean shutdown, so that the next start replays nothing. Call once no
  // stream can Accept any more.
  void SnapshotForShutdown();

  // LogEventListener: counts the messages that became durable. The
  // consumer forwards the log's events here (OnHealthChanged is its own).
  void OnDurable(uint64_t offset) override;
  void OnHealthChanged(const absl::Status& /*error*/) override {}

  // What the ledger knows, to read; only Accept changes it.
  const ProducerLedger& ledger() const { return *ledger_; }
  // Null when nothing survives a restart.
  const MessageLog* log() const { return log_.get(); }

 private:
  // Judges `messages` and appends the accepted ones to the log, under
  // admission_mutex_, so each producer's messages reach the log in sequence
  // order and the ledger changes only when the append succeeded. Rolls the
  // log first when it is due: under that lock the ledger describes exactly
  // the records appended so far, which is what the roll's snapshot must.
  // `*end_offset` gets the log's offset after the accepted ones.
  absl::Status Admit(absl::Span<const MensajeView> messages, absl::Time now,
                     std::vector<ProducerLedger::Verdict>* verdicts,
                     uint64_t* end_offset);
  // Forgets the producers idle past the expiry, when a check is due.
  void MaybeForgetIdle(absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(admission_mutex_);
  // Counts `messages` and `bytes` once the log is durable below
  // `end_offset`: at once if it already is.
  void CountWhenDurable(uint64_t end_offset, uint64_t messages, uint64_t bytes);
  void PrintConsumed(const MensajeView& message);

  const std::unique_ptr<ProducerLedger> ledger_;
  // Not const: the destructor closes it first (see there).
  std::unique_ptr<MessageLog> log_;
  ConsumerStatsRecorder* const stats_;

  const absl::Duration producer_state_expiry_;
  const absl::Duration expiry_check_interval_;

  absl::Mutex admission_mutex_;
  absl::Time next_expiry_check_ ABSL_GUARDED_BY(admission_mutex_) =
      absl::InfinitePast();

  // Accepted messages not yet durable, and so not yet counted in stats_:
  // reads' {end offset, messages, bytes}, in no particular order (reads
  // of different streams finish Accept in any order). Few: only what
  // arrives between two group commits, or while writes fail and the log
  // refuses more.
  struct Uncounted {
    uint64_t end_offset;
    uint64_t messages;
    uint64_t bytes;
  };
  absl::Mutex uncounted_mutex_;
  std::vector<Uncounted> uncounted_ ABSL_GUARDED_BY(uncounted_mutex_);
  uint64_t durable_offset_ ABSL_GUARDED_BY(uncounted_mutex_) = 0;

  absl::Mutex console_mutex_;
  std::ostream* const console_ ABSL_PT_GUARDED_BY(console_mutex_);
};

}  // namespace messaging

#endif  // CONSUMER_SERVICE_ACCEPTOR_H_
