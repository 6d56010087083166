// Fills a new consumer message log with --messages demo messages of one
// producer, for the restart scenarios of //benchmarks: what a consumer that
// accepted them would have left in its --data_dir, written without gRPC.
//
//   bazel run -c opt //benchmarks:log_filler -- --data_dir=DIR --messages=N
//
// The records are the producer's own encodings (MensajeEncoder, byte for
// byte what producer_service sends), appended with MessageLog itself in
// runs of --batch_size, and the log is rolled as the consumer's Acceptor
// rolls it: when ShouldRoll() says so, with the ProducerLedger's snapshot of
// the records before. It ends as a consumer killed with SIGKILL would leave
// it (every record written, no shutdown snapshot), so that the next start
// replays the active segment from the last roll's snapshot. Writes are left
// to the kernel (--log_sync=none): filling measures nothing.
//
// Prints one line, "log_filler: <messages> messages in <data_dir>",
// and exits 0; 2 on bad flags, 1 if the log cannot be opened or written.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "consumer_service/message_log.h"
#include "consumer_service/producer_ledger.h"
#include "google/protobuf/util/time_util.h"
#include "protos/messaging/v1/messaging.pb.h"
#include "protos/messaging/v1/wire/mensaje_encoder.h"

ABSL_FLAG(std::string, data_dir, "",
          "The log's directory: new, or empty (created if missing).");
ABSL_FLAG(uint64_t, messages, 0, "Messages to append.");
ABSL_FLAG(int64_t, payload_bytes, 64, "Bytes of payload per message.");
ABSL_FLAG(std::string, producer_id, "restart-bench",
          "The producer of every message.");
ABSL_FLAG(int, batch_size, 256, "Messages per Append, as a batched stream.");
ABSL_FLAG(uint64_t, log_segment_bytes, uint64_t{64} << 20,
          "Roll to a new segment once the active one holds this many bytes, "
          "as the consumer's flag of the same name.");

namespace messaging {
namespace {

// At most this many messages are queued in the log and not yet written:
// appending waits for the records of the window before, so that memory
// stays bounded however far the disk falls behind.
constexpr uint64_t kWindowMessages = uint64_t{1} << 16;
constexpr int64_t kMaxPayloadBytes = int64_t{1} << 20;
constexpr int kMaxBatchSize = 1 << 16;

struct FillOptions {
  std::string data_dir;
  uint64_t messages = 0;
  int64_t payload_bytes = 0;
  std::string producer_id;
  int batch_size = 0;
  uint64_t segment_bytes = 0;
};

// Waits until every record below `offset` is written.
absl::Status AwaitWritten(MessageLog& log, uint64_t offset) {
  absl::Notification done;
  absl::Status written;
  log.WhenDurable(offset, [&](absl::Status status) {
    written = std::move(status);
    done.Notify();
  });
  done.WaitForNotification();
  return written;
}

absl::Status Fill(const FillOptions& options) {
  MessageLogOptions log_options;
  log_options.directory = options.data_dir;
  log_options.sync = LogSync::kNone;
  log_options.segment_bytes = options.segment_bytes;
  log_options.retention = {0, absl::InfiniteDuration()};
  ProducerLedger ledger;
  absl::StatusOr<std::unique_ptr<MessageLog>> opened =
      MessageLog::Open(log_options, &ledger);
  if (!opened.ok()) return opened.status();
  MessageLog& log = **opened;
  if (log.recovery().end_offset != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        options.data_dir, " already holds ", log.recovery().end_offset,
        " messages; give log_filler a new or empty --data_dir"));
  }

  MensajeEncoder encoder(options.producer_id, options.payload_bytes);
  std::string buffer(options.batch_size * encoder.max_encoded_size(), '\0');
  std::vector<absl::string_view> encodings;
  encodings.reserve(options.batch_size);
  // The ledger needs only these fields of a producer's last message.
  v1::Mensaje last;
  last.set_producer_id(options.producer_id);
  uint64_t window_end = 0;  // the offset the last window ended at
  for (uint64_t sequence = 0; sequence < options.messages;) {
    const uint64_t count =
        std::min<uint64_t>(options.batch_size, options.messages - sequence);
    const absl::Time now = absl::Now();
    encodings.clear();
    char* at = buffer.data();
    for (uint64_t i = 0; i < count; ++i) {
      char* end =
          encoder.Encode(sequence + i, now, MensajeEncoder::kMessage, at);
      encodings.emplace_back(at, end - at);
      at = end;
    }
    // As Acceptor::Admit: roll before the append, with the state as of the
    // records before it; then record the producer's new standing.
    if (log.ShouldRoll()) log.Roll(ledger.Snapshot());
    absl::StatusOr<uint64_t> appended = log.Append(encodings);
    if (!appended.ok()) return appended.status();
    sequence += count;
    last.set_sequence(sequence - 1);
    *last.mutable_created_at() =
        google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
            absl::ToUnixNanos(now));
    ledger.Restore(last, *appended);
    if (*appended - window_end >= kWindowMessages) {
      if (absl::Status written = AwaitWritten(log, window_end); !written.ok()) {
        return written;
      }
      window_end = *appended;
    }
  }
  if (absl::Status written = AwaitWritten(log, options.messages);
      !written.ok()) {
    return written;
  }
  std::printf("log_filler: %llu messages in %s\n",
              static_cast<unsigned long long>(options.messages),
              options.data_dir.c_str());
  return absl::OkStatus();
}

int RunLogFiller() {
  FillOptions options;
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.messages = absl::GetFlag(FLAGS_messages);
  options.payload_bytes = absl::GetFlag(FLAGS_payload_bytes);
  options.producer_id = absl::GetFlag(FLAGS_producer_id);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.segment_bytes = absl::GetFlag(FLAGS_log_segment_bytes);
  if (options.data_dir.empty() || options.producer_id.empty() ||
      options.messages < 1 || options.segment_bytes < 1 ||
      options.batch_size < 1 || options.batch_size > kMaxBatchSize ||
      options.payload_bytes < 0 || options.payload_bytes > kMaxPayloadBytes) {
    std::fprintf(stderr,
                 "log_filler: --data_dir and --producer_id must be set, "
                 "--messages and --log_segment_bytes >= 1, --batch_size from "
                 "1 to %d and --payload_bytes from 0 to %lld\n",
                 kMaxBatchSize, static_cast<long long>(kMaxPayloadBytes));
    return 2;
  }
  if (absl::Status filled = Fill(options); !filled.ok()) {
    std::fprintf(stderr, "log_filler: %s\n",
                 std::string(filled.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace messaging

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return messaging::RunLogFiller();
}
