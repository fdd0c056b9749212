// Custom metrics: Argo's `metrics.prometheus` on templates and on the workflow spec.
//
// A template's metrics are evaluated once, when a node running it finishes; for a template
// with a retryStrategy that is the Retry node (once, with {{retries}}), not each attempt, as
// Argo does. spec.metrics are evaluated when the workflow finishes. Each entry's `when`,
// label values and value are substituted in a scope of the workflow's globals plus the
// node's own figures ({{status}}, {{duration}}, {{exitCode}}, inputs, outputs, {{retries}});
// a sample whose substitution, condition or number fails is skipped, never the run.
// Realtime gauges are emitted like the others, at the end (no live updates).
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "engine/engine_impl.h"
#include "expr/eval.h"
#include "expr/template.h"
#include "util/json_text.h"

namespace skiff::engine::detail {

namespace {

using Json = nlohmann::json;

// A scalar as the text a user meant: "1" for 1, "2.5" for 2.5, strings as they are.
std::optional<std::string> scalar_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return std::nullopt;
}

std::optional<double> parse_number(const std::string& text) {
  size_t b = text.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return std::nullopt;
  size_t e = text.find_last_not_of(" \t\r\n");
  std::string s = text.substr(b, e - b + 1);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE) return std::nullopt;
  return v;
}

// Seconds as Argo prints them ("%f").
std::string seconds(int64_t ms) {
  return fmt::format("{:.6f}", ms / 1000.0);
}

// The type block of an entry: its value text, and buckets for histograms. Returns false
// when the block is malformed.
bool parse_type(const Json& block, MetricDef& def) {
  if (!block.is_object()) return false;
  auto value = block.find("value");
  if (value == block.end()) return false;
  auto text = scalar_text(*value);
  if (!text || text->empty()) return false;
  def.value = *text;
  // gauge.operation Add/Sub changes a gauge relative to its last value; a sample carries an
  // absolute value only, so such gauges are not emitted rather than emitted wrong.
  if (auto op = block.find("operation"); op != block.end() && op->is_string() &&
                                         !op->get<std::string>().empty() && op->get<std::string>() != "Set")
    return false;
  if (def.type != MetricSample::Type::kHistogram) return true;
  auto buckets = block.find("buckets");
  if (buckets == block.end() || !buckets->is_array() || buckets->empty()) return false;
  for (const auto& b : *buckets) {
    auto t = scalar_text(b);
    auto n = t ? parse_number(*t) : std::nullopt;
    if (!n) return false;
    def.buckets.push_back(*n);
  }
  std::sort(def.buckets.begin(), def.buckets.end());
  def.buckets.erase(std::unique(def.buckets.begin(), def.buckets.end()), def.buckets.end());
  return true;
}

std::optional<MetricDef> parse_entry(const Json& e) {
  if (!e.is_object()) return std::nullopt;
  MetricDef def;
  auto str = [&](const char* key) {
    auto it = e.find(key);
    return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  def.name = str("name");
  def.help = str("help");
  def.when = str("when");
  if (def.name.empty()) return std::nullopt;
  const Json* block = nullptr;
  int types = 0;
  for (auto [key, type] :
       {std::pair{"gauge", MetricSample::Type::kGauge}, std::pair{"counter", MetricSample::Type::kCounter},
        std::pair{"histogram", MetricSample::Type::kHistogram}}) {
    auto it = e.find(key);
    if (it == e.end() || it->is_null()) continue;
    ++types;
    block = &*it;
    def.type = type;
  }
  if (types != 1 || !parse_type(*block, def)) return std::nullopt;
  if (auto labels = e.find("labels"); labels != e.end() && labels->is_array()) {
    for (const auto& l : *labels) {
      if (!l.is_object() || !l.contains("key") || !l["key"].is_string()) return std::nullopt;
      auto value = l.contains("value") ? scalar_text(l["value"]) : std::optional<std::string>("");
      if (!value) return std::nullopt;
      def.labels.emplace_back(l["key"].get<std::string>(), *value);
    }
  }
  return def;
}

}  // namespace

