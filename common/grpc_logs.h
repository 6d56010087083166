// gRPC's own log lines (gpr_log: errors, or more with GRPC_VERBOSITY) in the
// services' log format, and a way to hold them back around a call whose
// failure the caller reports better itself, in one line.
//
// Usage:
//   RouteGrpcLogs();  // once, early in main (RunServiceMain does it)
//
//   AddGrpcLogObserver(&watchdog);  // sees each line, on gRPC's threads
//
//   GrpcLogCapture capture;
//   std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
//   if (server == nullptr) {
//     return absl::UnavailableError(
//         absl::StrCat("cannot listen: ", OsErrorIn(capture.Take())));
//   }
#ifndef COMMON_GRPC_LOGS_H_
#define COMMON_GRPC_LOGS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace messaging {

// From now on gRPC's log lines go through LogError/LogInfo: in text as
// "grpc: <message> (<file>:<line>)", in JSON as the message with the fields
// "source":"grpc", "file" and "line".
void RouteGrpcLogs();

// Sees the message of each gRPC log line, written or captured, on the gRPC
// thread that logged it: some of gRPC's failures are told nowhere else.
// OnGrpcLog must be quick and must not log through gRPC.
class GrpcLogObserver {
 public:
  virtual ~GrpcLogObserver() = default;
  virtual void OnGrpcLog(absl::string_view message) = 0;
};

// Routes gRPC's logs (RouteGrpcLogs) and calls `observer` for each line
// until RemoveGrpcLogObserver(observer), which returns once no call to it
// is running.
void AddGrpcLogObserver(GrpcLogObserver* observer);
void RemoveGrpcLogObserver(GrpcLogObserver* observer);

// While one is alive, gRPC's log lines are kept instead of written; those
// not taken are written when the last one alive ends. Captures alive at
// the same time share what is kept: the first Take() gets it.
class GrpcLogCapture {
 public:
  GrpcLogCapture();
  ~GrpcLogCapture();
  GrpcLogCapture(const GrpcLogCapture&) = delete;
  GrpcLogCapture& operator=(const GrpcLogCapture&) = delete;

  // The messages kept so far, which are then not written.
  std::vector<std::string> Take();
};

// The operating system's reason in gRPC's error text (its os_error field,
// e.g. "Address already in use"), or "" if there is none.
std::string OsErrorIn(const std::vector<std::string>& grpc_messages);

}  // namespace messaging

#endif  // COMMON_GRPC_LOGS_H_
