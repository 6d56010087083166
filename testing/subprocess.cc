#include "testing/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace messaging {
namespace {

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << message << std::endl;
  std::abort();
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

std::string NewOutputPath(const char* stream) {
  static std::atomic<int> counter{0};
  const char* directory = std::getenv("TEST_TMPDIR");
  return absl::StrCat(directory != nullptr ? directory : "/tmp", "/subprocess_",
                      getpid(), "_", counter++, ".", stream);
}

int DecodeWaitStatus(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::string RunfilePath(const std::string& workspace_relative) {
  const char* root = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (root == nullptr || workspace == nullptr) {
    Fail("TEST_SRCDIR/TEST_WORKSPACE unset: run this test with bazel test");
  }
  return absl::StrCat(root, "/", workspace, "/", workspace_relative);
}

Subprocess Subprocess::Start(const std::vector<std::string>& argv) {
  Subprocess process;
  process.stdout_path_ = NewOutputPath("stdout");
  process.stderr_path_ = NewOutputPath("stderr");
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  process.pid_ = fork();
  if (process.pid_ < 0) Fail("fork failed");
  if (process.pid_ == 0) {
    // The child must not inherit the test's blocked signals.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int out =
        open(process.stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err =
        open(process.stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  return process;
}

Subprocess::Subprocess(Subprocess&& other)
    : pid_(other.pid_),
      exited_(other.exited_),
      exit_code_(other.exit_code_),
      stdout_path_(std::move(other.stdout_path_)),
      stderr_path_(std::move(other.stderr_path_)) {
  other.pid_ = -1;
}

Subprocess& Subprocess::operator=(Subprocess&& other) {
  if (this != &other) {
    KillIfRunning();
    pid_ = other.pid_;
    exited_ = other.exited_;
    exit_code_ = other.exit_code_;
    stdout_path_ = std::move(other.stdout_path_);
    stderr_path_ = std::move(other.stderr_path_);
    other.pid_ = -1;
  }
  return *this;
}

Subprocess::~Subprocess() { KillIfRunning(); }

void Subprocess::KillIfRunning() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    Wait();
  }
}

void Subprocess::Signal(int signal) const { kill(pid_, signal); }

int Subprocess::Wait() {
  if (!exited_) {
    int status = 0;
    waitpid(pid_, &status, 0);
    exited_ = true;
    exit_code_ = DecodeWaitStatus(status);
  }
  return exit_code_;
}

bool Subprocess::HasExited() {
  int status = 0;
  if (!exited_ && waitpid(pid_, &status, WNOHANG) == pid_) {
    exited_ = true;
    exit_code_ = DecodeWaitStatus(status);
  }
  return exited_;
}

int Subprocess::WaitOrKill(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!HasExited() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  if (!exited_) kill(pid_, SIGKILL);
  return Wait();
}

std::string Subprocess::Stdout() const { return ReadFile(stdout_path_); }
std::string Subprocess::Stderr() const { return ReadFile(stderr_path_); }

bool Subprocess::WaitForStdout(const std::string& text,
                               absl::Duration timeout) {
  return WaitForOutput(stdout_path_, text, timeout);
}

bool Subprocess::WaitForStderr(const std::string& text,
                               absl::Duration timeout) {
  return WaitForOutput(stderr_path_, text, timeout);
}

bool Subprocess::WaitForOutput(const std::string& path, const std::string& text,
                               absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (ReadFile(path).find(text) != std::string::npos) return true;
    if (HasExited()) return ReadFile(path).find(text) != std::string::npos;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

ConsumerProcess ConsumerProcess::Start(
    const std::vector<std::string>& extra_flags, int port,
    const std::vector<std::string>& launcher) {
  std::vector<std::string> argv = launcher;
  argv.push_back(RunfilePath("consumer_service/consumer_service"));
  argv.push_back(absl::StrCat("--address=127.0.0.1:", port));
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  Subprocess process = Subprocess::Start(argv);
  const std::string marker = "listening on 127.0.0.1:";
  if (!process.WaitForStderr(marker, absl::Seconds(30))) {
    Fail("consumer_service did not start listening:\n" + process.Stderr());
  }
  const std::string log = process.Stderr();
  const size_t start = log.find(marker) + marker.size();
  const size_t end = log.find_first_not_of("0123456789", start);
  int bound_port = 0;
  if (!absl::SimpleAtoi(log.substr(start, end - start), &bound_port)) {
    Fail("cannot read the consumer's port from:\n" + log);
  }
  return ConsumerProcess(std::move(process), bound_port);
}

}  // namespace messaging
