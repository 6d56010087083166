// The commands of log_tool, which reads a consumer's message log without
// its lock (so also while the consumer writes it).
//
//   cat:    one JSON object per message (consumer::v1::LoggedMessage).
//   verify: every record's checksum, every snapshot's, and that each
//           producer's sequences are unique and contiguous across segments.
//
// Usage:
//   absl::Status status = RunCat({.data_dir = "/var/lib/consumer"}, std::cout);
//   absl::Status ok = RunVerify("/var/lib/consumer", std::cout);
#ifndef CONSUMER_SERVICE_LOG_COMMANDS_H_
#define CONSUMER_SERVICE_LOG_COMMANDS_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace messaging {

struct CatOptions {
  std::string data_dir;
  // Messages from this offset on.
  uint64_t from_offset = 0;
  // Only this producer's messages; empty: all.
  std::string producer_id;
  // Like tail -f: after the end, keep printing new messages.
  bool follow = false;
  absl::Duration poll_interval = absl::Milliseconds(200);
};

// Prints the messages; with `follow`, returns only on an error.
absl::Status RunCat(const CatOptions& options, std::ostream& out);

// Prints one line per producer (its sequences, count and offsets), then a
// summary; the first problem found as the error, naming file and offset.
absl::Status RunVerify(const std::string& data_dir, std::ostream& out);

}  // namespace messaging

#endif  // CONSUMER_SERVICE_LOG_COMMANDS_H_
