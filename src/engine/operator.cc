// The Operator: creating nodes, running pod/suspend templates, events, timers, and the
// workflow's own lifecycle (entrypoint, exit handler, deadline, stop/terminate).
#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <nlohmann/json.hpp>

#include "engine/engine_impl.h"
#include "engine/workflow_json.h"
#include "expr/template.h"
#include "spec/decode.h"
#include "spec/pod.h"
#include "spec/template_defaults.h"
#include "util/creation_time.h"
#include "util/strings.h"

namespace skiff::engine {

namespace {

constexpr size_t kMaxResult = 256 * 1024;
constexpr int kMaxDepth = 100;  // as Argo's maximum template stack depth
const char kPodDeadlineMessage[] = "Pod was active on the node longer than the specified deadline";
const char kWorkflowDeadlineMessage[] = "Max duration limit exceeded";

std::string trim_one_newline(std::string s) {
  if (!s.empty() && s.back() == '\n') s.pop_back();
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

uint32_t fnv32a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

// A parameter as Argo's JSON shows it (its Go struct's field order, empty fields left out):
// what {{inputs.parameters}} and {{workflow.parameters}} list.
nlohmann::ordered_json parameter_json(const spec::Parameter& p, const std::optional<std::string>& value) {
  nlohmann::ordered_json j;
  j["name"] = p.name;
  if (p.default_value) j["default"] = *p.default_value;
  if (value) j["value"] = *value;
  if (p.value_from) {
    nlohmann::ordered_json from = nlohmann::ordered_json::object();
    const spec::ValueFrom& f = *p.value_from;
    if (!f.path.empty()) from["path"] = f.path;
    if (!f.json_path.empty()) from["jsonPath"] = f.json_path;
    if (!f.jq_filter.empty()) from["jqFilter"] = f.jq_filter;
    if (!f.event.empty()) from["event"] = f.event;
    if (!f.parameter.empty()) from["parameter"] = f.parameter;
    if (!f.supplied.empty()) from["supplied"] = nlohmann::ordered_json::object();
    if (!f.config_map_key_ref_json.empty())
      from["configMapKeyRef"] = nlohmann::ordered_json::parse(f.config_map_key_ref_json, nullptr, false);
    if (f.default_value) from["default"] = *f.default_value;
    if (!f.expression.empty()) from["expression"] = f.expression;
    j["valueFrom"] = from;
  }
  if (!p.global_name.empty()) j["globalName"] = p.global_name;
  if (!p.enum_values.empty()) j["enum"] = p.enum_values;
  if (!p.description.empty()) j["description"] = p.description;
  return j;
}

// An empty list is "null", as Go marshals a template's nil slice.
std::string dump(const nlohmann::ordered_json& j) {
  if (j.is_array() && j.empty()) return "null";
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// valueFrom.configMapKeyRef {name, key} of a parameter, its name and key substituted from
// `scope`, looked up in the run's ConfigMaps; kNotFound when the map or key is absent.
Result<std::string> config_map_value(const spec::ValueFrom& from, const RunOptions& options, const expr::Scope& scope) {
  auto ref = nlohmann::json::parse(from.config_map_key_ref_json, nullptr, false);
  if (!ref.is_object()) return invalid("configMapKeyRef must be an object with name and key");
  auto name = expr::substitute(ref.value("name", ""), scope);
  if (!name) return name.status();
  auto key = expr::substitute(ref.value("key", ""), scope);
  if (!key) return key.status();
  auto map = options.config_maps.find(*name);
  if (map == options.config_maps.end())
    return not_found("ConfigMap '" + *name + "' does not exist in namespace " + options.namespace_ +
                     "; create it with skiff configmap create");
  auto value = map->second.find(*key);
  if (value == map->second.end()) return not_found("ConfigMap '" + *name + "' does not have the key '" + *key + "'");
  return value->second;
}

// Argo's pod name (POD_NAMES=v2): <workflow>-<template>-<fnv32a(node name)>.
std::string pod_name(const std::string& wf, const std::string& node_name, const std::string& tmpl) {
  if (node_name == wf) return wf;
  std::string prefix = wf + "-" + tmpl;
  if (prefix.size() > 242) prefix.resize(242);
  return prefix + "-" + std::to_string(fnv32a(node_name));
}

}  // namespace

std::string node_id(const std::string& workflow_name, const std::string& node_name) {
  if (node_name == workflow_name) return workflow_name;
  return workflow_name + "-" + std::to_string(fnv32a(node_name));
}

Result<std::unique_ptr<Operator>> Operator::create(const spec::Object& workflow, const spec::Library& library,
                                                   const RunOptions& options, const Clock& clock) {
  auto op = std::make_unique<detail::OperatorImpl>(workflow, library, options, clock);
  if (Status st = op->init(); !st) return st;
  return std::unique_ptr<Operator>(std::move(op));
}

namespace detail {

void Limiter::run(std::function<void()> fn) {
  if (limit_ > 0 && running_ >= limit_) {
    waiting_.push_back(std::move(fn));
    return;
  }
  ++running_;
  fn();
}

void Limiter::release() {
  --running_;
  if (!waiting_.empty() && (limit_ <= 0 || running_ < limit_)) {
    auto fn = std::move(waiting_.front());
    waiting_.pop_front();
    ++running_;
    fn();
  }
}

bool failed_or_error(NodePhase p) { return p == NodePhase::kFailed || p == NodePhase::kError; }

OperatorImpl::OperatorImpl(const spec::Object& wf, const spec::Library& lib, RunOptions options, const Clock& clock)
    : wf_(wf), lib_(lib), options_(std::move(options)), clock_(clock) {}

// Argo's merge of a workflowTemplateRef: the template's spec, with the workflow's own
// fields winning and arguments merged by name (the workflow's values first).
Status OperatorImpl::init() {
  spec_ = wf_.spec;
  if (wf_.spec.workflow_template_ref) {
    const auto& ref = *wf_.spec.workflow_template_ref;
    const spec::Object* tmpl = lib_.find(ref.name, ref.cluster_scope);
    if (!tmpl) return invalid("workflowTemplateRef: WorkflowTemplate \"" + ref.name + "\" not found");
    spec::WorkflowSpec merged = tmpl->spec;
    if (!wf_.spec.entrypoint.empty()) merged.entrypoint = wf_.spec.entrypoint;
    if (!wf_.spec.on_exit.empty()) merged.on_exit = wf_.spec.on_exit;
    if (wf_.spec.parallelism) merged.parallelism = wf_.spec.parallelism;
    if (wf_.spec.priority) merged.priority = wf_.spec.priority;
    if (!wf_.spec.active_deadline_seconds.empty()) merged.active_deadline_seconds = wf_.spec.active_deadline_seconds;
    if (!wf_.spec.metrics_json.empty()) merged.metrics_json = wf_.spec.metrics_json;
    if (!wf_.spec.synchronization_json.empty()) merged.synchronization_json = wf_.spec.synchronization_json;
    if (wf_.spec.template_defaults) merged.template_defaults = wf_.spec.template_defaults;
    for (const auto& h : wf_.spec.hooks) {  // by name, the workflow's own winning
      auto it = std::find_if(merged.hooks.begin(), merged.hooks.end(),
                             [&](const spec::LifecycleHook& m) { return m.name == h.name; });
      if (it == merged.hooks.end()) merged.hooks.push_back(h);
      else *it = h;
    }
    spec::override_pod_fields(merged, wf_.spec);
    for (const auto& t : wf_.spec.templates) merged.templates.push_back(t);
    for (const auto& v : wf_.spec.volumes) merged.volumes.push_back(v);
    for (const auto& c : wf_.spec.volume_claim_templates) merged.volume_claim_templates.push_back(c);
    for (const auto& p : wf_.spec.arguments.parameters) {
      auto it = std::find_if(merged.arguments.parameters.begin(), merged.arguments.parameters.end(),
                             [&](const spec::Parameter& q) { return q.name == p.name; });
      if (it == merged.arguments.parameters.end()) merged.arguments.parameters.push_back(p);
      else if (p.value) it->value = p.value;
      else if (p.value_from) it->value_from = p.value_from;
    }
    merged.workflow_template_ref.reset();
    spec_ = std::move(merged);
  }
  if (!options_.entrypoint.empty()) spec_.entrypoint = options_.entrypoint;
  for (const auto& [k, v] : options_.parameters) {
    auto it = std::find_if(spec_.arguments.parameters.begin(), spec_.arguments.parameters.end(),
                           [&](const spec::Parameter& q) { return q.name == k; });
    if (it == spec_.arguments.parameters.end()) {
      spec::Parameter p;
      p.name = k;
      p.value = v;
      spec_.arguments.parameters.push_back(p);
    } else {
      it->value = v;
    }
  }
  name_ = options_.name.empty() ? wf_.metadata.name : options_.name;
  if (name_.empty()) return invalid("the workflow has no name: set metadata.name or metadata.generateName");
  if (spec_.entrypoint.empty()) return invalid("no entrypoint: set spec.entrypoint or pass --entrypoint");
  if (!spec::find_template(spec_, spec_.entrypoint))
    return invalid("entrypoint template \"" + spec_.entrypoint + "\" not found");

  // Workflow-level variables.
  global_.set("workflow.name", name_);
  global_.set("workflow.namespace", options_.namespace_);
  global_.set("workflow.uid", options_.uid);
  global_.set("workflow.mainEntrypoint", spec_.entrypoint);
  global_.set("workflow.serviceAccountName", spec_.service_account_name);
  if (spec_.priority) global_.set("workflow.priority", std::to_string(*spec_.priority));
  // Arguments from ConfigMaps (unless -p gave a value), with valueFrom.default when absent.
  for (auto& p : spec_.arguments.parameters) {
    if (p.value || !p.value_from || p.value_from->config_map_key_ref_json.empty()) continue;
    auto v = config_map_value(*p.value_from, options_, global_);
    if (v) p.value = *v;
    else if (v.status().code() == Code::kNotFound && p.value_from->default_value) p.value = p.value_from->default_value;
    else return invalid("workflow parameter \"" + p.name + "\" from configMapKeyRef: " + v.status().message());
  }
  nlohmann::ordered_json params = nlohmann::ordered_json::array();
  for (const auto& p : spec_.arguments.parameters) params.push_back(parameter_json(p, p.value));
  // {{workflow.parameters}} and its alias .json: all of them as Argo lists them; a
  // parameter named "json" (set below) wins over the alias, as in Argo.
  global_.set_json("workflow.parameters", dump(params));
  global_.set_json("workflow.parameters.json", dump(params));
  for (const auto& p : spec_.arguments.parameters) {
    if (!p.value) return invalid("workflow parameter \"" + p.name + "\" has no value; pass -p " + p.name + "=...");
    if (!p.enum_values.empty() && std::find(p.enum_values.begin(), p.enum_values.end(), *p.value) == p.enum_values.end())
      return invalid("workflow parameter \"" + p.name + "\": value \"" + *p.value + "\" is not one of [" +
                     join(p.enum_values, ", ") + "]");
    global_.set("workflow.parameters." + p.name, *p.value);
  }
  // Labels and annotations one by one and as a JSON object ({{workflow.labels}}, .json).
  auto object_json = [](const std::map<std::string, std::string>& m) {
    return nlohmann::json(m).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  for (const char* v : {"workflow.labels", "workflow.labels.json"}) global_.set_json(v, object_json(wf_.metadata.labels));
  for (const char* v : {"workflow.annotations", "workflow.annotations.json"})
    global_.set_json(v, object_json(wf_.metadata.annotations));
  for (const auto& [k, v] : wf_.metadata.labels) global_.set("workflow.labels." + k, v);
  for (const auto& [k, v] : wf_.metadata.annotations) global_.set("workflow.annotations." + k, v);
  // A CronWorkflow's run carries the time it was scheduled for.
  if (auto it = wf_.metadata.annotations.find("workflows.argoproj.io/scheduled-time"); it != wf_.metadata.annotations.end())
    global_.set("workflow.scheduledTime", it->second);
  pods_ = Limiter(spec_.parallelism.value_or(0));
  suspended_ = wf_.spec.suspend;
  return Status::ok();
}

void OperatorImpl::start() {
  // A workflow that names locks is Pending until it holds them (sync.cc).
  status_.phase = spec_.synchronization_json.empty() ? WorkflowPhase::kRunning : WorkflowPhase::kPending;
  status_.started_at_ms = options_.started_at_ms >= 0 ? options_.started_at_ms : now();
  for (const auto& [name, value] : creation_time_variables(status_.started_at_ms)) global_.set(name, value);
  global_.set("workflow.status", "Running");  // what templates and hooks' expressions see until the end
  if (!options_.spec_warnings.empty())
    status_.conditions.push_back(Condition{"SpecWarning", "True", join(options_.spec_warnings, ", ")});
  if (observer_) observer_->workflow_changed(status_);
  if (!spec_.active_deadline_seconds.empty()) {
    long long secs = std::atoll(spec_.active_deadline_seconds.c_str());
    at(status_.started_at_ms + secs * 1000, [this] {
      if (done_ || stopping_) return;
      deadline_exceeded_ = true;
      stopping_ = true;
      stop_message_ = kWorkflowDeadlineMessage;
      kill_all("Step exceeded its deadline");
    });
  }
  if (park_workflow_for_lock()) return;
  begin_entry();
}

void OperatorImpl::begin_entry() {
  Call call;
  call.name = name_;
  call.display_name = name_;
  call.tmpl = spec::find_template(spec_, spec_.entrypoint);
  call.tmpl_scope = &spec_;
  call.locals = {{"steps.name", ""}};  // Argo calls the entrypoint as a step with no name
  for (const auto& p : spec_.arguments.parameters) call.args.emplace_back(p.name, *p.value);
  // The workflow's argument artifacts go to the entrypoint's inputs (one that cannot be
  // resolved is left out: the entrypoint then says it was not supplied).
  for (const auto& a : spec_.arguments.artifacts) {
    auto where = resolve_artifact(a, global_, "spec.arguments.artifacts \"" + a.name + "\"");
    if (where) call.artifact_args.emplace_back(a.name, std::move(*where));
  }
  call.done = [this](const std::string& id) { entry_done(id); };
  entry_id_ = node_id(name_, name_);
  execute(std::move(call));
  fire_workflow_hooks();
}

// The entrypoint has ended: the workflow's expression hooks see its final status, and the
// exit handler (onExit, else hooks.exit) runs once those that fired have finished (Argo
// waits for them first).
void OperatorImpl::entry_done(const std::string& id) {
  const Node* entry = find(id);
  WorkflowPhase wf_status = !failed_or_error(entry->phase) && !deadline_exceeded_ ? WorkflowPhase::kSucceeded
                            : entry->phase == NodePhase::kError                   ? WorkflowPhase::kError
                                                                                  : WorkflowPhase::kFailed;
  global_.set("workflow.status", workflow_phase_name(wf_status));
  global_.set("workflow.duration", fmt::format("{:.6f}", (now() - status_.started_at_ms) / 1000.0));
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& n : status_.nodes)
    if (failed_or_error(n.phase) && n.type == NodeType::kPod)
      failures.push_back({{"displayName", n.display_name}, {"message", n.message}, {"templateName", n.template_name},
                          {"phase", phase_name(n.phase)}, {"podName", n.pod_name}, {"finishedAt", ""}});
  global_.set_json("workflow.failures", failures.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  entry_finished_ = true;
  fire_workflow_hooks();
  if (workflow_hooks_open_ == 0) run_exit_handler();
}

void OperatorImpl::workflow_hook_done() {
  --workflow_hooks_open_;
  if (entry_finished_ && workflow_hooks_open_ == 0 && !firing_hooks_) run_exit_handler();
}

void OperatorImpl::run_exit_handler() {
  if (exit_started_) return;
  exit_started_ = true;
  if (!terminated_) {
    // onExit wins over hooks.exit, as Argo's GetExitHook; either gets the workflow's
    // arguments unless the hook passes its own.
    spec::LifecycleHook exit;
    const spec::LifecycleHook* hook = nullptr;
    if (!spec_.on_exit.empty()) {
      exit.name = "exit";
      exit.template_name = spec_.on_exit;
      hook = &exit;
    } else {
      for (const auto& h : spec_.hooks)
        if (h.name == "exit") hook = &h;
    }
    if (hook) {
      Call call;
      call.name = name_ + ".onExit";
      call.display_name = call.name;
      call.exit_handler = true;
      call.hooked = true;
      Status st = hook_call(*this, *hook, &spec_, global_, call, true);
      call.done = [this](const std::string& exit_id) {
        exit_id_ = exit_id;
        finish_workflow();
      };
      if (!st) {
        Node& n = add_node(call, NodeType::kPod, NodePhase::kPending);
        exit_id_ = n.id;
        finish(n, NodePhase::kError, st.message());
        finish_workflow();
        return;
      }
      execute(std::move(call));
      return;
    }
  }
  finish_workflow();
}

void OperatorImpl::finish_workflow() {
  const Node* entry = find(entry_id_);
  const Node* exit = find(exit_id_);
  WorkflowPhase phase = WorkflowPhase::kSucceeded;
  if (entry && entry->phase == NodePhase::kError) phase = WorkflowPhase::kError;
  else if (entry && entry->phase == NodePhase::kFailed) phase = WorkflowPhase::kFailed;
  // A failed exit handler fails a workflow that succeeded; one in Error makes it Error (Argo).
  if (phase == WorkflowPhase::kSucceeded && exit && failed_or_error(exit->phase))
    phase = exit->phase == NodePhase::kError ? WorkflowPhase::kError : WorkflowPhase::kFailed;
  if (stopping_ && phase == WorkflowPhase::kSucceeded && !stop_message_.empty()) phase = WorkflowPhase::kFailed;
  if (!over_limit_.empty()) {  // the server's limit, not the workflow's own failure
    phase = WorkflowPhase::kError;
    stop_message_ = over_limit_;
  }
  status_.phase = phase;
  if (!stop_message_.empty()) status_.message = stop_message_;
  else if (phase != WorkflowPhase::kSucceeded && entry && !entry->message.empty()) status_.message = entry->message;
  else if (phase != WorkflowPhase::kSucceeded && exit && !exit->message.empty()) status_.message = exit->message;
  status_.finished_at_ms = now();
  while (!daemons_.empty()) kill_daemons(daemons_.begin()->first);  // each call erases its scope's
  release_all_locks();
  done_ = true;
  timers_.clear();
  emit_workflow_metrics();
  if (observer_) observer_->workflow_changed(status_);
}

Node* OperatorImpl::find(const std::string& id) {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

const Node* OperatorImpl::node(const std::string& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

Node& OperatorImpl::add_node(const Call& call, NodeType type, NodePhase phase, const std::string& message) {
  if (!lock_parked_.empty())
    if (Node* parked = adopt_parked(call.id, type, phase, message)) return *parked;
  Node& n = status_.nodes.emplace_back();
  n.id = call.id.empty() ? fresh_id(call.name) : call.id;
  n.name = call.name;
  n.display_name = call.display_name;
  n.type = type;
  n.template_name = call.tmpl ? call.tmpl->name : "";
  n.template_ref_name = call.template_ref_name;
  n.phase = phase;
  n.message = message;
  n.boundary_id = call.boundary_id;
  auto restarted = options_.node_started_ms.find(n.id);
  n.started_at_ms = restarted != options_.node_started_ms.end() ? restarted->second : now();
  n.retry_attempt = call.attempt;
  n.hooked = call.hooked;
  if (is_finished(phase)) n.finished_at_ms = n.started_at_ms;
  by_id_[n.id] = &n;
  if (!call.parent_id.empty()) add_child(call.parent_id, n.id);
  track_metrics(call, n);
  if (!memo_pending_.empty()) memo_attach(n);
  changed(n);
  return n;
}

// Each edge is added once by construction (a new node's id is new; a DAG task's
// dependencies are distinct), so there is no search: a loop of 100,000 children must not
// cost 100,000 scans of its group's list.
void OperatorImpl::add_child(const std::string& parent_id, const std::string& child_id) {
  if (Node* p = find(parent_id)) p->children.push_back(child_id);
}

Status OperatorImpl::room_for(size_t more, const std::string& what) {
  if (options_.max_nodes == 0 || status_.nodes.size() + more <= options_.max_nodes) return Status::ok();
  Status st = invalid(what + " would take the workflow past the limit of " + std::to_string(options_.max_nodes) +
                      " nodes" + (options_.limit_hint.empty() ? "" : " (" + options_.limit_hint + ")"));
  if (over_limit_.empty()) over_limit_ = st.message();
  return st;
}

void OperatorImpl::changed(const Node& node) {
  if (observer_) observer_->node_changed(node);
  if (watchers_.empty()) return;
  auto it = watchers_.find(node.id);
  if (it == watchers_.end()) return;
  if (is_finished(node.phase)) {
    watchers_.erase(it);  // the node's done callback takes it from here
    return;
  }
  auto fn = it->second;  // a copy: the watcher may add watchers
  fn(node);
}

void OperatorImpl::finish(Node& node, NodePhase phase, const std::string& given_message) {
  if (is_finished(node.phase)) return;
  std::string message = given_message;
  if (!memo_pending_.empty()) memo_finish(node, phase, message);
  node.phase = phase;
  if (!message.empty()) node.message = message;
  node.finished_at_ms = now();
  node.daemoned = false;  // as Argo: a finished node is no longer daemoned
  changed(node);
  emit_node_metrics(node);
  if (!daemons_.empty()) kill_daemons(node.id);  // a scope ends: its daemons go
  ready_fns_.erase(node.id);
  if (!lock_holders_.empty()) release_locks(node.id);
  report_done(node.id);
}

void OperatorImpl::report_done(const std::string& id) {
  auto it = done_fns_.find(id);
  if (it == done_fns_.end()) return;
  DoneFn fn = std::move(it->second);
  done_fns_.erase(it);
  fn(id);
}

void OperatorImpl::at(int64_t when_ms, std::function<void()> fn) { timers_.emplace(when_ms, std::move(fn)); }

int64_t OperatorImpl::next_wakeup_ms() const { return timers_.empty() ? -1 : timers_.begin()->first; }

void OperatorImpl::tick() {
  int64_t t = now();
  while (!timers_.empty() && timers_.begin()->first <= t) {
    auto fn = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    fn();
  }
}

std::vector<Action> OperatorImpl::take_actions() {
  if (!over_limit_.empty() && !stopping_ && !done_) stop(over_limit_);
  std::vector<Action> out;
  out.swap(actions_);
  return out;
}

Status OperatorImpl::resolve_task_template(const spec::Task& task, const spec::WorkflowSpec* scope, Call& call) {
  if (task.template_ref) {
    const auto& ref = *task.template_ref;
    const spec::Object* o = lib_.find(ref.name, ref.cluster_scope);
    if (!o) return invalid("templateRef: WorkflowTemplate \"" + ref.name + "\" not found");
    call.tmpl = spec::find_template(o->spec, ref.template_name);
    if (!call.tmpl) return invalid("templateRef: template \"" + ref.template_name + "\" not found in \"" + ref.name + "\"");
    call.tmpl_scope = &o->spec;
    call.template_ref_name = ref.name;
    return Status::ok();
  }
  if (!task.inline_template_json.empty()) {
    auto t = spec::decode_template_json(task.inline_template_json, task.pos);
    if (!t) return t.status();
    inline_templates_.push_back(std::make_unique<spec::Template>(std::move(*t)));
    call.tmpl = inline_templates_.back().get();
    call.tmpl_scope = scope;
    return Status::ok();
  }
  call.tmpl = spec::find_template(*scope, task.template_name);
  if (!call.tmpl) return invalid("template \"" + task.template_name + "\" not found");
  call.tmpl_scope = scope;
  return Status::ok();
}

std::string OperatorImpl::fresh_id(const std::string& name) const {
  std::string id = node_id(name_, name);
  for (int i = 1; by_id_.count(id); ++i) id = node_id(name_, name) + "-" + std::to_string(i);
  return id;
}

// The call's node is the first node made below, synchronously, so the id chosen here is
// free until then.
std::string OperatorImpl::execute(Call call) {
  if (spec_.template_defaults) call.tmpl = with_defaults(call.tmpl);
  call.id = fresh_id(call.name);
  std::string id = call.id;
  if (call.done) done_fns_[id] = call.done;
  if (call.ready) ready_fns_[id] = call.ready;
  if (call.changed) watchers_[id] = call.changed;
  if (call.depth > kMaxDepth) {
    Node& n = add_node(call, NodeType::kPod, NodePhase::kPending);
    finish(n, NodePhase::kError, "templates nested more than " + std::to_string(kMaxDepth) +
                                     " deep; does a template call itself without an end?");
    return id;
  }
  // Past the node limit a node still records why, and goes no deeper.
  if (Status room = room_for(1, "node " + call.name); !room) {
    finish(add_node(call, NodeType::kPod, NodePhase::kPending), NodePhase::kError, room.message());
    return id;
  }
  if (park_for_lock(call)) return id;
  proceed(std::move(call));
  return id;
}

void OperatorImpl::proceed(Call call) {
  // A memoized template's cache is looked at before its node (or Retry node) exists, as Argo
  // does (and once its locks are held: a node a lock let in looks at the cache then).
  if (!call.tmpl->memoize_json.empty() && call.attempt < 0 && memo_lookup(call)) return;
  const spec::RetryStrategy* retry = call.tmpl->retry_strategy ? &*call.tmpl->retry_strategy : nullptr;
  bool pod = call.tmpl->type == spec::TemplateType::kContainer || call.tmpl->type == spec::TemplateType::kScript ||
             call.tmpl->type == spec::TemplateType::kResource || call.tmpl->type == spec::TemplateType::kContainerSet ||
             call.tmpl->type == spec::TemplateType::kData;
  if (!retry && pod && spec_.retry_strategy) retry = &*spec_.retry_strategy;
  if (retry && call.attempt < 0) {
    run_retry(*this, std::move(call));
    return;
  }
  run_template(std::move(call));
}

// The template with spec.templateDefaults merged in, made once per template (the copies
// live as long as the operator, as call.tmpl pointers do).
const spec::Template* OperatorImpl::with_defaults(const spec::Template* t) {
  if (!t) return t;
  auto it = defaulted_.find(t);
  if (it != defaulted_.end()) return it->second;
  auto copy = std::make_unique<spec::Template>(*t);
  spec::apply_template_defaults(*copy, *spec_.template_defaults);
  const spec::Template* out = copy.get();
  inline_templates_.push_back(std::move(copy));
  defaulted_[t] = out;
  defaulted_[out] = out;
  return out;
}

Status OperatorImpl::bind_inputs(const Call& call, expr::Scope& scope, NameValues& inputs, NameValues& input_artifacts) {
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const auto& in : call.tmpl->inputs.parameters) {
    std::optional<std::string> value;
    if (in.value) value = *in.value;
    else if (in.default_value) value = *in.default_value;
    bool supplied = false;
    for (const auto& [k, v] : call.args)
      if (k == in.name) value = v, supplied = true;
    // An input from a ConfigMap wins over its default; a value passed to it wins over both.
    if (!supplied && in.value_from && !in.value_from->config_map_key_ref_json.empty()) {
      auto v = config_map_value(*in.value_from, options_, global_);
      if (v) value = *v;
      else if (v.status().code() == Code::kNotFound && in.value_from->default_value) value = in.value_from->default_value;
      else return invalid("unable to retrieve inputs.parameters." + in.name + " from ConfigMap: " + v.status().message());
    }
    if (!value) return invalid("inputs.parameters." + in.name + " was not supplied");
    auto resolved = expr::substitute(*value, global_);
    if (!resolved) return resolved.status();
    if (!in.enum_values.empty() &&
        std::find(in.enum_values.begin(), in.enum_values.end(), *resolved) == in.enum_values.end())
      return invalid("inputs.parameters." + in.name + ": value \"" + *resolved + "\" is not one of [" +
                     join(in.enum_values, ", ") + "]");
    scope.set("inputs.parameters." + in.name, *resolved);
    all.push_back(parameter_json(in, *resolved));
    inputs.emplace_back(in.name, *resolved);
  }
  // {{inputs.parameters}}: Argo's list; an expression sees the object by name (eval.cc).
  scope.set_json("inputs.parameters", dump(all));
  // Input artifacts: where each comes from (an argument, else the declaration's own
  // location), and where it goes (the declaration's path and mode).
  for (const auto& in : call.tmpl->inputs.artifacts) {
    std::string where;
    for (const auto& [k, v] : call.artifact_args)
      if (k == in.name) where = v;
    if (where.empty() && !in.location_kind.empty()) {
      auto own = resolve_artifact(in, scope, "inputs.artifacts." + in.name);
      if (!own) return own.status();
      where = std::move(*own);
    }
    if (where.empty() || where == "{}") {
      if (in.optional) continue;
      return invalid("inputs.artifacts." + in.name + " was not supplied: pass it in arguments.artifacts (from, s3, raw or http)");
    }
    auto v = nlohmann::json::parse(where, nullptr, false);
    if (!v.is_object()) return invalid("inputs.artifacts." + in.name + ": not an artifact");
    v["name"] = in.name;
    if (!in.path.empty()) {
      v["path"] = in.path;
      scope.set("inputs.artifacts." + in.name + ".path", in.path);
    }
    if (in.mode) v["mode"] = *in.mode;
    if (!in.sub_path.empty()) v["subPath"] = in.sub_path;
    std::string text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    scope.set_json("inputs.artifacts." + in.name, text);
    input_artifacts.emplace_back(in.name, std::move(text));
  }
  return Status::ok();
}

void OperatorImpl::run_template(Call call) {
  auto scope = std::make_unique<expr::Scope>(&global_);
  NameValues inputs, input_artifacts;
  Status st = bind_inputs(call, *scope, inputs, input_artifacts);
  if (st.is_ok() && stopping_ && !call.exit_handler)
    st = Status(Code::kFailed, stop_message_.empty() ? "workflow shutting down" : stop_message_);
  if (!st) {
    Node& n = add_node(call, call.tmpl->type == spec::TemplateType::kDag ? NodeType::kDag : NodeType::kPod,
                       NodePhase::kPending);
    n.inputs = inputs;
    finish(n, st.code() == Code::kFailed ? NodePhase::kFailed : NodePhase::kError, st.message());
    return;
  }
  std::string id = call.id;
  scope->set("node.name", call.name);  // in every template, as Argo; pod.name in pod templates (run_pod)
  scope->set("workflow.duration", fmt::format("{:.6f}", (now() - status_.started_at_ms) / 1000.0));  // so far
  for (const auto& [name, value] : call.locals) scope->set(name, value);
  switch (call.tmpl->type) {
    case spec::TemplateType::kContainer:
    case spec::TemplateType::kScript:
    case spec::TemplateType::kResource:  // a Pod node, as in Argo; the runner acts (runtime/resource_executor.h)
    case spec::TemplateType::kHttp:      // an HTTP node, as in Argo; the runner sends it (runtime/agent_executor.h)
    case spec::TemplateType::kData:      // a Pod node, as in Argo; the runner lists and transforms (runtime/data_step.h)
    case spec::TemplateType::kContainerSet:  // a Pod node with a Container node per container, as in Argo
      // Where the step is to leave its outputs: {{outputs.artifacts.X.path}},
      // {{outputs.parameters.X.path}} (Argo's path placeholders).
      for (const auto& a : call.tmpl->outputs.artifacts)
        if (!a.path.empty()) scope->set("outputs.artifacts." + a.name + ".path", a.path);
      for (const auto& p : call.tmpl->outputs.parameters)
        if (p.value_from && !p.value_from->path.empty()) scope->set("outputs.parameters." + p.name + ".path", p.value_from->path);
      if (call.attempt >= 0) scope->set("retries", std::to_string(call.attempt));
      run_pod(std::move(call), std::move(scope));
      break;
    case spec::TemplateType::kDag:
      run_dag(*this, std::move(call), std::move(scope));
      break;
    case spec::TemplateType::kSteps:
      run_steps(*this, std::move(call), std::move(scope));
      break;
    case spec::TemplateType::kSuspend:
      run_suspend(std::move(call), *scope);
      break;
    default: {
      Node& n = add_node(call, NodeType::kPod, NodePhase::kPending);
      finish(n, NodePhase::kError,
             std::string(spec::template_type_name(call.tmpl->type)) + " templates are not supported by skiff run yet");
      return;
    }
  }
  if (Node* n = find(id)) {
    if (n->inputs.empty()) n->inputs = std::move(inputs);
    if (n->input_artifacts.empty()) n->input_artifacts = std::move(input_artifacts);
  }
}

void OperatorImpl::run_suspend(Call call, const expr::Scope& scope) {
  Node& n = add_node(call, NodeType::kSuspend, NodePhase::kRunning);
  std::string id = n.id;
  suspend_templates_[id] = call.tmpl;
  const std::string& duration = call.tmpl->suspend->duration;
  if (duration.empty()) return;  // waits for resume (not available in `skiff run`) or stop
  auto text = expr::substitute(duration, scope);
  long long ms = text ? parse_duration_ms(*text) : -1;
  if (ms < 0) {
    finish(n, NodePhase::kError, "suspend.duration \"" + duration + "\" is not a duration like 30s or 5m");
    return;
  }
  at(now() + ms, [this, id] {
    if (Node* s = find(id)) end_suspend(*s, NodePhase::kSucceeded, "");
  });
}

void OperatorImpl::run_pod(Call call, std::unique_ptr<expr::Scope> scope) {
  bool http = call.tmpl->type == spec::TemplateType::kHttp;
  Node& n = add_node(call, http ? NodeType::kHttp : NodeType::kPod, NodePhase::kPending);
  n.pod_name = pod_name(name_, call.name, call.tmpl->name);
  scope->set("pod.name", n.pod_name);
  if (call.tmpl->container_set) add_container_nodes(call, n.id);
  ++pods_total_;
  status_.progress = std::to_string(pods_done_) + "/" + std::to_string(pods_total_);  // "0/1" while it runs
  std::string id = n.id;
  // Resolve every {{...}} of the template now, so the runner gets plain values.
  auto resolved = resolve_pod_template(*call.tmpl, spec_, *scope);
  std::vector<spec::Volume> volumes = spec_.volumes;
  Status st = resolved ? resolve_volumes(volumes, *scope) : resolved.status();
  if (!st) {
    finish(n, NodePhase::kError, st.message());
    return;
  }
  spec::Template t = std::move(*resolved);
  volumes.insert(volumes.end(), t.volumes.begin(), t.volumes.end());
  long long deadline_s = -1;
  if (!t.active_deadline_seconds.empty()) {
    auto d = expr::substitute(t.active_deadline_seconds, *scope);
    deadline_s = d ? std::atoll(d->c_str()) : -1;
  }
  // `timeout` counts from the node's start, waiting for a parallelism slot included (Argo).
  long long timeout_ms = -1;
  if (!t.timeout.empty()) {
    auto text = expr::substitute(t.timeout, *scope);
    bool bare_number = text && std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; });
    timeout_ms = text && !bare_number ? parse_duration_ms(*text) : -1;
    if (timeout_ms < 0) {
      finish(n, NodePhase::kError, "timeout \"" + (text ? *text : t.timeout) + "\" is not a duration like 30s or 5m");
      return;
    }
    auto restarted = options_.node_started_ms.find(id);
    int64_t since = restarted != options_.node_started_ms.end() ? restarted->second : now();
    at(since + timeout_ms, [this, id] { time_out(id); });
  }
  pod_templates_[id] = call.tmpl;
  pods_.run([this, id, t = std::move(t), volumes = std::move(volumes), deadline_s,
              exit_handler = call.exit_handler]() mutable {
    Node* node = find(id);
    if (!node || is_finished(node->phase)) {
      pods_.release();
      return;
    }
    if (stopping_ && !exit_handler) {
      pods_.release();
      finish(*node, NodePhase::kFailed, stop_message_.empty() ? "workflow shutting down" : stop_message_);
      return;
    }
    // A step adopted after a restart counts from when it first started.
    auto restarted = options_.node_started_ms.find(id);
    int64_t since = restarted != options_.node_started_ms.end() ? restarted->second : now();
    if (deadline_s >= 0)
      at(since + deadline_s * 1000, [this, id] {
        Node* p = find(id);
        if (p && !is_finished(p->phase) && !kill_reasons_.count(id)) {
          kill_reasons_[id] = kPodDeadlineMessage;
          actions_.push_back(KillStep{id, kPodDeadlineMessage});
        }
      });
    start_pod(id, std::move(t), std::move(volumes));
  });
}

// A containerSet's Container nodes, as Argo makes them: "<pod>.<container>", bounded by the
// pod node; a container without dependencies is the pod's child, the others their
// dependencies' children. They end when the pod does (step_exited).
void OperatorImpl::add_container_nodes(const Call& pod, const std::string& pod_id) {
  auto& members = set_members_[pod_id];
  for (const auto& c : pod.tmpl->container_set->containers) {
    Call cc;
    cc.name = pod.name + "." + c.name;
    cc.display_name = c.name;
    cc.tmpl = pod.tmpl;
    cc.template_ref_name = pod.template_ref_name;
    cc.boundary_id = pod_id;
    if (c.dependencies.empty()) cc.parent_id = pod_id;
    members.emplace_back(c.name, add_node(cc, NodeType::kContainer, NodePhase::kPending).id);
  }
  for (const auto& c : pod.tmpl->container_set->containers)
    for (const auto& d : c.dependencies) {
      std::string from, to;
      for (const auto& [name, id] : members) {
        if (name == d) from = id;
        if (name == c.name) to = id;
      }
      if (!from.empty() && !to.empty()) add_child(from, to);
    }
}

// Each Container node as its container ended (`containers_json`); one the runner did not
// report did not run: it takes the pod's phase when that failed.
void OperatorImpl::finish_container_nodes(const std::string& pod_id, const std::string& containers_json,
                                          NodePhase pod_phase) {
  auto it = set_members_.find(pod_id);
  if (it == set_members_.end()) return;
  auto reported = nlohmann::json::parse(containers_json.empty() ? "[]" : containers_json, nullptr, false);
  for (const auto& [name, id] : it->second) {
    Node* node = find(id);
    if (!node || is_finished(node->phase)) continue;
    const nlohmann::json* got = nullptr;
    if (reported.is_array())
      for (const auto& r : reported)
        if (r.is_object() && r.value("name", "") == name) got = &r;
    if (!got) {
      finish(*node, pod_phase == NodePhase::kSucceeded ? NodePhase::kSucceeded : NodePhase::kError,
             pod_phase == NodePhase::kSucceeded ? "" : "did not run");
      continue;
    }
    if (got->contains("exitCode") && (*got)["exitCode"].is_number_integer()) node->outputs.exit_code = (*got)["exitCode"].get<int>();
    NodePhase phase = spec::parse_node_phase(got->value("phase", "Error"));
    finish(*node, phase, got->value("message", ""));
  }
  set_members_.erase(it);
}

// A pod template past its `timeout`: a running step is killed as one past its deadline (Argo
// sets the Pod's activeDeadlineSeconds from it); one that never started fails at once.
void OperatorImpl::time_out(const std::string& id) {
  Node* n = find(id);
  if (!n || is_finished(n->phase) || kill_reasons_.count(id)) return;
  auto held = std::find_if(held_.begin(), held_.end(), [&](const StartStep& s) { return s.node_id == id; });
  if (held != held_.end()) {
    held_.erase(held);
    kill_reasons_[id] = kPodDeadlineMessage;
    StepExit exit;
    exit.node_id = id;
    exit.exit_code = -1;
    step_exited(exit);
  } else if (live_pods_.count(id)) {
    kill_reasons_[id] = kPodDeadlineMessage;
    actions_.push_back(KillStep{id, kPodDeadlineMessage});
  } else {
    finish(*n, NodePhase::kFailed, "timeout");  // still waiting for a slot: run_pod's turn sees it finished
  }
}

void OperatorImpl::start_pod(const std::string& id, spec::Template resolved, std::vector<spec::Volume> volumes) {
  Node* n = find(id);
  StartStep s;
  s.node_id = id;
  s.pod_name = n->pod_name;
  s.node_name = n->name;
  s.tmpl = std::move(resolved);
  s.volumes = std::move(volumes);
  s.claims = spec_.volume_claim_templates;
  live_pods_.insert(id);
  if (suspended_ && !stopping_ && !options_.replayed.count(id)) {
    held_.push_back(std::move(s));
  } else {
    actions_.push_back(std::move(s));
  }
}

void OperatorImpl::step_started(const std::string& node_id) {
  Node* n = find(node_id);
  if (!n || n->phase != NodePhase::kPending) return;
  n->phase = NodePhase::kRunning;
  changed(*n);
}

// The executor reports a step ready once it runs; a daemon's once its readinessProbe
// passed too (Argo: the pod is Running and its containers ready).
void OperatorImpl::step_ready(const std::string& node_id, const std::string& ip) {
  Node* n = find(node_id);
  if (!n || is_finished(n->phase)) return;
  n->pod_ip = ip;
  const spec::Template* t = pod_templates_[node_id];
  if (!t || !t->daemon || n->daemoned) return changed(*n);
  auto ready = ready_fns_.find(node_id);
  if (ready == ready_fns_.end()) return daemoned(*n);
  // A Retry node's attempt: it is daemoned with its Retry node, which reports to the scope.
  n->daemoned = true;
  daemons_.emplace(n->boundary_id, node_id);
  changed(*n);
  DoneFn fn = std::move(ready->second);
  ready_fns_.erase(ready);
  fn(node_id);
}

void OperatorImpl::daemoned(Node& n) {
  if (n.daemoned || is_finished(n.phase)) return;
  n.daemoned = true;
  daemons_.emplace(n.boundary_id, n.id);
  changed(n);
  // Done for its scope while it keeps running (Argo: "fulfilled" when daemoned).
  report_done(n.id);
}

// As Argo's killDaemonedChildren: the scope's daemons are stopped and read Succeeded at
// once (their exits, when they come, change nothing); a Retry node over one likewise.
void OperatorImpl::kill_daemons(const std::string& scope_id) {
  auto [first, last] = daemons_.equal_range(scope_id);
  std::vector<std::string> ids;
  for (auto it = first; it != last; ++it) ids.push_back(it->second);
  daemons_.erase(first, last);
  for (const std::string& id : ids) {
    Node* d = find(id);
    if (!d || is_finished(d->phase)) continue;
    if (live_pods_.count(id) && !kill_reasons_.count(id)) {
      kill_reasons_[id] = "";
      actions_.push_back(KillStep{id, ""});
    }
    finish(*d, NodePhase::kSucceeded);
  }
}

void OperatorImpl::step_exited(const StepExit& exit) {
  Node* n = find(exit.node_id);
  if (!n) return;
  if (is_finished(n->phase)) {
    // A daemon that read Succeeded when its scope ended: its process has gone now.
    if (live_pods_.erase(exit.node_id)) {
      pods_.release();
      ++pods_done_;
      status_.progress = std::to_string(pods_done_) + "/" + std::to_string(pods_total_);
      pod_templates_.erase(exit.node_id);
      kill_reasons_.erase(exit.node_id);
      if (!n->outputs.exit_code) {
        n->outputs.exit_code = exit.exit_code;
        changed(*n);
      }
    }
    return;
  }
  live_pods_.erase(exit.node_id);
  pods_.release();
  ++pods_done_;
  status_.progress = std::to_string(pods_done_) + "/" + std::to_string(pods_total_);
  const spec::Template* t = pod_templates_[exit.node_id];
  pod_templates_.erase(exit.node_id);
  // An HTTP node's result is the response body as it came (Argo's agent), and it has no exit code.
  bool http = n->type == NodeType::kHttp;
  std::string result = http ? exit.stdout_text : trim_one_newline(exit.stdout_text);
  if (result.size() > kMaxResult) result.resize(kMaxResult);
  if (!http || !exit.stdout_text.empty() || exit.exit_code == 0) n->outputs.result = result;  // no response, no result
  if (!http) n->outputs.exit_code = exit.exit_code;
  NodePhase phase = exit.error ? NodePhase::kError : exit.exit_code == 0 ? NodePhase::kSucceeded : NodePhase::kFailed;
  std::string message;
  auto killed = kill_reasons_.find(exit.node_id);
  if (killed != kill_reasons_.end()) {
    message = killed->second;
    phase = NodePhase::kFailed;
    kill_reasons_.erase(killed);
  } else if (exit.error) {
    message = exit.message.empty() ? "the step could not run" : exit.message;
  } else if (!exit.message.empty() && exit.exit_code != 0) {
    message = exit.message;
  } else if (exit.exit_code != 0) {
    // As Argo's inferFailedReason words a failed main container (v3.6): the container's
    // terminated reason and exit code, then its termination message when it left one.
    message = (exit.reason.empty() ? "Error" : exit.reason) + " (exit code " + std::to_string(exit.exit_code) + ")";
    if (!exit.termination_message.empty()) message += ": " + exit.termination_message;
  } else if (t && t->daemon) {
    // Argo fails a daemon's pod that succeeds: a daemon should run until its scope ends.
    phase = NodePhase::kFailed;
    message = "the daemon exited (exit code 0) before its steps or DAG ended";
  }
  if (t) {
    for (const auto& p : t->outputs.parameters) {
      auto it = exit.output_parameters.find(p.name);
      if (it != exit.output_parameters.end()) {
        n->outputs.parameters.emplace_back(p.name, trim_one_newline(it->second));
      } else if (p.value_from && p.value_from->default_value) {
        n->outputs.parameters.emplace_back(p.name, *p.value_from->default_value);
      } else if (p.value_from && !p.value_from->path.empty() && phase == NodePhase::kSucceeded) {
        phase = NodePhase::kError;
        message = "output parameter \"" + p.name + "\": " + p.value_from->path + " was not written by the step and has no default";
      }
    }
    for (const auto& a : t->outputs.artifacts) {
      auto it = exit.output_artifacts.find(a.name);
      if (it != exit.output_artifacts.end()) n->outputs.artifacts.emplace_back(a.name, it->second);
    }
    // And what the runner kept of its own accord: the step's log (archiveLogs: main-logs).
    for (const auto& [name, json] : exit.output_artifacts) {
      bool declared = std::any_of(t->outputs.artifacts.begin(), t->outputs.artifacts.end(),
                                  [&name = name](const spec::Artifact& a) { return a.name == name; });
      if (!declared) n->outputs.artifacts.emplace_back(name, json);
    }
    publish_globals(*t, *n);
  }
  finish_container_nodes(n->id, exit.containers_json, phase);
  finish(*n, phase, message);
}

void OperatorImpl::publish_globals(const spec::Template& tmpl, const Node& node) {
  bool published = false;
  for (const auto& p : tmpl.outputs.parameters) {
    if (p.global_name.empty()) continue;
    for (const auto& [k, v] : node.outputs.parameters) {
      if (k != p.name) continue;
      published = true;
      global_.set("workflow.outputs.parameters." + p.global_name, v);
      auto it = std::find_if(status_.outputs.begin(), status_.outputs.end(), [&](auto& kv) { return kv.first == p.global_name; });
      if (it == status_.outputs.end()) status_.outputs.emplace_back(p.global_name, v);
      else it->second = v;
    }
  }
  for (const auto& a : tmpl.outputs.artifacts) {
    if (a.global_name.empty()) continue;
    for (const auto& [k, v] : node.outputs.artifacts) {
      if (k != a.name) continue;
      auto j = nlohmann::json::parse(v, nullptr, false);
      if (!j.is_object()) continue;
      j["name"] = a.global_name;
      std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      global_.set_json("workflow.outputs.artifacts." + a.global_name, text);
      auto& list = status_.output_artifacts;
      auto it = std::find_if(list.begin(), list.end(), [&](auto& kv) { return kv.first == a.global_name; });
      if (it == list.end()) list.emplace_back(a.global_name, std::move(text));
      else it->second = std::move(text);
    }
  }
  if (published) fire_workflow_hooks();  // an expression may read workflow.outputs.parameters
}

void OperatorImpl::kill_all(const std::string& reason) {
  end_lock_waiters(reason);
  // Steps held by a suspend never started: they end at once.
  for (auto& held : std::exchange(held_, {})) {
    kill_reasons_[held.node_id] = reason;
    StepExit exit;
    exit.node_id = held.node_id;
    exit.exit_code = -1;
    step_exited(exit);
  }
  // Pods waiting for a parallelism slot fail when their turn comes (see run_pod).
  for (const auto& id : live_pods_) {
    if (kill_reasons_.count(id)) continue;
    kill_reasons_[id] = reason;
    actions_.push_back(KillStep{id, reason});
  }
  // Suspended nodes end as well.
  std::vector<std::string> waiting;  // ids first: ending one may add nodes
  for (const auto& n : status_.nodes)
    if (n.type == NodeType::kSuspend && !is_finished(n.phase)) waiting.push_back(n.id);
  for (const auto& id : waiting) end_suspend(*find(id), NodePhase::kFailed, reason);
}

void OperatorImpl::stop(const std::string& message) {
  if (done_ || stopping_) return;
  stopping_ = true;
  stop_message_ = message;
  kill_all(message);
}

void OperatorImpl::terminate(const std::string& message) {
  terminated_ = true;
  stop(message);
}

}  // namespace detail
}  // namespace skiff::engine
