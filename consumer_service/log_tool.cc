// log_tool: reads a consumer's message log, also while the consumer runs.
//
//   bazel run //consumer_service:log_tool -- cat --data_dir=DIR \
//       [--from_offset=N] [--producer_id=ID] [--follow]
//   bazel run //consumer_service:log_tool -- verify --data_dir=DIR
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "consumer_service/log_commands.h"

ABSL_FLAG(std::string, data_dir, "", "The consumer's --data_dir.");
ABSL_FLAG(uint64_t, from_offset, 0, "cat: messages from this offset on.");
ABSL_FLAG(std::string, producer_id, "", "cat: only this producer's messages.");
ABSL_FLAG(bool, follow, false,
          "cat: after the end, keep printing new messages (like tail -f).");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "log_tool cat|verify --data_dir=DIR: print a consumer's logged messages "
      "as JSON lines, or check its log.");
  const std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  const std::string command = args.size() == 2 ? args[1] : "";
  if ((command != "cat" && command != "verify") || data_dir.empty()) {
    std::cerr << "usage: log_tool cat|verify --data_dir=DIR (see --help)\n";
    return 2;
  }
  const absl::Status status =
      command == "cat"
          ? messaging::RunCat(
                {data_dir, absl::GetFlag(FLAGS_from_offset),
                 absl::GetFlag(FLAGS_producer_id), absl::GetFlag(FLAGS_follow)},
                std::cout)
          : messaging::RunVerify(data_dir, std::cout);
  if (!status.ok()) {
    std::cerr << "log_tool " << command << ": " << status.message() << "\n";
    return 1;
  }
  return 0;
}
