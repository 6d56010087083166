// Micro-benchmarks of the message codec, per message of a batch of 256
// messages with 64-byte payloads, as the batched rows of //benchmarks send:
//
//   bazel run -c opt //benchmarks:codec_benchmark
//
// Each side against what it replaced: the consumer's in-place decoder, into
// views kept from batch to batch, against the generated parser, into a
// message kept the same way; the producer's encoder against filling kept
// messages and serializing them with the generated code.
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "protos/messaging/v1/messaging.pb.h"
#include "protos/messaging/v1/wire/mensaje_decoder.h"
#include "protos/messaging/v1/wire/mensaje_encoder.h"

namespace messaging {
namespace {

constexpr int kBatchSize = 256;
constexpr int kPayloadBytes = 64;
constexpr char kProducerId[] = "bench-1";
constexpr uint64_t kFirstSequence = 1'000'000;

// Encodes the batch of messages from `first_sequence` into `wire`, which
// keeps its room from batch to batch as the producer's batches do; returns
// the size encoded.
size_t EncodeBatch(MensajeEncoder& encoder, uint64_t first_sequence,
                   absl::Time now, std::string* wire) {
  const size_t room = kBatchSize * encoder.max_encoded_size();
  if (wire->size() < room) wire->resize(room);
  char* end = wire->data();
  for (int i = 0; i < kBatchSize; ++i) {
    end = encoder.Encode(first_sequence + i, now, MensajeEncoder::kBatchElement,
                         end);
  }
  return static_cast<size_t>(end - wire->data());
}

std::string EncodedBatch() {
  MensajeEncoder encoder(kProducerId, kPayloadBytes);
  std::string wire;
  wire.resize(EncodeBatch(encoder, kFirstSequence, absl::Now(), &wire));
  return wire;
}

void BM_DecodeWithGeneratedParser(benchmark::State& state) {
  const std::string wire = EncodedBatch();
  v1::MensajeBatch batch;
  for (auto _ : state) {
    benchmark::DoNotOptimize(batch.ParseFromString(wire));
  }
  state.SetItemsProcessed(state.iterations() * kBatchSize);
}
BENCHMARK(BM_DecodeWithGeneratedParser);

void BM_DecodeInPlace(benchmark::State& state) {
  const std::string wire = EncodedBatch();
  std::vector<MensajeView> views;
  ParsedMessages parsed;
  for (auto _ : state) {
    benchmark::DoNotOptimize(DecodeMensajeBatch(wire, &views, &parsed));
  }
  state.SetItemsProcessed(state.iterations() * kBatchSize);
}
BENCHMARK(BM_DecodeInPlace);

void BM_EncodeWithGeneratedSerializer(benchmark::State& state) {
  v1::MensajeBatch batch;
  for (int i = 0; i < kBatchSize; ++i) batch.add_messages();
  const std::string payload(kPayloadBytes, 'x');
  uint64_t sequence = kFirstSequence;
  std::string wire;
  for (auto _ : state) {
    const timespec now = absl::ToTimespec(absl::Now());
    // As the producer's MensajeFactory::Fill did: only the fields that
    // change are written again on a kept message.
    for (v1::Mensaje& message : *batch.mutable_messages()) {
      if (message.producer_id() != kProducerId) {
        message.set_producer_id(kProducerId);
      }
      if (message.payload().size() != payload.size()) {
        message.set_payload(payload);
      }
      message.set_sequence(sequence);
      std::string* text = message.mutable_text();
      text->assign("Mensaje ");
      absl::StrAppend(text, sequence++);
      message.mutable_created_at()->set_seconds(now.tv_sec);
      message.mutable_created_at()->set_nanos(
          static_cast<int32_t>(now.tv_nsec));
    }
    wire.clear();
    benchmark::DoNotOptimize(batch.SerializeToString(&wire));
  }
  state.SetItemsProcessed(state.iterations() * kBatchSize);
}
BENCHMARK(BM_EncodeWithGeneratedSerializer);

void BM_EncodeInPlace(benchmark::State& state) {
  MensajeEncoder encoder(kProducerId, kPayloadBytes);
  uint64_t sequence = kFirstSequence;
  std::string wire;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        EncodeBatch(encoder, sequence, absl::Now(), &wire));
    sequence += kBatchSize;
  }
  state.SetItemsProcessed(state.iterations() * kBatchSize);
}
BENCHMARK(BM_EncodeInPlace);

}  // namespace
}  // namespace messaging

BENCHMARK_MAIN();
