#include "metrics/process_collector.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/exposition.h"

namespace messaging::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Collect(const ProcessCollector& collector) {
  Exposition out;
  collector.Collect(&out);
  return std::move(out).Text();
}

// A directory laid out like /proc, under TEST_TMPDIR.
class FakeProc {
 public:
  explicit FakeProc(absl::string_view name)
      : root_(std::filesystem::path(std::getenv("TEST_TMPDIR")) /
              std::string(name)) {
    std::filesystem::create_directories(root_ / "self");
  }
  ~FakeProc() { std::filesystem::remove_all(root_); }

  void Write(const std::string& relative, absl::string_view text) {
    std::ofstream(root_ / relative) << text;
  }
  void AddFds(int count) {
    std::filesystem::create_directories(root_ / "self/fd");
    // Not numbers: none may look like the descriptor that lists them.
    for (int i = 0; i < count; ++i) Write(absl::StrCat("self/fd/f", i), "");
  }
  std::string root() const { return root_.string(); }

 private:
  const std::filesystem::path root_;
};

TEST(ProcessCollectorTest, WritesEveryMetricFromProcExactly) {
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page = sysconf(_SC_PAGESIZE);
  ASSERT_EQ(ticks % 2, 0) << "the expected CPU time below needs even ticks";
  FakeProc proc("exact");
  // The command name holds a space and parentheses, as one may.
  proc.Write("self/stat",
             absl::StrCat("4242 (consumer (x) y) S 1 4242 4242 0 -1 4194560 ",
                          "100 0 0 0 ", 3 * ticks, " ", ticks / 2,
                          " 0 0 20 0 9 0 ", 10 * ticks,
                          " 123456789 1000 18446744073709551615 1 1 0 0\n"));
  proc.AddFds(4);
  proc.Write("self/limits",
             "Limit                     Soft Limit           Hard Limit      "
             "     Units     \n"
             "Max cpu time              unlimited            unlimited       "
             "     seconds   \n"
             "Max open files            1024                 524288          "
             "     files     \n");
  proc.Write("stat", "cpu  1 2 3 4\nbtime 1700000000\nprocesses 7\n");

  EXPECT_EQ(
      Collect(ProcessCollector(proc.root())),
      absl::StrCat(
          "# HELP process_cpu_seconds_total Total user and system CPU time "
          "spent in seconds.\n"
          "# TYPE process_cpu_seconds_total counter\n"
          "process_cpu_seconds_total 3.5\n"
          "# HELP process_open_fds Number of open file descriptors.\n"
          "# TYPE process_open_fds gauge\n"
          "process_open_fds 4\n"
          "# HELP process_max_fds Maximum number of open file descriptors.\n"
          "# TYPE process_max_fds gauge\n"
          "process_max_fds 1024\n"
          "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
          "# TYPE process_virtual_memory_bytes gauge\n"
          "process_virtual_memory_bytes 123456789\n"
          "# HELP process_resident_memory_bytes Resident memory size in "
          "bytes.\n"
          "# TYPE process_resident_memory_bytes gauge\n"
          "process_resident_memory_bytes ",
          1000 * page,
          "\n"
          "# HELP process_start_time_seconds Start time of the process since "
          "unix epoch in seconds.\n"
          "# TYPE process_start_time_seconds gauge\n"
          "process_start_time_seconds 1700000010\n"
          "# HELP process_threads Number of OS threads in the process.\n"
          "# TYPE process_threads gauge\n"
          "process_threads 9\n"));
}

TEST(ProcessCollectorTest, UnlimitedOpenFilesIsInf) {
  FakeProc proc("unlimited");
  proc.Write("self/limits",
             "Max open files            unlimited            unlimited     "
             "       files     \n");
  EXPECT_THAT(Collect(ProcessCollector(proc.root())),
              HasSubstr("\nprocess_max_fds +Inf\n"));
}

TEST(ProcessCollectorTest, WhatCannotBeReadIsLeftOutAndTheRestWritten) {
  FakeProc proc("partial");
  EXPECT_EQ(Collect(ProcessCollector(proc.root())), "");

  proc.AddFds(2);
  proc.Write("self/stat", "12 (truncated) S 1 2 3\n");
  const std::string text = Collect(ProcessCollector(proc.root()));
  EXPECT_THAT(text, HasSubstr("\nprocess_open_fds 2\n"));
  EXPECT_THAT(text, Not(HasSubstr("process_threads")));
  EXPECT_THAT(text, Not(HasSubstr("process_cpu_seconds_total")));
}

// The samples of a scrape without labels, by name.
std::map<std::string, double> Samples(absl::string_view text) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const std::pair<std::string, std::string> parts = absl::StrSplit(line, ' ');
    double value;
    EXPECT_TRUE(absl::SimpleAtod(parts.second, &value)) << line;
    samples[parts.first] = value;
  }
  return samples;
}

int CountEntries(const char* directory) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    (void)entry;
    ++count;
  }
  return count;
}

TEST(ProcessCollectorTest, ReadsThisProcessAsTheKernelSeesIt) {
  const ProcessCollector collector;
  // Burn a little CPU, so that its time is more than rounding.
  const std::clock_t until = std::clock() + CLOCKS_PER_SEC / 5;
  volatile uint64_t spin = 0;
  while (std::clock() < until) spin = spin + 1;

  std::map<std::string, double> samples = Samples(Collect(collector));
  rusage usage;
  ASSERT_EQ(getrusage(RUSAGE_SELF, &usage), 0);
  const double cpu = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
                     usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
  EXPECT_GE(samples["process_cpu_seconds_total"], 0.1);
  EXPECT_NEAR(samples["process_cpu_seconds_total"], cpu, 0.1);

  rlimit files;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
  EXPECT_EQ(samples["process_max_fds"], static_cast<double>(files.rlim_cur));

  EXPECT_GT(samples["process_resident_memory_bytes"], 1 << 20);
  EXPECT_GT(samples["process_virtual_memory_bytes"],
            samples["process_resident_memory_bytes"]);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(samples["process_start_time_seconds"], now + 1);
  EXPECT_GE(samples["process_start_time_seconds"], now - 600);

  // One more file and one more thread are seen.
  const double fds = samples["process_open_fds"];
  const double threads = samples["process_threads"];
  EXPECT_EQ(threads, CountEntries("/proc/self/task"));
  const int fd = open("/proc/self/stat", O_RDONLY);
  ASSERT_GE(fd, 0);
  std::atomic<bool> done{false};
  std::thread extra([&done] {
    while (!done.load()) std::this_thread::yield();
  });
  samples = Samples(Collect(collector));
  // Sanitizers may start a thread of their own with the first new one.
  const int threads_now = CountEntries("/proc/self/task");
  done = true;
  extra.join();
  close(fd);
  EXPECT_EQ(samples["process_open_fds"], fds + 1);
  EXPECT_EQ(samples["process_threads"], threads_now);
  EXPECT_GE(samples["process_threads"], threads + 1);
}

}  // namespace
}  // namespace messaging::metrics
