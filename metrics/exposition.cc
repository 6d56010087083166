#include "metrics/exposition.h"

#include <algorithm>
#include <charconv>
#include <cmath>

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

// What Go's strconv.FormatFloat(value, 'g', -1, 64) writes, as Prometheus'
// own clients do (so le="0.0001", le="1e-05", le="1e+06"): the shortest
// digits that read back as the same double, in exponent form when the
// exponent is below -4 or at least 6.
void AppendShortest(double value, std::string* out) {
  char buffer[32];
  const char* end = std::to_chars(buffer, buffer + sizeof(buffer), value,
                                  std::chars_format::scientific)
                        .ptr;
  int exponent = 0;
  const char* e = std::find(static_cast<const char*>(buffer), end, 'e');
  std::from_chars(e + (e[1] == '+' ? 2 : 1), end, exponent);
  if (exponent < -4 || exponent >= 6) {
    out->append(buffer, end - buffer);
    return;
  }
  end = std::to_chars(buffer, buffer + sizeof(buffer), value,
                      std::chars_format::fixed)
            .ptr;
  out->append(buffer, end - buffer);
}

// The format's spellings of the special values; integers up to 2^53 (every
// count a double holds exactly) in plain digits, so counters read as
// counts; the rest as Go writes them.
void AppendValue(double value, std::string* out) {
  constexpr double kExactIntegers = 9007199254740992.0;  // 2^53
  if (std::isnan(value)) {
    out->append("NaN");
  } else if (std::isinf(value)) {
    out->append(value > 0 ? "+Inf" : "-Inf");
  } else if (std::fabs(value) <= kExactIntegers && value == std::trunc(value)) {
    char buffer[24];
    out->append(buffer, std::to_chars(buffer, buffer + sizeof(buffer),
                                      static_cast<int64_t>(value))
                            .ptr);
  } else {
    AppendShortest(value, out);
  }
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
    if (i < upper_bounds.size()) {
      AppendShortest(upper_bounds[i], &bound);
    } else {
      bound = "+Inf";
    }
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
