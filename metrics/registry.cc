#include "metrics/registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "metrics/misuse.h"

namespace messaging::metrics {
namespace {

// What every family the registry makes has: its HELP and TYPE lines.
class FamilyHeader {
 protected:
  FamilyHeader(absl::string_view name, absl::string_view help, MetricType type)
      : name_(name), help_(help), type_(type) {}

  void WriteHeader(Exposition* out) const { out->Family(name_, help_, type_); }

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
};

class CounterFamily final : public Collector, FamilyHeader {
 public:
  CounterFamily(absl::string_view name, absl::string_view help)
      : FamilyHeader(name, help, MetricType::kCounter) {}

  void Collect(Exposition* out) const override {
    WriteHeader(out);
    out->Sample({}, static_cast<double>(counter.Value()));
  }

  Counter counter;
};

class CounterVectorFamily final : public Collector, FamilyHeader {
 public:
  CounterVectorFamily(absl::string_view name, absl::string_view help,
                      absl::string_view label_name,
                      std::vector<std::string> label_values)
      : FamilyHeader(name, help, MetricType::kCounter),
        counters(std::move(label_values)),
        label_name_(label_name) {}

  void Collect(Exposition* out) const override {
    WriteHeader(out);
    for (size_t i = 0; i < counters.size(); ++i) {
      out->Sample({{label_name_, counters.label_value(i)}},
                  static_cast<double>(counters.counter(i).Value()));
    }
  }

  CounterVector counters;

 private:
  const std::string label_name_;
};

class GaugeFamily final : public Collector, FamilyHeader {
 public:
  GaugeFamily(absl::string_view name, absl::string_view help)
      : FamilyHeader(name, help, MetricType::kGauge) {}

  void Collect(Exposition* out) const override {
    WriteHeader(out);
    out->Sample({}, gauge.Value());
  }

  Gauge gauge;
};

class HistogramFamily final : public Collector, FamilyHeader {
 public:
  HistogramFamily(absl::string_view name, absl::string_view help,
                  std::vector<double> upper_bounds)
      : FamilyHeader(name, help, MetricType::kHistogram),
        histogram(std::move(upper_bounds)) {}

  void Collect(Exposition* out) const override {
    WriteHeader(out);
    const Histogram::Snapshot snapshot = histogram.Read();
    out->Histogram({}, histogram.upper_bounds(), snapshot.bucket_counts,
                   snapshot.sum);
  }

  Histogram histogram;
};

}  // namespace

template <typename Family>
Family* Registry::Add(absl::string_view name, MetricType type,
                      std::unique_ptr<Family> family) {
  CheckFamilyName(name, type);
  absl::MutexLock lock(&mu_);
  if (!names_.emplace(name).second) {
    Misuse(absl::StrCat("metric '", name, "' is registered twice"));
  }
  Family* added = family.get();
  collectors_.push_back(std::move(family));
  return added;
}

Counter* Registry::AddCounter(absl::string_view name, absl::string_view help) {
  return &Add(name, MetricType::kCounter,
              std::make_unique<CounterFamily>(name, help))
              ->counter;
}

CounterVector* Registry::AddCounterVector(
    absl::string_view name, absl::string_view help,
    absl::string_view label_name, std::vector<std::string> label_values) {
  CheckLabelName(label_name);
  if (label_values.empty()) {
    Misuse(absl::StrCat("counter '", name, "' needs at least one label value"));
  }
  if (std::set<absl::string_view>(label_values.begin(), label_values.end())
          .size() != label_values.size()) {
    Misuse(absl::StrCat("counter '", name, "' has a label value twice"));
  }
  return &Add(name, MetricType::kCounter,
              std::make_unique<CounterVectorFamily>(name, help, label_name,
                                                    std::move(label_values)))
              ->counters;
}

Gauge* Registry::AddGauge(absl::string_view name, absl::string_view help) {
  return &Add(name, MetricType::kGauge,
              std::make_unique<GaugeFamily>(name, help))
              ->gauge;
}

Histogram* Registry::AddHistogram(absl::string_view name,
                                  absl::string_view help,
                                  std::vector<double> upper_bounds) {
  return &Add(name, MetricType::kHistogram,
              std::make_unique<HistogramFamily>(name, help,
                                                std::move(upper_bounds)))
              ->histogram;
}

void Registry::AddCollector(std::unique_ptr<Collector> collector) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::Scrape() const {
  Exposition out;
  absl::MutexLock lock(&mu_);
  for (const std::unique_ptr<Collector>& collector : collectors_) {
    collector->Collect(&out);
  }
  return std::move(out).Text();
}

}  // namespace messaging::metrics
