#include "common/logging.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace messaging {
namespace {

void Log(absl::string_view severity, absl::string_view message) {
  std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                    absl::UTCTimeZone()),
                   " ", severity, " ", message, "\n");
  // One fwrite per line keeps lines from concurrent threads whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

void LogInfo(absl::string_view message) { Log("INFO", message); }
void LogWarning(absl::string_view message) { Log("WARNING", message); }
void LogError(absl::string_view message) { Log("ERROR", message); }

}  // namespace messaging
