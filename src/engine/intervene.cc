// What people do to a running workflow besides stopping it: `argo suspend`, `argo resume`
// and `argo node set` (outputs and phase of Suspend nodes, picked by a node field selector).
#include <algorithm>
#include <iterator>
#include <optional>
#include <utility>

#include "engine/engine_impl.h"
#include "util/strings.h"

namespace skiff::engine::detail {
namespace {

struct Term {
  std::string key, value;
  bool equal = true;
};

Result<std::vector<Term>> parse_selector(const std::string& text) {
  std::vector<Term> terms;
  for (const std::string& part : split(text, ',')) {
    std::string t(trim(part));
    if (t.empty()) continue;
    size_t eq = t.find('=');
    if (eq == std::string::npos || eq == 0) {
      return invalid("node selector \"" + t + "\" is not key=value (keys: id, name, displayName, templateName, phase, type)");
    }
    Term term;
    term.equal = t[eq - 1] != '!';
    term.key = std::string(trim(t.substr(0, term.equal ? eq : eq - 1)));
    term.value = std::string(trim(t.substr(t.compare(eq, 2, "==") == 0 ? eq + 2 : eq + 1)));
    static const char* kKeys[] = {"id", "name", "displayName", "templateName", "phase", "type"};
    if (std::find(std::begin(kKeys), std::end(kKeys), term.key) == std::end(kKeys)) {
      return invalid("node selector key \"" + term.key + "\" is not one of id, name, displayName, templateName, phase, type");
    }
    terms.push_back(std::move(term));
  }
  return terms;
}

bool matches(const Node& n, const std::vector<Term>& terms) {
  for (const auto& t : terms) {
    std::string v = t.key == "id"             ? n.id
                    : t.key == "name"         ? n.name
                    : t.key == "displayName"  ? n.display_name
                    : t.key == "templateName" ? n.template_name
                    : t.key == "phase"        ? std::string(phase_name(n.phase))
                                              : std::string(type_name(n.type));
    if ((v == t.value) != t.equal) return false;
  }
  return true;
}

Result<NodePhase> parse_phase(const std::string& text) {
  for (NodePhase p : {NodePhase::kSucceeded, NodePhase::kFailed, NodePhase::kError, NodePhase::kRunning}) {
    if (text == phase_name(p)) return p;
  }
  return invalid("phase \"" + text + "\" must be Succeeded, Failed, Error or Running");
}

}  // namespace

Status OperatorImpl::suspend() {
  if (done_) return invalid("workflow " + name_ + " has finished: there is nothing to suspend");
  suspended_ = true;
  if (observer_) observer_->workflow_changed(status_);
  return Status::ok();
}

Status OperatorImpl::resume(const std::string& selector) {
  if (done_) return invalid("workflow " + name_ + " has finished: there is nothing to resume");
  auto terms = parse_selector(selector);
  if (!terms) return terms.status();
  if (terms->empty() && suspended_) {
    suspended_ = false;
    for (auto& s : std::exchange(held_, {})) actions_.push_back(std::move(s));
    if (observer_) observer_->workflow_changed(status_);
  }
  std::vector<std::string> ids;  // ids first: ending one may add nodes
  for (const auto& n : status_.nodes) {
    if (n.type == NodeType::kSuspend && n.phase == NodePhase::kRunning && matches(n, *terms)) ids.push_back(n.id);
  }
  for (const auto& id : ids) end_suspend(*find(id), NodePhase::kSucceeded, "");
  return Status::ok();
}

Result<int> OperatorImpl::set_nodes(const std::string& selector, const NodeUpdate& update) {
  auto terms = parse_selector(selector);
  if (!terms) return terms.status();
  if (terms->empty()) return invalid("node set needs a node selector such as displayName=approve");
  std::optional<NodePhase> phase;
  if (!update.phase.empty()) {
    auto p = parse_phase(update.phase);
    if (!p) return p.status();
    phase = *p;
  }
  std::vector<std::string> ids;
  for (const auto& n : status_.nodes) {
    if (matches(n, *terms)) ids.push_back(n.id);
  }
  for (const auto& id : ids) {
    Node& n = *find(id);
    auto tmpl = suspend_templates_.find(id);
    for (const auto& [name, value] : update.output_parameters) {
      if (tmpl != suspend_templates_.end()) {
        const auto& declared = tmpl->second->outputs.parameters;
        if (std::none_of(declared.begin(), declared.end(), [&](const spec::Parameter& p) { return p.name == name; })) {
          return invalid("node " + n.display_name + " has no output parameter \"" + name + "\" (declare it in outputs.parameters)");
        }
      }
      auto it = std::find_if(n.outputs.parameters.begin(), n.outputs.parameters.end(),
                             [&](const auto& kv) { return kv.first == name; });
      if (it == n.outputs.parameters.end()) n.outputs.parameters.emplace_back(name, value);
      else it->second = value;
    }
    if (!update.message.empty()) n.message = update.message;
    changed(n);
    if (phase && *phase != NodePhase::kRunning && !is_finished(n.phase) && n.type == NodeType::kSuspend) {
      end_suspend(n, *phase, update.message);
    }
  }
  return static_cast<int>(ids.size());
}

void OperatorImpl::end_suspend(Node& n, NodePhase phase, const std::string& message) {
  if (is_finished(n.phase)) return;
  auto it = suspend_templates_.find(n.id);
  if (it != suspend_templates_.end()) {
    const spec::Template& t = *it->second;
    // Outputs not set by `node set` take their defaults (valueFrom.default, then default).
    for (const auto& p : t.outputs.parameters) {
      bool have = std::any_of(n.outputs.parameters.begin(), n.outputs.parameters.end(),
                              [&](const auto& kv) { return kv.first == p.name; });
      if (have) continue;
      if (p.value_from && p.value_from->default_value) n.outputs.parameters.emplace_back(p.name, *p.value_from->default_value);
      else if (p.default_value) n.outputs.parameters.emplace_back(p.name, *p.default_value);
    }
    publish_globals(t, n);
    suspend_templates_.erase(it);
  }
  finish(n, phase, message);
}

}  // namespace skiff::engine::detail
