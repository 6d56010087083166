// What a producer run is told: ProducerOptions (main.cc fills them from
// the flags; its comments are the description of each option), their
// validation, and which consumer of a sharded set a producer talks to.
//
// Usage:
//   ProducerOptions options;
//   options.producer_id = "host-1";
//   options.count = 10;
//   if (absl::Status valid = ValidateProducerOptions(options); !valid.ok()) {
//     ...  // valid.message() names the flag at fault
//   }
//   const std::string target = ResolveTarget(options);
#ifndef PRODUCER_SERVICE_PRODUCER_OPTIONS_H_
#define PRODUCER_SERVICE_PRODUCER_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/tls_files.h"

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
  // The whole run, retries included, must end within this. When it passes
  // during a stream, the producer makes no more messages and closes the
  // stream, so that what was sent is confirmed, and the run ends with
  // DEADLINE_EXCEEDED.
  absl::Duration deadline = absl::Minutes(10);
  // Messages kept until the consumer confirms them, at most. Once a quarter
  // of this many wait, the stream asks the consumer beside itself
  // (GetProducerState) what it holds and drops what is confirmed, so a long
  // stream goes on without closing; at the limit it produces nothing more
  // and waits for those answers. Only if a query fails, or they confirm
  // nothing new for a second, does it close the stream to get everything
  // confirmed by the consumer's summary. With several streams this is the
  // producer's budget, split evenly over them (each keeps at least 1,024,
  // or two batches, up to this), so memory does not grow with --streams.
  // A message costs the producer 8 bytes here (it re-encodes what it
  // resends), so the default costs 2 MiB; 65,536 left one batched stream to
  // a durable consumer waiting for confirmations a third of the time.
  int64_t max_unconfirmed = 262144;
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
  // Connections the streams are spread over, round-robin (at most one per
  // stream), each with its own share of gRPC's work. Alternating harness
  // runs on the 2-core benchmark machine: one connection carried 1,000
  // batched streams slower than four (4.9-5.1 M msgs/s against 5.8-6.2 M,
  // with 7 MiB more producer memory) and 1,000 per-message streams no
  // faster (124-141 k against 132-139 k).
  int channels = 4;
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

}  // namespace messaging

#endif  // PRODUCER_SERVICE_PRODUCER_OPTIONS_H_
