// libFuzzer target for the in-place decoding of what producers send: for
// any bytes, decoding them as a read of a Consume or a ConsumeBatches
// stream must agree with the generated parser, valid or not.
//
//   cp -r protos/messaging/v1/wire/testdata/mensaje_decoder_fuzzer_corpus
//       /tmp/corpus
//   bazel run --config=fuzz
//       //protos/messaging/v1/wire:mensaje_decoder_fuzzer --
//       -runs=100000 /tmp/corpus
//
// In an ordinary `bazel test` the same function runs over the seed corpus
// only, as a regression test. consumer_service:message_fuzzer covers what
// the consumer does with the decoded messages and its log records.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "protos/messaging/v1/wire/mensaje_decoder.h"
#include "protos/messaging/v1/wire/viewed_mensaje.h"

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
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  // Kept across inputs, as a stream's reads share it.
  static auto* const kept = new DecodeScratch;
  CheckBatchDecoding(input, kept);
  CheckMessageDecoding(input, kept);
  return 0;
}
