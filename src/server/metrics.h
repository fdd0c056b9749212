// MetricsRegistry: the figures `GET /metrics` serves, in Prometheus text format 0.0.4.
//
// Holds gauges, counters and histograms by family name and label set. Workflows' custom
// metrics (engine::MetricSample) arrive through record() and are exported as
// "argo_workflows_<name>", as Argo does; the server's own figures use the generic helpers
// with full names. A family keeps the type and help it was first recorded with: a sample of
// another type under the same name is dropped (Prometheus forbids mixing), as is a new
// label set beyond kMaxSeriesPerFamily (a label holding an id would otherwise grow without
// bound), an invalid metric or label name, and a counter increment that is negative or NaN.
//
// Thread-safe: every method holds one mutex while it runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace skiff::engine {
struct MetricSample;
}

namespace skiff::server {

class MetricsRegistry {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;  // any order; keys unique
  static constexpr size_t kMaxSeriesPerFamily = 10000;
  static constexpr const char* kCustomPrefix = "argo_workflows_";

  // A workflow's custom metric: gauge sets, counter adds, histogram observes.
  void record(const engine::MetricSample& sample);

  void set_gauge(const std::string& name, const std::string& help, Labels labels, double v);
  // The gauge family holds exactly these series: one rebuilt from state at each scrape
  // (argocd_app_info), whose label sets come and go.
  void replace_gauges(const std::string& name, const std::string& help, std::vector<std::pair<Labels, double>> series);
  void add_counter(const std::string& name, const std::string& help, Labels labels, double v = 1);
  // `buckets` (upper bounds) are fixed by the family's first observation.
  void observe(const std::string& name, const std::string& help, Labels labels, double v,
               const std::vector<double>& buckets);

  // Families sorted by name, series by labels; one # HELP and # TYPE per family.
  std::string render() const;

 private:
  enum class Type { kGauge, kCounter, kHistogram };
  struct Series {
    double value = 0;              // gauge, counter
    std::vector<uint64_t> counts;  // histogram: per bucket, not cumulative; last is +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> buckets;  // ascending, without +Inf
    std::map<Labels, Series> series;
  };

  // The series to update, created as needed; nullptr when the sample must be dropped.
  Series* series(const std::string& name, const std::string& help, Type type, Labels labels,
                 const std::vector<double>& buckets);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

}  // namespace skiff::server
