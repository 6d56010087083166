#include "common/logging.h"

#include <atomic>
#include <cstdint>
#include <cstdio>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace messaging {
namespace {

std::atomic<LogFormat> log_format{LogFormat::kText};

// The length of the well-formed UTF-8 sequence at the start of `text`
// (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF),
// or 0 if it does not start with one.
size_t Utf8SequenceLength(absl::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length;
  // The range of the second byte; the later ones are 0x80..0xBF.
  uint8_t low = 0x80;
  uint8_t high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

void AppendJsonString(absl::string_view text, std::string* out) {
  out->push_back('"');
  while (!text.empty()) {
    const char c = text[0];
    const size_t length = Utf8SequenceLength(text);
    if (length == 0) {
      // Not UTF-8 (a torn or binary value): JSON parsers refuse such
      // bytes, so each stands as the replacement character.
      absl::StrAppend(out, "\\ufffd");
      text.remove_prefix(1);
      continue;
    }
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<uint8_t>(c) < 0x20) {
      absl::StrAppendFormat(out, "\\u%04x", static_cast<int>(c));
    } else {
      out->append(text.data(), length);
    }
    text.remove_prefix(length);
  }
  out->push_back('"');
}

void AppendJsonMember(absl::string_view name, absl::string_view value,
                      std::string* out) {
  out->push_back(',');
  AppendJsonString(name, out);
  out->push_back(':');
  AppendJsonString(value, out);
}

void Log(absl::string_view level, absl::string_view message,
         std::initializer_list<LogField> fields) {
  const std::string line = FormatLogLine(
      log_format.load(std::memory_order_relaxed), absl::Now(), level, message,
      absl::MakeConstSpan(fields.begin(), fields.size()));
  // One fwrite per line keeps lines from concurrent threads whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

bool AbslParseFlag(absl::string_view text, LogFormat* format,
                   std::string* error) {
  if (text == "text") {
    *format = LogFormat::kText;
    return true;
  }
  if (text == "json") {
    *format = LogFormat::kJson;
    return true;
  }
  *error = "expected 'text' or 'json' (one JSON object per line)";
  return false;
}

std::string AbslUnparseFlag(LogFormat format) {
  return format == LogFormat::kText ? "text" : "json";
}

void SetLogFormat(LogFormat format) {
  log_format.store(format, std::memory_order_relaxed);
}

LogFormat GetLogFormat() { return log_format.load(std::memory_order_relaxed); }

std::string FormatLogLine(LogFormat format, absl::Time time,
                          absl::string_view level, absl::string_view message,
                          absl::Span<const LogField> fields) {
  const std::string timestamp =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
  if (format == LogFormat::kText) {
    return absl::StrCat(timestamp, " ", level, " ", message, "\n");
  }
  std::string line = "{\"time\":";
  AppendJsonString(timestamp, &line);
  AppendJsonMember("level", level, &line);
  AppendJsonMember("message", message, &line);
  for (const LogField& field : fields) {
    if (field.is_number()) {
      line.push_back(',');
      AppendJsonString(field.name(), &line);
      absl::StrAppend(&line, ":", field.value());
    } else {
      AppendJsonMember(field.name(), field.value(), &line);
    }
  }
  line.append("}\n");
  return line;
}

void LogInfo(absl::string_view message,
             std::initializer_list<LogField> fields) {
  Log("INFO", message, fields);
}
void LogWarning(absl::string_view message,
                std::initializer_list<LogField> fields) {
  Log("WARNING", message, fields);
}
void LogError(absl::string_view message,
              std::initializer_list<LogField> fields) {
  Log("ERROR", message, fields);
}

}  // namespace messaging
