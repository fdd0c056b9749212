#include "engine/workflow_json.h"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "util/json_text.h"

namespace skiff::engine {

using Json = nlohmann::ordered_json;

std::string rfc3339(int64_t ms) {
  if (ms <= 0) return "";
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t parse_rfc3339(const std::string& text) {
  std::tm tm{};
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 6) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

namespace {

Json parameters(const NameValues& values) {
  Json out = Json::array();
  for (const auto& [k, v] : values) out.push_back({{"name", k}, {"value", v}});
  return out;
}

// Artifacts (name -> JSON object) as Argo's list.
Json artifacts(const NameValues& list) {
  Json out = Json::array();
  for (const auto& [name, text] : list) {
    Json a = parse_json_or_discarded<Json>(text);
    if (!a.is_object()) continue;
    a["name"] = name;
    out.push_back(std::move(a));
  }
  return out;
}

Json node_json(const Node& n) {
  Json j;
  j["id"] = n.id;
  j["name"] = n.name;
  j["displayName"] = n.display_name;
  j["type"] = type_name(n.type);
  if (!n.template_name.empty()) j["templateName"] = n.template_name;
  if (!n.template_ref_name.empty())
    j["templateRef"] = {{"name", n.template_ref_name}, {"template", n.template_name}};
  j["templateScope"] = n.template_ref_name.empty() ? "local/" : "namespaced/" + n.template_ref_name;
  j["phase"] = phase_name(n.phase);
  if (!n.boundary_id.empty()) j["boundaryID"] = n.boundary_id;
  if (!n.message.empty()) j["message"] = n.message;
  j["startedAt"] = rfc3339(n.started_at_ms);
  j["finishedAt"] = n.finished_at_ms ? Json(rfc3339(n.finished_at_ms)) : Json(nullptr);
  if (n.type == NodeType::kPod && n.finished_at_ms) j["progress"] = "1/1";
  if (!n.inputs.empty()) j["inputs"]["parameters"] = parameters(n.inputs);
  if (!n.input_artifacts.empty()) j["inputs"]["artifacts"] = artifacts(n.input_artifacts);
  Json outputs = Json::object();
  if (!n.outputs.parameters.empty()) outputs["parameters"] = parameters(n.outputs.parameters);
  if (!n.outputs.artifacts.empty()) outputs["artifacts"] = artifacts(n.outputs.artifacts);
  if (n.outputs.result) outputs["result"] = *n.outputs.result;
  if (n.outputs.exit_code) outputs["exitCode"] = std::to_string(*n.outputs.exit_code);
  if (!outputs.empty()) j["outputs"] = outputs;
  if (!n.children.empty()) j["children"] = n.children;
  if (!n.outbound_nodes.empty()) j["outboundNodes"] = n.outbound_nodes;
  if (n.type == NodeType::kPod && !n.pod_name.empty()) j["hostNodeName"] = "skiff";
  if (!n.pod_ip.empty()) j["podIP"] = n.pod_ip;
  if (n.daemoned) j["daemoned"] = true;
  if (n.hooked) j["nodeFlag"] = {{"hooked", true}};
  if (n.memoization)
    j["memoizationStatus"] = {
        {"hit", n.memoization->hit}, {"key", n.memoization->key}, {"cacheName", n.memoization->cache_name}};
  if (!n.sync_waiting.empty()) j["synchronizationStatus"] = {{"waiting", n.sync_waiting}};
  return j;
}

// status without nodes
Json status_summary(const WorkflowStatus& st) {
  Json status;
  status["phase"] = workflow_phase_name(st.phase);
  status["startedAt"] = rfc3339(st.started_at_ms);
  status["finishedAt"] = st.finished_at_ms ? Json(rfc3339(st.finished_at_ms)) : Json(nullptr);
  if (!st.progress.empty()) status["progress"] = st.progress;
  if (!st.message.empty()) status["message"] = st.message;
  if (!st.outputs.empty()) status["outputs"]["parameters"] = parameters(st.outputs);
  if (!st.output_artifacts.empty()) status["outputs"]["artifacts"] = artifacts(st.output_artifacts);
  for (const auto& c : st.conditions)
    status["conditions"].push_back({{"type", c.type}, {"status", c.status}, {"message", c.message}});
  if (!st.synchronization_json.empty()) {
    Json sync = parse_json_or_discarded<Json>(st.synchronization_json);
    if (sync.is_object() && !sync.empty()) status["synchronization"] = std::move(sync);
  }
  return status;
}

}  // namespace

std::string workflow_json(const spec::Object& workflow, const Operator& op, int indent) {
  const WorkflowStatus& st = op.status();
  Json wf;
  wf["apiVersion"] = "argoproj.io/v1alpha1";
  wf["kind"] = "Workflow";
  Json meta;
  meta["name"] = op.workflow_name();
  if (!workflow.metadata.generate_name.empty()) meta["generateName"] = workflow.metadata.generate_name;
  meta["namespace"] = workflow.metadata.namespace_.empty() ? "default" : workflow.metadata.namespace_;
  meta["creationTimestamp"] = rfc3339(st.started_at_ms);
  Json labels = Json::object();
  for (const auto& [k, v] : workflow.metadata.labels) labels[k] = v;
  labels["workflows.argoproj.io/phase"] = workflow_phase_name(st.phase);
  if (st.finished_at_ms) labels["workflows.argoproj.io/completed"] = "true";
  meta["labels"] = labels;
  if (!workflow.metadata.annotations.empty()) meta["annotations"] = workflow.metadata.annotations;
  wf["metadata"] = meta;
  Json source = parse_json_or_discarded<Json>(workflow.source_json.empty() ? "{}" : workflow.source_json);
  wf["spec"] = source.is_object() && source.contains("spec") ? source["spec"] : Json::object();

  Json status = status_summary(st);
  Json nodes = Json::object();
  for (const auto& n : st.nodes) nodes[n.id] = node_json(n);
  status["nodes"] = nodes;
  wf["status"] = status;
  return wf.dump(indent, ' ', false, Json::error_handler_t::replace);
}

std::string node_json_text(const Node& node) {
  return node_json(node).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string status_json_text(const WorkflowStatus& status) {
  return status_summary(status).dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace skiff::engine
