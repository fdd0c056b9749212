// MetricsRegistry: families of series, and their Prometheus text exposition (0.0.4).
//
// A histogram series keeps per-bucket counts and sums them when rendered, so observe() is
// one increment. For buckets [1, 5], observing 0.5, 3 and 9 renders as
//   x_bucket{le="1"} 1
//   x_bucket{le="5"} 2
//   x_bucket{le="+Inf"} 3
//   x_sum 12.5
//   x_count 3
#include "server/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "engine/operator.h"

namespace skiff::server {

namespace {

// Prometheus: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
// (names starting with "__" are reserved).
bool valid_name(const std::string& name, bool colons) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              (colons && c == ':');
    if (!ok) return false;
  }
  return true;
}

// A sample value as Prometheus parses it: integers without exponent while exact, else the
// shortest text that reads back as the same double; NaN, +Inf, -Inf by name.
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::trunc(v) && std::fabs(v) <= 9007199254740992.0)
    return std::to_string(static_cast<long long>(v));
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

std::string escape_help(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// {a="x",b="y"} with an optional extra label (histograms' le) last; "" when empty.
std::string label_text(const MetricsRegistry::Labels& labels, const std::string& le = "") {
  if (labels.empty() && le.empty()) return "";
  std::string out = "{";
  for (const auto& [k, v] : labels) {
    if (out.size() > 1) out += ',';
    out += k + "=\"" + escape_label(v) + "\"";
  }
  if (!le.empty()) out += std::string(out.size() > 1 ? "," : "") + "le=\"" + le + "\"";
  return out + "}";
}

}  // namespace

MetricsRegistry::Series* MetricsRegistry::series(const std::string& name, const std::string& help, Type type,
                                                 Labels labels, const std::vector<double>& buckets) {
  if (!valid_name(name, true)) return nullptr;
  std::stable_sort(labels.begin(), labels.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  labels.erase(std::unique(labels.begin(), labels.end(),
                           [](const auto& a, const auto& b) { return a.first == b.first; }),
               labels.end());
  for (const auto& [k, v] : labels)
    if (!valid_name(k, false) || k.rfind("__", 0) == 0 || (type == Type::kHistogram && k == "le"))
      return nullptr;

  auto fit = families_.find(name);
  if (fit == families_.end()) {
    Family f{type, help, {}, {}};
    if (type == Type::kHistogram) {
      for (double b : buckets)
        if (!std::isnan(b) && !std::isinf(b)) f.buckets.push_back(b);
      std::sort(f.buckets.begin(), f.buckets.end());
      f.buckets.erase(std::unique(f.buckets.begin(), f.buckets.end()), f.buckets.end());
    }
    fit = families_.emplace(name, std::move(f)).first;
  } else if (fit->second.type != type) {
    return nullptr;
  }
  Family& f = fit->second;
  auto sit = f.series.find(labels);
  if (sit == f.series.end()) {
    if (f.series.size() >= kMaxSeriesPerFamily) return nullptr;
    sit = f.series.emplace(std::move(labels), Series{}).first;
    if (type == Type::kHistogram) sit->second.counts.assign(f.buckets.size() + 1, 0);
  }
  return &sit->second;
}

void MetricsRegistry::set_gauge(const std::string& name, const std::string& help, Labels labels, double v) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Series* s = series(name, help, Type::kGauge, std::move(labels), {})) s->value = v;
}

void MetricsRegistry::replace_gauges(const std::string& name, const std::string& help,
                                     std::vector<std::pair<Labels, double>> all) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end() && it->second.type == Type::kGauge) it->second.series.clear();
  for (auto& [labels, v] : all)
    if (Series* s = series(name, help, Type::kGauge, std::move(labels), {})) s->value = v;
}

void MetricsRegistry::add_counter(const std::string& name, const std::string& help, Labels labels, double v) {
  if (std::isnan(v) || v < 0) return;  // counters only go up
  std::lock_guard<std::mutex> lock(mu_);
  if (Series* s = series(name, help, Type::kCounter, std::move(labels), {})) s->value += v;
}

void MetricsRegistry::observe(const std::string& name, const std::string& help, Labels labels, double v,
                              const std::vector<double>& buckets) {
  if (std::isnan(v)) return;
  std::lock_guard<std::mutex> lock(mu_);
  Series* s = series(name, help, Type::kHistogram, std::move(labels), buckets);
  if (!s) return;
  const std::vector<double>& bounds = families_.find(name)->second.buckets;
  size_t i = std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin();  // first bound >= v
  ++s->counts[i];
  s->sum += v;
  ++s->count;
}

void MetricsRegistry::record(const engine::MetricSample& sample) {
  std::string name = kCustomPrefix + sample.name;
  switch (sample.type) {
    case engine::MetricSample::Type::kGauge: return set_gauge(name, sample.help, sample.labels, sample.value);
    case engine::MetricSample::Type::kCounter:
      return add_counter(name, sample.help, sample.labels, sample.value);
    case engine::MetricSample::Type::kHistogram:
      return observe(name, sample.help, sample.labels, sample.value, sample.buckets);
  }
}

std::string MetricsRegistry::render() const {
  std::lock_guard<std::mutex> lock(mu_);
  auto type_text = [](Type t) {
    switch (t) {
      case Type::kGauge: return "gauge";
      case Type::kCounter: return "counter";
      case Type::kHistogram: break;
    }
    return "histogram";
  };
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + name + " " + type_text(f.type) + "\n";
    for (const auto& [labels, s] : f.series) {
      if (f.type != Type::kHistogram) {
        out += name + label_text(labels) + " " + number(s.value) + "\n";
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= f.buckets.size(); ++i) {
        cumulative += s.counts[i];
        std::string le = i < f.buckets.size() ? number(f.buckets[i]) : "+Inf";
        out += name + "_bucket" + label_text(labels, le) + " " + std::to_string(cumulative) + "\n";
      }
      out += name + "_sum" + label_text(labels) + " " + number(s.sum) + "\n";
      out += name + "_count" + label_text(labels) + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

}  // namespace skiff::server
