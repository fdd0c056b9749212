// Node and workflow status: what the engine knows about a run, in Argo's vocabulary.
//
// Passive data owned by the Operator; observers get const references. Phases and types are
// enum classes with Argo's names (phase_name/type_name give the exact strings Argo uses in
// status.nodes). Times are milliseconds since the Unix epoch, from the injected Clock.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "spec/phase.h"

namespace skiff::engine {

// Phases live in spec/phase.h, where the store and the server read them too.
using spec::NodePhase;
using spec::WorkflowPhase;
using spec::phase_name;
using spec::workflow_phase_name;
using spec::is_finished;

enum class NodeType { kPod, kContainer, kSteps, kStepGroup, kDag, kTaskGroup, kRetry, kSkipped, kSuspend, kHttp, kPlugin };
const char* type_name(NodeType t);

using NameValues = std::vector<std::pair<std::string, std::string>>;

struct NodeOutputs {
  std::optional<std::string> result;  // stdout, one trailing newline trimmed, capped
  std::optional<int> exit_code;
  NameValues parameters;
  // name -> the artifact as Argo's status shows it: {"name", "path", "s3": {"key"}, ...} (JSON)
  NameValues artifacts;
  // Declared output parameters a skipped node left without a value or default: absent
  // (nil to expressions; an argument naming one alone is not supplied). Not stored.
  std::vector<std::string> absent;
};

// How a node of a `memoize` template met its cache, as Argo's node.memoizationStatus:
// hit = its outputs came from the entry `key` of ConfigMap `cache_name` and it did not run.
struct MemoizationStatus {
  bool hit = false;
  std::string key;
  std::string cache_name;
};

struct Node {
  std::string id;            // root: workflow name; others: "<wf>-<fnv32a(name)>" as Argo
  std::string name;          // "wf.task", "wf[0].step", "wf.task(0:a)", "wf.task(1)", "wf.onExit"
  std::string display_name;  // last component: "task", "[0]", "task(0:a)", "task(1)"
  NodeType type = NodeType::kPod;
  std::string template_name;
  std::string template_ref_name;  // set when reached through templateRef (its WorkflowTemplate)
  NodePhase phase = NodePhase::kPending;
  std::string message;
  std::string boundary_id;
  std::vector<std::string> children;
  std::vector<std::string> outbound_nodes;
  int64_t started_at_ms = 0;
  int64_t finished_at_ms = 0;
  NameValues inputs;  // resolved input parameters
  NameValues input_artifacts;  // resolved input artifacts: name -> JSON, as outputs.artifacts
  NodeOutputs outputs;
  std::string pod_name;  // Pod nodes: "<wf>-<template>-<fnv32a(name)>" as Argo's POD_NAMES=v2
  int retry_attempt = -1;  // children of a Retry node: 0, 1, ...
  std::string pod_ip;      // Pod nodes, once running: {{steps.X.ip}} / {{tasks.X.ip}}
  bool daemoned = false;   // a `daemon: true` pod that is up: it counts as done for its scope
  bool hooked = false;     // run by a lifecycle hook or onExit (Argo's nodeFlag.hooked)
  std::optional<MemoizationStatus> memoization;  // nodes of `memoize` templates (engine/memoize.cc)
  std::string sync_waiting;  // the lock it waits for (synchronizationStatus.waiting), "" = none
};

// One entry of status.conditions, as Argo writes it: {type, status: "True", message}.
struct Condition {
  std::string type;  // "SpecWarning"
  std::string status = "True";
  std::string message;
};

struct WorkflowStatus {
  WorkflowPhase phase = WorkflowPhase::kPending;
  std::string message;
  int64_t started_at_ms = 0;
  int64_t finished_at_ms = 0;
  std::deque<Node> nodes;  // creation order (a deque: references stay valid); by id: Operator::node()
  NameValues outputs;       // workflow outputs (globalName)
  NameValues output_artifacts;  // likewise, artifacts: globalName -> JSON
  std::string progress;     // "done/total" over Pod nodes, as Argo's status.progress
  std::vector<Condition> conditions;
  std::string synchronization_json;  // status.synchronization as Argo writes it ("" = none)
};

}  // namespace skiff::engine
