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

namespace {

using messaging::Decoded;

// Decodes `bytes` into `kept`, which holds what earlier inputs left, as a
// consumer thread's kept message does, and traps unless the outcome is the
// generated parser's.
template <typename Message>
void CheckInPlaceDecoding(absl::string_view bytes, Message* kept,
                          Decoded (*decode)(absl::string_view, Message*)) {
  Message expected;
  const bool valid =
      expected.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  const Decoded decoded = decode(bytes, kept);
  if ((decoded != Decoded::kMalformed) != valid) __builtin_trap();
  if (valid && kept->SerializeAsString() != expected.SerializeAsString()) {
    __builtin_trap();
  }
  if (decoded != Decoded::kInPlace) *kept = Message();  // as the consumer does
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using messaging::DecodeRecord;
  using messaging::DecodeResult;
  absl::string_view input(reinterpret_cast<const char*>(data), size);

  // The whole input as a read of either kind of stream.
  static auto* const kept_batch = new messaging::v1::MensajeBatch;
  static auto* const kept_message = new messaging::v1::Mensaje;
  CheckInPlaceDecoding(input, kept_batch, &messaging::DecodeMensajeBatch);
  CheckInPlaceDecoding(input, kept_message, &messaging::DecodeMensaje);
  messaging::ConsumeStream stream;
  messaging::ProducerLedger ledger;
  messaging::v1::Mensaje message;
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
    if (!stream.Check(message).ok()) continue;
    std::vector<messaging::ProducerLedger::Verdict> verdicts;
    if (ledger.Admit({&message}, /*log=*/nullptr, &verdicts).ok() &&
        verdicts.at(0) == messaging::ProducerLedger::Verdict::kAccepted) {
      stream.RecordAccepted(message, absl::Now());
    }
  }
  stream.Summary(ledger.Lookup(stream.producer_id()).next_sequence);
  return 0;
}
