// Timestamped log lines on stderr, shared by both services: plain text for
// people, or one JSON object per line for log collectors (--log_format).
//
// Abseil 20220623 (Debian 12) has no absl/log, and gRPC's gpr_log is silent
// below ERROR unless GRPC_VERBOSITY is set, so the services log through
// these functions. Logs go to stderr so that stdout carries only the demo's
// lines and summaries, which tests and users read.
//
// Usage:
//   SetLogFormat(LogFormat::kJson);  // once, early (RunServiceMain does it)
//   LogInfo(absl::StrCat("producer ", id, " uses consumer ", target),
//           {{"producer_id", id}, {"target", target}});
//   // text: 2026-11-27T07:08:14.123Z INFO producer p-1 uses consumer c:50051
//   // json: {"time":"2026-11-27T07:08:14.123Z","level":"INFO",
//   //        "message":"producer p-1 uses consumer c:50051",
//   //        "producer_id":"p-1","target":"c:50051"}  (on one line)
#ifndef COMMON_LOGGING_H_
#define COMMON_LOGGING_H_

#include <initializer_list>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace messaging {

enum class LogFormat {
  // "<time> <LEVEL> <message>", the fields left to the message's words.
  kText,
  // {"time":...,"level":...,"message":...} and then each field.
  kJson,
};

// Parses "text" or "json", for the --log_format flag.
bool AbslParseFlag(absl::string_view text, LogFormat* format,
                   std::string* error);
std::string AbslUnparseFlag(LogFormat format);

// The format of every line written from now on; kText until called.
void SetLogFormat(LogFormat format);
LogFormat GetLogFormat();

// A value a line names, such as a producer id or a status code: its own
// member in JSON, so collectors can filter on it. Text lines show only the
// message, which already says it in words.
class LogField {
 public:
  LogField(absl::string_view name, absl::string_view value)
      : name_(name), value_(value), is_number_(false) {}
  // Integers become JSON numbers.
  template <typename Integer,
            typename = std::enable_if_t<std::is_integral<Integer>::value &&
                                        !std::is_same<Integer, bool>::value>>
  LogField(absl::string_view name, Integer value)
      : name_(name), value_(absl::StrCat(value)), is_number_(true) {}

  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }
  bool is_number() const { return is_number_; }

 private:
  std::string name_;
  std::string value_;
  bool is_number_;
};

// Field names must not be "time", "level" or "message", which every JSON
// line has already.
void LogInfo(absl::string_view message,
             std::initializer_list<LogField> fields = {});
void LogWarning(absl::string_view message,
                std::initializer_list<LogField> fields = {});
void LogError(absl::string_view message,
              std::initializer_list<LogField> fields = {});

// One line as the functions above write it, "\n" included: the time in
// RFC 3339 UTC with milliseconds, and in JSON every string escaped (control
// characters as \u00XX, bytes that are not UTF-8 as \ufffd).
std::string FormatLogLine(LogFormat format, absl::Time time,
                          absl::string_view level, absl::string_view message,
                          absl::Span<const LogField> fields);

}  // namespace messaging

#endif  // COMMON_LOGGING_H_
