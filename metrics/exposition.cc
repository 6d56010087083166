#include "metrics/exposition.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "metrics/misuse.h"

namespace messaging::metrics {
namespace {

constexpr absl::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// [first][rest]*, where `first` also allows what `colon_allowed` adds.
bool IsIdentifier(absl::string_view name, bool colon_allowed) {
  if (name.empty() || absl::ascii_isdigit(name[0])) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_' && !(colon_allowed && c == ':')) {
      return false;
    }
  }
  return true;
}

// Integers up to 2^53 (every count a double holds exactly) in digits, other
// values in the shortest text that reads back as the same double, and the
// format's spellings of the special values.
void AppendValue(double value, std::string* out) {
  constexpr double kExactIntegers = 9007199254740992.0;  // 2^53
  if (std::isnan(value)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(value)) {
    out->append(value > 0 ? "+Inf" : "-Inf");
    return;
  }
  char buffer[32];
  const std::to_chars_result end =
      std::fabs(value) <= kExactIntegers && value == std::trunc(value)
          ? std::to_chars(buffer, buffer + sizeof(buffer),
                          static_cast<int64_t>(value))
          : std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, end.ptr);
}

// Replaces `\` and newline, and `"` when `quote` (label values, not HELP).
void AppendEscaped(absl::string_view text, bool quote, std::string* out) {
  for (char c : text) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '"':
        out->append(quote ? "\\\"" : "\"");
        break;
      default:
        out->push_back(c);
    }
  }
}

void AppendLabel(const Label& label, std::string* out) {
  CheckLabelName(label.name);
  absl::StrAppend(out, label.name, "=\"");
  AppendEscaped(label.value, /*quote=*/true, out);
  out->push_back('"');
}

}  // namespace

void CheckFamilyName(absl::string_view name, MetricType type) {
  if (!IsIdentifier(name, /*colon_allowed=*/true)) {
    Misuse(absl::StrCat("'", name,
                        "' is not a valid metric name "
                        "([a-zA-Z_:][a-zA-Z0-9_:]*)"));
  }
  if (type == MetricType::kCounter && !absl::EndsWith(name, "_total")) {
    Misuse(absl::StrCat("counter '", name, "' must be named ..._total"));
  }
}

void CheckLabelName(absl::string_view name) {
  if (!IsIdentifier(name, /*colon_allowed=*/false) ||
      absl::StartsWith(name, "__")) {
    Misuse(absl::StrCat("'", name,
                        "' is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, "
                        "no leading __)"));
  }
}

void Exposition::Family(absl::string_view name, absl::string_view help,
                        MetricType type) {
  CheckFamilyName(name, type);
  if (!families_.emplace(name).second) {
    Misuse(absl::StrCat("metric family '", name, "' is written twice"));
  }
  family_ = std::string(name);
  type_ = type;
  absl::StrAppend(&text_, "# HELP ", name, " ");
  AppendEscaped(help, /*quote=*/false, &text_);
  absl::StrAppend(&text_, "\n# TYPE ", name, " ", TypeName(type), "\n");
}

void Exposition::Sample(Labels labels, double value) {
  if (family_.empty() || type_ == MetricType::kHistogram) {
    Misuse(absl::StrCat("Sample() needs a counter or gauge family first, not '",
                        family_, "'"));
  }
  Line(family_, labels, /*extra_label=*/nullptr, value);
}

void Exposition::Histogram(Labels labels, absl::Span<const double> upper_bounds,
                           absl::Span<const uint64_t> bucket_counts,
                           double sum) {
  if (family_.empty() || type_ != MetricType::kHistogram) {
    Misuse(absl::StrCat("Histogram() needs a histogram family first, not '",
                        family_, "'"));
  }
  if (bucket_counts.size() != upper_bounds.size() + 1) {
    Misuse(absl::StrCat("histogram '", family_, "' has ", upper_bounds.size(),
                        " bounds but ", bucket_counts.size(),
                        " bucket counts (expected one more, for +Inf)"));
  }
  for (const Label& label : labels) {
    if (label.name == "le") {
      Misuse(absl::StrCat("histogram '", family_, "' may not have label le"));
    }
  }
  const std::string bucket = absl::StrCat(family_, "_bucket");
  uint64_t cumulative = 0;
  std::string bound;
  for (size_t i = 0; i < bucket_counts.size(); ++i) {
    cumulative += bucket_counts[i];
    bound.clear();
    AppendValue(i < upper_bounds.size()
                    ? upper_bounds[i]
                    : std::numeric_limits<double>::infinity(),
                &bound);
    const Label le = {"le", bound};
    Line(bucket, labels, &le, static_cast<double>(cumulative));
  }
  Line(absl::StrCat(family_, "_sum"), labels, nullptr, sum);
  Line(absl::StrCat(family_, "_count"), labels, nullptr,
       static_cast<double>(cumulative));
}

void Exposition::Line(absl::string_view name, Labels labels,
                      const Label* extra_label, double value) {
  text_.append(name.data(), name.size());
  if (!labels.empty() || extra_label != nullptr) {
    text_.push_back('{');
    const char* separator = "";
    for (const Label& label : labels) {
      text_.append(separator);
      AppendLabel(label, &text_);
      separator = ",";
    }
    if (extra_label != nullptr) {
      text_.append(separator);
      AppendLabel(*extra_label, &text_);
    }
    text_.push_back('}');
  }
  text_.push_back(' ');
  AppendValue(value, &text_);
  text_.push_back('\n');
}

}  // namespace messaging::metrics
