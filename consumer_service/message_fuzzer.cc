// libFuzzer target for what the consumer does with bytes it did not make:
// log recovery's record decoder, the in-place decoding of reads (which must
// agree with the generated parser), and the validation of incoming
// messages.
//
//   cp -r consumer_service/testdata/message_fuzzer_corpus /tmp/corpus
//   bazel run --config=fuzz //consumer_service:message_fuzzer -- -runs=100000
//   /tmp/corpus
//
// In an ordinary `bazel test` the same function runs over the seed corpus
// only, as a regression test.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "consumer_service/consume_stream.h"
#include "consumer_service/log_record.h"
#include "consumer_service/mensaje_decoder.h"
#include "consumer_service/producer_ledger.h"
#include "consumer_service/viewed_mensaje.h"

namespace {

using messaging::Decoded;
using messaging::DecodeScratch;
using messaging::MensajeView;
using messaging::ViewsTheSameMessage;
using messaging::v1::Mensaje;

// Decodes `bytes` as a read of a ConsumeBatches stream, and traps unless
// the outcome is the generated parser's.
void CheckBatchDecoding(absl::string_view bytes, DecodeScratch* kept) {
  messaging::v1::MensajeBatch expected;
  const bool valid =
      expected.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  const Decoded decoded =
      messaging::DecodeMensajeBatch(bytes, &kept->views, &kept->parsed);
  if ((decoded != Decoded::kMalformed) != valid) __builtin_trap();
  if (!valid) return;
  if (kept->views.size() != static_cast<size_t>(expected.messages_size())) {
    __builtin_trap();
  }
  for (int i = 0; i < expected.messages_size(); ++i) {
    if (!ViewsTheSameMessage(kept->views[i], expected.messages(i))) {
      __builtin_trap();
    }
  }
}

// The same for a read of a Consume stream.
void CheckMessageDecoding(absl::string_view bytes, DecodeScratch* kept) {
  Mensaje expected;
  const bool valid =
      expected.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  kept->views.resize(1);
  const Decoded decoded =
      messaging::DecodeMensaje(bytes, &kept->views[0], &kept->parsed);
  if ((decoded != Decoded::kMalformed) != valid) __builtin_trap();
  if (valid && !ViewsTheSameMessage(kept->views[0], expected)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using messaging::DecodeRecord;
  using messaging::DecodeResult;
  absl::string_view input(reinterpret_cast<const char*>(data), size);

  // The whole input as a read of either kind of stream.
  static auto* const kept = new DecodeScratch;
  CheckBatchDecoding(input, kept);
  CheckMessageDecoding(input, kept);
  messaging::ConsumeStream stream;
  messaging::ProducerLedger ledger;
  Mensaje message;
  // Read records the way recovery does, and treat each whole one as a
  // message arriving on a stream.
  while (!input.empty()) {
    absl::string_view payload;
    size_t record_size = 0;
    if (DecodeRecord(input, &payload, &record_size) != DecodeResult::kRecord) {
      break;
    }
    if (record_size < messaging::kRecordHeaderBytes ||
        record_size > input.size()) {
      __builtin_trap();  // the decoder must never overrun its input
    }
    input.remove_prefix(record_size);
    if (!message.ParseFromArray(payload.data(),
                                static_cast<int>(payload.size()))) {
      continue;
    }
    const messaging::ViewedMensaje viewed(message);
    if (!stream.Check(viewed).ok()) continue;
    std::vector<messaging::ProducerLedger::Verdict> verdicts;
    if (ledger.Admit({viewed}, /*log=*/nullptr, &verdicts).ok() &&
        verdicts.at(0) == messaging::ProducerLedger::Verdict::kAccepted) {
      stream.RecordAccepted(viewed, absl::Now());
    }
  }
  stream.Summary(ledger.Lookup(stream.producer_id()).next_sequence);
  return 0;
}
