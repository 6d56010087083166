// How late this machine lets a thread run: sleeps --period_us again and
// again until SIGTERM (or --seconds), and prints one JSON line of how often
// and how long it woke late. The harness runs it beside the paced
// scenarios: a latency target that one sleeping thread cannot meet on the
// same machine is the machine's floor, not the services'.
//
//   bazel run -c opt //benchmarks:scheduler_probe -- --seconds=20
//   {"seconds":20.0,"wakeups":...,"late_1ms_pct":0.23,"stalls_1_5ms":29,...}
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"

ABSL_FLAG(int, period_us, 100, "How long each sleep asks for.");
ABSL_FLAG(double, seconds, 0, "Stop after this long; 0: at SIGTERM only.");

namespace {

std::atomic<bool> stop{false};

double Now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  signal(SIGTERM, [](int) { stop = true; });
  const int period_us = std::max(1, absl::GetFlag(FLAGS_period_us));
  const double limit = absl::GetFlag(FLAGS_seconds);
  const timespec period = {0, period_us * 1000L};
  const double start = Now();
  double last = start;
  long wakeups = 0;
  long stalls = 0;
  double stalled = 0;   // seconds in wakeups more than 1.5 ms apart
  double past_1ms = 0;  // seconds past 1 ms late, summed
  double longest = 0;
  while (!stop && (limit <= 0 || last - start < limit)) {
    nanosleep(&period, nullptr);  // EINTR at SIGTERM ends the loop
    const double now = Now();
    const double gap = now - last;
    last = now;
    ++wakeups;
    longest = std::max(longest, gap);
    if (gap > 0.0015) {
      ++stalls;
      stalled += gap;
    }
    if (gap > 0.001) past_1ms += gap - 0.001;
  }
  const double seconds = last - start;
  std::printf(
      "{\"seconds\":%.3f,\"wakeups\":%ld,\"late_1ms_pct\":%.3f,"
      "\"stalls_1_5ms\":%ld,\"stalled_pct\":%.3f,\"max_ms\":%.3f}\n",
      seconds, wakeups, seconds > 0 ? past_1ms / seconds * 100 : 0.0, stalls,
      seconds > 0 ? stalled / seconds * 100 : 0.0, longest * 1e3);
  return 0;
}
