// gRPC metadata keys that consumer and producer agree on, beside the
// protos/ contract (which cannot hold constants).
//
// Usage, on the consumer:
//   context->AddTrailingMetadata(kRetryPushbackKey, "1000");
#ifndef COMMON_METADATA_KEYS_H_
#define COMMON_METADATA_KEYS_H_

namespace messaging {

// Trailing metadata on a stream refused for too many open streams: how long
// the producer should wait before trying again, in milliseconds. Not a
// "grpc-" key: those are reserved for gRPC itself.
inline constexpr char kRetryPushbackKey[] = "retry-pushback-ms";

}  // namespace messaging

#endif  // COMMON_METADATA_KEYS_H_
