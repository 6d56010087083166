#include "common/service_main.h"

#include <grpc/grpc.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <iostream>

#include "absl/synchronization/mutex.h"
#include "common/grpc_logs.h"
#include "common/logging.h"
#include "common/termination_signals.h"

namespace messaging {
namespace {

constexpr int kHeapTrimThresholdBytes = 16 << 20;

}  // namespace

int RunServiceMain(absl::string_view program, LogFormat log_format,
                   const absl::Status& flags_valid,
                   absl::FunctionRef<absl::Status()> run) {
  if (!flags_valid.ok()) {
    std::cerr << program << ": " << flags_valid.message() << std::endl;
    return kExitBadFlags;
  }
  SetLogFormat(log_format);
  // Debian builds Abseil with its mutex deadlock detector on, which costs
  // a graph lookup on every lock of the hot path.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // glibc gives the top of a heap back to the kernel once 128 KiB of it is
  // free, and gRPC frees that much between reads of a busy stream: the
  // next read faults the pages in again (measured: 8 times the page faults
  // and about 15 % more CPU in a batched consumer). A process with a steady
  // flow keeps this much free memory for reuse instead. Setting that turns
  // off glibc's adaptive mmap threshold, which would leave every block of
  // 128 KiB or more (a batch of 1 KiB messages) to its own mmap and page
  // faults: blocks below the same size come from the heap.
  mallopt(M_TRIM_THRESHOLD, kHeapTrimThresholdBytes);
  mallopt(M_MMAP_THRESHOLD, kHeapTrimThresholdBytes);
  // That much per arena, and glibc makes up to 8 per core as threads
  // contend: 1,000 batched streams peaked at 228 MiB in the consumer and
  // 182 MiB in the producer with live heaps under 90 MiB. With one arena,
  // 169 and 149 MiB at the same throughput: the small blocks of the hot
  // path come from each thread's cache (tcache), not from the arena's lock.
  mallopt(M_ARENA_MAX, 1);
  BlockTerminationSignals();
  RouteGrpcLogs();
  // gRPC cleans up when its last object goes, and the clean-up joins its
  // executor threads, one of which may be tcp_posix's backup poller: after
  // a write finds the socket full it polls for up to 10 s, and nothing wakes
  // it. About 1 busy producer in 200 sat those 10 s after its last line.
  // This reference is never released: the process exits with gRPC running,
  // and the kernel frees what it holds. gRPC starts its threads here, with
  // every signal blocked so that they never take one the services wait for
  // (SIGHUP, which the consumer blocks only later).
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  grpc_init();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (absl::Status done = run(); !done.ok()) {
    LogError(done.message(),
             {{"status_code", absl::StatusCodeToString(done.code())}});
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace messaging
