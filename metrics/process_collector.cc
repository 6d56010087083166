#include "metrics/process_collector.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace messaging::metrics {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) return std::nullopt;
  return std::move(contents).str();
}

// The fields of <proc>/self/stat this collector uses (proc(5)).
struct Stat {
  uint64_t user_ticks = 0;
  uint64_t system_ticks = 0;
  uint64_t threads = 0;
  uint64_t start_ticks = 0;  // After boot.
  uint64_t virtual_bytes = 0;
  uint64_t resident_pages = 0;
};

std::optional<Stat> ParseStat(absl::string_view text) {
  // Field 2 is the command name in parentheses, which may itself hold
  // spaces and parentheses: the fields go on after the last ')'.
  const size_t name_end = text.rfind(')');
  if (name_end == absl::string_view::npos) return std::nullopt;
  const std::vector<absl::string_view> fields =
      absl::StrSplit(text.substr(name_end + 1), ' ', absl::SkipWhitespace());
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  auto field = [&fields](size_t n, uint64_t* value) {
    return n - 3 < fields.size() && absl::SimpleAtoi(fields[n - 3], value);
  };
  Stat stat;
  if (!field(14, &stat.user_ticks) || !field(15, &stat.system_ticks) ||
      !field(20, &stat.threads) || !field(22, &stat.start_ticks) ||
      !field(23, &stat.virtual_bytes) || !field(24, &stat.resident_pages)) {
    return std::nullopt;
  }
  return stat;
}

std::optional<double> ReadBootTime(const std::string& proc) {
  const std::optional<std::string> text = ReadFile(proc + "/stat");
  if (!text.has_value()) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    uint64_t seconds;
    if (absl::ConsumePrefix(&line, "btime ") &&
        absl::SimpleAtoi(line, &seconds)) {
      return static_cast<double>(seconds);
    }
  }
  return std::nullopt;
}

// The soft "Max open files" of <proc>/self/limits, as client_golang reads
// it; "unlimited" is +Inf.
std::optional<double> ReadMaxFds(const std::string& proc) {
  const std::optional<std::string> text = ReadFile(proc + "/self/limits");
  if (!text.has_value()) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (!absl::ConsumePrefix(&line, "Max open files")) continue;
    const std::vector<absl::string_view> limits =
        absl::StrSplit(line, ' ', absl::SkipWhitespace());
    uint64_t soft;
    if (limits.empty()) return std::nullopt;
    if (limits[0] == "unlimited") {
      return std::numeric_limits<double>::infinity();
    }
    if (!absl::SimpleAtoi(limits[0], &soft)) return std::nullopt;
    return static_cast<double>(soft);
  }
  return std::nullopt;
}

// Entries of <proc>/self/fd, less the one this listing opens.
std::optional<double> CountOpenFds(const std::string& proc) {
  DIR* directory = opendir((proc + "/self/fd").c_str());
  if (directory == nullptr) return std::nullopt;
  const std::string own_fd = absl::StrCat(dirfd(directory));
  uint64_t count = 0;
  while (const dirent* entry = readdir(directory)) {
    const absl::string_view name = entry->d_name;
    if (name != "." && name != ".." && name != own_fd) ++count;
  }
  closedir(directory);
  return static_cast<double>(count);
}

void WriteGauge(absl::string_view name, absl::string_view help, double value,
                Exposition* out) {
  out->Family(name, help, MetricType::kGauge);
  out->Sample({}, value);
}

}  // namespace

ProcessCollector::ProcessCollector(absl::string_view proc)
    : proc_(proc),
      ticks_per_second_(sysconf(_SC_CLK_TCK)),
      page_bytes_(sysconf(_SC_PAGESIZE)),
      boot_time_seconds_(ReadBootTime(proc_)) {}

void ProcessCollector::Collect(Exposition* out) const {
  const std::optional<std::string> stat_text = ReadFile(proc_ + "/self/stat");
  const std::optional<Stat> stat =
      stat_text.has_value() ? ParseStat(*stat_text) : std::nullopt;
  if (stat.has_value()) {
    out->Family("process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
                MetricType::kCounter);
    out->Sample({}, static_cast<double>(stat->user_ticks + stat->system_ticks) /
                        ticks_per_second_);
  }
  if (const std::optional<double> open = CountOpenFds(proc_)) {
    WriteGauge("process_open_fds", "Number of open file descriptors.", *open,
               out);
  }
  if (const std::optional<double> max = ReadMaxFds(proc_)) {
    WriteGauge("process_max_fds", "Maximum number of open file descriptors.",
               *max, out);
  }
  if (!stat.has_value()) return;
  WriteGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
             static_cast<double>(stat->virtual_bytes), out);
  WriteGauge("process_resident_memory_bytes", "Resident memory size in bytes.",
             static_cast<double>(stat->resident_pages) * page_bytes_, out);
  if (boot_time_seconds_.has_value()) {
    WriteGauge("process_start_time_seconds",
               "Start time of the process since unix epoch in seconds.",
               *boot_time_seconds_ +
                   static_cast<double>(stat->start_ticks) / ticks_per_second_,
               out);
  }
  WriteGauge("process_threads", "Number of OS threads in the process.",
             static_cast<double>(stat->threads), out);
}

}  // namespace messaging::metrics