std::vector<MetricDef> parse_metrics(const std::string& metrics_json) {
  std::vector<MetricDef> out;
  Json j = parse_json_or_discarded<Json>(metrics_json);
  if (!j.is_object() || !j.contains("prometheus") || !j["prometheus"].is_array()) return out;
  for (const auto& e : j["prometheus"])
    if (auto def = parse_entry(e)) out.push_back(std::move(*def));
  return out;
}

void OperatorImpl::track_metrics(const Call& call, const Node& node) {
  if (!call.tmpl || call.tmpl->metrics_json.empty() || is_finished(node.phase)) return;
  // Attempts under a Retry node do not emit; the Retry node does, once (as Argo).
  if (call.attempt >= 0) return;
  switch (node.type) {
    case NodeType::kPod:
    case NodeType::kHttp:
    case NodeType::kDag:
    case NodeType::kSteps:
    case NodeType::kRetry:
    case NodeType::kSuspend: break;
    default:  // groups and skipped nodes do not run the template
      return;
  }
  auto [it, added] = metric_defs_.try_emplace(call.tmpl);
  if (added) it->second = parse_metrics(call.tmpl->metrics_json);
  if (!it->second.empty()) metric_nodes_[node.id] = call.tmpl;
}

void OperatorImpl::emit_node_metrics(const Node& node) {
  if (metric_nodes_.empty()) return;
  auto it = metric_nodes_.find(node.id);
  if (it == metric_nodes_.end()) return;
  const spec::Template* tmpl = it->second;
  metric_nodes_.erase(it);
  if (!observer_) return;

  expr::Scope scope(&global_);
  scope.set("status", phase_name(node.phase));
  scope.set("duration", seconds(node.finished_at_ms - node.started_at_ms));
  if (node.outputs.exit_code) scope.set("exitCode", std::to_string(*node.outputs.exit_code));
  if (node.outputs.result) scope.set("outputs.result", *node.outputs.result);
  for (const auto& [k, v] : node.inputs) scope.set("inputs.parameters." + k, v);
  for (const auto& [k, v] : node.outputs.parameters) scope.set("outputs.parameters." + k, v);
  if (node.type == NodeType::kRetry && !node.children.empty())
    scope.set("retries", std::to_string(node.children.size() - 1));
  else if (node.retry_attempt >= 0)
    scope.set("retries", std::to_string(node.retry_attempt));
  // The workflow as it is now: still running, unless the exit handler's scope says otherwise.
  scope.set("workflow.duration", seconds(now() - status_.started_at_ms));
  if (!global_.find("workflow.status")) scope.set("workflow.status", workflow_phase_name(status_.phase));
  emit_metrics(metric_defs_[tmpl], scope);
}

void OperatorImpl::emit_workflow_metrics() {
  if (!observer_ || spec_.metrics_json.empty()) return;
  std::vector<MetricDef> defs = parse_metrics(spec_.metrics_json);
  if (defs.empty()) return;
  expr::Scope scope(&global_);
  std::string phase = workflow_phase_name(status_.phase);
  std::string duration = seconds(status_.finished_at_ms - status_.started_at_ms);
  scope.set("status", phase);
  scope.set("duration", duration);
  scope.set("workflow.status", phase);
  scope.set("workflow.duration", duration);
  emit_metrics(defs, scope);
}

void OperatorImpl::emit_metrics(const std::vector<MetricDef>& defs, const expr::Scope& scope) {
  for (const MetricDef& def : defs) {
    if (!def.when.empty()) {
      auto cond = expr::substitute(def.when, scope);
      if (!cond) continue;
      auto go = expr::evaluate_when(*cond);
      if (!go || !*go) continue;
    }
    auto text = expr::substitute(def.value, scope);
    auto value = text ? parse_number(*text) : std::nullopt;
    if (!value) continue;
    MetricSample sample;
    sample.name = def.name;
    sample.help = def.help;
    sample.type = def.type;
    sample.value = *value;
    sample.buckets = def.buckets;
    bool ok = true;
    for (const auto& [key, raw] : def.labels) {
      auto v = expr::substitute(raw, scope);
      if (!v) {
        ok = false;
        break;
      }
      sample.labels.emplace_back(key, std::move(*v));
    }
    if (!ok) continue;
    std::stable_sort(sample.labels.begin(), sample.labels.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    observer_->metric(sample);
  }
}

}  // namespace skiff::engine::detail
