#include "metrics/build_info.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace messaging::metrics {
namespace {

class BuildInfoCollector final : public Collector {
 public:
  BuildInfoCollector(absl::string_view prefix, Labels labels)
      : name_(absl::StrCat(prefix, "_build_info")) {
    CheckFamilyName(name_, MetricType::kGauge);
    for (const Label& label : labels) {
      CheckLabelName(label.name);
      strings_.emplace_back(label.name, label.value);
    }
    // Views into strings_, which no longer changes size.
    for (const auto& [name, value] : strings_) labels_.push_back({name, value});
  }

  void Collect(Exposition* out) const override {
    out->Family(name_, "Always 1; the labels describe this build.",
                MetricType::kGauge);
    out->Sample(labels_, 1);
  }

 private:
  const std::string name_;
  std::vector<std::pair<std::string, std::string>> strings_;
  std::vector<Label> labels_;
};

}  // namespace

std::unique_ptr<Collector> BuildInfo(absl::string_view prefix, Labels labels) {
  return std::make_unique<BuildInfoCollector>(prefix, labels);
}

}  // namespace messaging::metrics
