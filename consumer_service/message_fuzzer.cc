// libFuzzer target for what the consumer does with bytes it did not make:
// log recovery's record decoder, and the Acceptor's validation,
// de-duplication and counting of the messages in the records. (The decoding of
// reads has its own target,
// //protos/messaging/v1/wire:mensaje_decoder_fuzzer.)
//
//   cp -r consumer_service/testdata/message_fuzzer_corpus /tmp/corpus
//   bazel run --config=fuzz //consumer_service:message_fuzzer -- -runs=100000
//   /tmp/corpus
//
// In an ordinary `bazel test` the same function runs over the seed corpus
// only, as a regression test.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "consumer_service/acceptor.h"
#include "consumer_service/consume_stream.h"
#include "consumer_service/consumer_stats.h"
#include "consumer_service/log_record.h"
#include "consumer_service/producer_ledger.h"
#include "protos/messaging/v1/wire/viewed_mensaje.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using messaging::DecodeRecord;
  using messaging::DecodeResult;
  absl::string_view input(reinterpret_cast<const char*>(data), size);

  messaging::ConsumerStatsRecorder stats(absl::Now());
  messaging::Acceptor acceptor(std::make_unique<messaging::ProducerLedger>(),
                               /*log=*/nullptr, &stats, /*console=*/nullptr);
  messaging::ConsumeStream stream;
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
    // A refused message ends a real stream; here the next record goes on.
    acceptor.Accept({messaging::ViewedMensaje(message)}, absl::Now(), &stream)
        .IgnoreError();
  }
  stream.Summary(acceptor.ledger().Lookup(stream.producer_id()).next_sequence);
  stats.Snapshot(absl::Now());
  return 0;
}
