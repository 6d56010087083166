// The messages of one producer run, as pure state: which are produced and
// not yet confirmed by the consumer, how many are still to produce and when
// the next one is due (--interval, --rate), and their encodings for the
// wire. The streams (produce_stream.h) send what it gives them; the run
// (producer.h) confirms what the consumer's answers say it holds.
//
// Usage, one per-message stream of it:
//   Production production(options, /*first_sequence=*/0);
//   production.StartStream();
//   while (std::optional<absl::string_view> message =
//              production.NextToSend(&std::cout)) {
//     Write(*message);
//   }
//   production.Confirm(summary.next_sequence());
#ifndef PRODUCER_SERVICE_PRODUCTION_H_
#define PRODUCER_SERVICE_PRODUCTION_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "producer_service/producer_options.h"
#include "protos/messaging/v1/wire/mensaje_encoder.h"

namespace messaging {

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
  // The encoding last returned, moved out to be sent without a copy; the
  // next encoding then allocates its own memory.
  std::string TakeEncoding();

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
  // The encoding of what was last returned for sending: its first
  // `wire_used_` bytes.
  std::string wire_;
  size_t wire_used_ = 0;
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

}  // namespace messaging

#endif  // PRODUCER_SERVICE_PRODUCTION_H_
