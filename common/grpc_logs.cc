#include "common/grpc_logs.h"

#include <algorithm>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "grpc/support/log.h"

namespace messaging {
namespace {

struct GrpcLine {
  gpr_log_severity severity;
  std::string message;
  // The source file's name, without its directories.
  std::string file;
  int line;
};

struct Capture {
  absl::Mutex mutex;
  // Captures alive.
  int active ABSL_GUARDED_BY(mutex) = 0;
  std::vector<GrpcLine> lines ABSL_GUARDED_BY(mutex);
  std::vector<GrpcLogObserver*> observers ABSL_GUARDED_BY(mutex);
};

Capture& capture() {
  static Capture* const capture = new Capture;
  return *capture;
}

void Write(const GrpcLine& line) {
  // JSON names the source and place in fields; text says them around the
  // message, as it always has.
  const std::string message = GetLogFormat() == LogFormat::kText
                                  ? absl::StrCat("grpc: ", line.message, " (",
                                                 line.file, ":", line.line, ")")
                                  : line.message;
  const std::initializer_list<LogField> fields = {
      {"source", "grpc"}, {"file", line.file}, {"line", line.line}};
  if (line.severity == GPR_LOG_SEVERITY_ERROR) {
    LogError(message, fields);
  } else {
    LogInfo(message, fields);
  }
}

// Called by gRPC, on any of its threads. Some lines come when the process
// has no file descriptor left ("Failed accept4: Too many open files", see
// consumer_service/listener_watchdog.h), where UBSan's vptr check of the
// observers' virtual call (--config=asan) cannot run: it probes memory
// through a pipe, and reports a false "invalid vptr" when it cannot open one.
__attribute__((no_sanitize("vptr"))) void ForwardGrpcLog(
    gpr_log_func_args* args) {
  const absl::string_view file(args->file);
  GrpcLine line{args->severity, args->message,
                std::string(file.substr(file.find_last_of('/') + 1)),
                args->line};
  {
    absl::MutexLock lock(&capture().mutex);
    for (GrpcLogObserver* observer : capture().observers) {
      observer->OnGrpcLog(line.message);
    }
    if (capture().active > 0) {
      capture().lines.push_back(std::move(line));
      return;
    }
  }
  Write(line);
}

}  // namespace

void RouteGrpcLogs() { gpr_set_log_function(ForwardGrpcLog); }

void AddGrpcLogObserver(GrpcLogObserver* observer) {
  RouteGrpcLogs();
  absl::MutexLock lock(&capture().mutex);
  capture().observers.push_back(observer);
}

void RemoveGrpcLogObserver(GrpcLogObserver* observer) {
  absl::MutexLock lock(&capture().mutex);
  std::vector<GrpcLogObserver*>& observers = capture().observers;
  observers.erase(std::remove(observers.begin(), observers.end(), observer),
                  observers.end());
}

GrpcLogCapture::GrpcLogCapture() {
  RouteGrpcLogs();
  absl::MutexLock lock(&capture().mutex);
  ++capture().active;
}

GrpcLogCapture::~GrpcLogCapture() {
  std::vector<GrpcLine> untaken;
  {
    absl::MutexLock lock(&capture().mutex);
    if (--capture().active == 0) untaken.swap(capture().lines);
  }
  for (const GrpcLine& line : untaken) Write(line);
}

std::vector<std::string> GrpcLogCapture::Take() {
  std::vector<GrpcLine> taken;
  {
    absl::MutexLock lock(&capture().mutex);
    taken.swap(capture().lines);
  }
  std::vector<std::string> messages;
  for (GrpcLine& line : taken) messages.push_back(std::move(line.message));
  return messages;
}

std::string OsErrorIn(const std::vector<std::string>& grpc_messages) {
  constexpr absl::string_view kField = "os_error:\"";
  for (const absl::string_view message : grpc_messages) {
    const size_t start = message.find(kField);
    if (start == absl::string_view::npos) continue;
    const size_t begin = start + kField.size();
    const size_t end = message.find('"', begin);
    if (end == absl::string_view::npos) continue;
    return std::string(message.substr(begin, end - begin));
  }
  return "";
}

}  // namespace messaging
