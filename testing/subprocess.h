// Runs the real service binaries from the test's runfiles, for tests that
// treat them as a user or grpcurl would.
//
// Usage:
//   ConsumerProcess consumer = ConsumerProcess::Start({"--print_messages"});
//   Subprocess producer = Subprocess::Start(
//       {RunfilePath("producer_service/producer_service"),
//        "--target=" + consumer.target()});
//   int exit_code = producer.Wait();
//   std::string lines = producer.Stdout();
#ifndef TESTING_SUBPROCESS_H_
#define TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace messaging {

// Absolute path of a file of this workspace in the test's runfiles.
std::string RunfilePath(const std::string& workspace_relative);

class Subprocess {
 public:
  // Starts argv[0] with the rest as arguments; stdout and stderr go to
  // fresh files under TEST_TMPDIR. Aborts if it cannot start.
  static Subprocess Start(const std::vector<std::string>& argv);

  Subprocess(Subprocess&& other);
  // Kills this process if it is still running, then takes `other`'s.
  Subprocess& operator=(Subprocess&& other);
  // Kills the process if it is still running.
  ~Subprocess();

  void Signal(int signal) const;
  pid_t pid() const { return pid_; }
  // Whether the process has ended (reaping it if so).
  bool HasExited();
  // Waits for the exit; the exit code, or 128 + the signal that killed it.
  int Wait();
  // Waits at most `timeout`; kills the process with SIGKILL if it is still
  // running then, which the returned code shows (128 + 9).
  int WaitOrKill(absl::Duration timeout);

  std::string Stdout() const;
  std::string Stderr() const;
  // Wait until stdout/stderr contains `text`; false after `timeout` or if
  // the process exited without writing it.
  bool WaitForStdout(const std::string& text, absl::Duration timeout);
  bool WaitForStderr(const std::string& text, absl::Duration timeout);

 private:
  Subprocess() = default;
  void KillIfRunning();
  bool WaitForOutput(const std::string& path, const std::string& text,
                     absl::Duration timeout);

  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
  std::string stdout_path_;
  std::string stderr_path_;
};

// consumer_service on 127.0.0.1 with an ephemeral port.
class ConsumerProcess {
 public:
  // Starts it with `extra_flags` and waits until it listens, on `port` (0:
  // an ephemeral one). `launcher`, when not empty, runs it: the binary and
  // its flags follow the launcher's argv (e.g. {"/bin/bash", "-c",
  // "ulimit -f 64; exec \"$0\" \"$@\""}), and it must exec the binary so
  // that pid() is the consumer's.
  static ConsumerProcess Start(const std::vector<std::string>& extra_flags,
                               int port = 0,
                               const std::vector<std::string>& launcher = {});

  int port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  Subprocess& process() { return process_; }

 private:
  ConsumerProcess(Subprocess process, int port)
      : process_(std::move(process)), port_(port) {}

  Subprocess process_;
  int port_;
};

}  // namespace messaging

#endif  // TESTING_SUBPROCESS_H_
