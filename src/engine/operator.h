// The workflow operator: Argo's semantics as a state machine over nodes, with no I/O.
//
// It takes a Workflow (and the WorkflowTemplates that templateRef/workflowTemplateRef may
// name) and events (a step started, a step exited, time passed) and returns actions (start
// this step with this fully resolved template, kill that one). It reads time only from the
// injected Clock and never blocks, so tests drive it by hand and a 10,000-node DAG costs
// only its bookkeeping. Work per event is proportional to what the event touches (a task's
// dependents, its scope), not to the size of the workflow.
//
// Single-threaded: one owner calls everything. The spec::Object and Library must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "engine/node.h"
#include "spec/synchronization.h"
#include "spec/types.h"
#include "spec/validate.h"
#include "util/status.h"

namespace skiff::engine {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() const = 0;  // wall-clock milliseconds since the Unix epoch
};

struct RunOptions {
  std::map<std::string, std::string> parameters;  // -p name=value, override spec.arguments
  std::string entrypoint;                         // --entrypoint; empty = spec.entrypoint
  std::string name;      // the workflow's name; empty = metadata.name or generateName + suffix
  std::string namespace_ = "default";
  std::string uid;
  // Steps a restarted server answers from its store at once: a suspend never holds them.
  std::set<std::string> replayed;
  // After a restart: when the workflow and its nodes first started (epoch ms; -1 and
  // absent: now), so that times and deadlines keep counting from then.
  int64_t started_at_ms = -1;
  std::map<std::string, int64_t> node_started_ms;
  // At most this many nodes (0: no limit). A loop that would expand past it ends in Error
  // before any of its children exist; so does any node beyond it. `limit_hint` is how
  // the owner says where the limit is set, for those messages.
  size_t max_nodes = 0;
  std::string limit_hint;
  // What the owner found in the spec that will not be acted on (lint's warnings for its
  // executor): status.conditions gets one SpecWarning holding them all, as Argo's does.
  std::vector<std::string> spec_warnings;
  // The namespace's ConfigMaps (name -> key -> value) as the owner read them when the run
  // started: what valueFrom.configMapKeyRef of workflow arguments and template inputs
  // reads (the engine does no I/O).
  std::map<std::string, std::map<std::string, std::string>> config_maps;
  // Which of those carry the label workflows.argoproj.io/configmap-type: Cache: the only
  // ones a `memoize` template reads its entries from or adds to (as Argo, which refuses
  // any other ConfigMap of that name). Entries are config_maps[name][key].
  std::set<std::string> cache_config_maps;
};

// Start a Pod node's step. `tmpl` is the template with inputs applied, the workflow's
// pod-level fields as defaults (spec/pod.h) and every `{{...}}` resolved, in its containers,
// sidecars, init containers, volumes and pod-level fields alike (pod_template.cc).
struct StartStep {
  std::string node_id;
  std::string node_name;  // "wf.step[0].x": a Pod's workflows.argoproj.io/node-name
  std::string pod_name;
  spec::Template tmpl;
  std::vector<spec::Volume> volumes;              // workflow volumes + template volumes, resolved
  std::vector<spec::ClaimTemplate> claims;        // the workflow's volumeClaimTemplates
};

// Stop a running step (deadline, failFast, workflow stop). The runner reports its exit
// with StepExit as usual; the engine uses `reason` as the node's message.
struct KillStep {
  std::string node_id;
  std::string reason;
};

// Store a `memoize` cache entry: the runner writes `entry_json` (Argo's entry: nodeID,
// outputs, creationTimestamp, lastHitTimestamp) under `key` in the ConfigMap `cache_name`
// of the workflow's namespace, creating it with the label
// workflows.argoproj.io/configmap-type: Cache. Sent when a memoized node Succeeded, and
// when a hit refreshes its entry's lastHitTimestamp. The engine already counted it in:
// later nodes of the same run see it whether or not the write succeeds.
struct StoreCacheEntry {
  std::string cache_name;
  std::string key;
  std::string entry_json;
};

// Synchronization (spec/synchronization.h): the workflow (holder "") or a node (holder: its
// id) asks for every lock its `synchronization` names, before it runs. The owner's lock
// manager answers with lock_acquired, lock_waiting (then lock_acquired later) or
// lock_failed. Waiters queue by `priority` (higher first), then `created_ms` (older first).
struct AcquireLock {
  std::string holder;
  std::vector<spec::LockRef> locks;
  int64_t priority = 0;    // the workflow's spec.priority
  int64_t created_ms = 0;  // when the workflow was created
};
// The holder ended (or stopped waiting): its locks, or its place in their queues, go.
struct ReleaseLock {
  std::string holder;
};

using Action = std::variant<StartStep, KillStep, StoreCacheEntry, AcquireLock, ReleaseLock>;

// What a runner reports when a step has ended.
struct StepExit {
  std::string node_id;
  int exit_code = 0;
  std::string stdout_text;              // the main container's stdout (for outputs.result)
  std::map<std::string, std::string> output_parameters;  // valueFrom.path, by parameter name
  // The output artifacts saved, by name: each as Argo's status shows it (JSON object).
  std::map<std::string, std::string> output_artifacts;
  std::string message;                  // set when the runner has something to say
  bool error = false;                   // the step could not run (not an exit code): phase Error
  // A non-zero exit's node message is "<reason> (exit code N)[: <termination_message>]",
  // as Argo words a failed main container (reason "" = "Error"); `message` overrides it.
  std::string reason;                   // e.g. "OOMKilled"
  std::string termination_message;      // what the step left at terminationMessagePath (or its log's tail)
  // A containerSet's containers as they ended: [{"name", "phase", "exitCode", "message"}] ("" = none).
  std::string containers_json;
};

// What `argo node set` changes on the nodes a selector picks.
struct NodeUpdate {
  std::string phase;    // "" = unchanged; a running Suspend node set to a phase finishes with it
  std::string message;  // "" = unchanged
  std::map<std::string, std::string> output_parameters;  // declared outputs of the node's template
};

// One observation of a custom metric (`metrics.prometheus` on a template or the workflow),
// evaluated when the node or workflow finished. Names are as the user wrote them; a
// registry adds its own prefix.
struct MetricSample {
  enum class Type { kGauge, kCounter, kHistogram };
  std::string name, help;
  Type type = Type::kGauge;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by key
  double value = 0;              // gauge: set; counter: add; histogram: observe
  std::vector<double> buckets;   // histograms: upper bounds, ascending
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void node_changed(const Node& node) = 0;  // created or phase/message/outputs changed
  virtual void workflow_changed(const WorkflowStatus& status) = 0;
  // A custom metric sample: template metrics just after their node's last node_changed,
  // workflow metrics just before the final workflow_changed.
  virtual void metric(const MetricSample& sample) {}
};

class Operator {
 public:
  // Resolves workflowTemplateRef, merges arguments, checks that the entrypoint exists.
  // Errors here are the user's (kInvalid) and carry a location when one is known.
  static Result<std::unique_ptr<Operator>> create(const spec::Object& workflow,
                                                  const spec::Library& library,
                                                  const RunOptions& options, const Clock& clock);
  virtual ~Operator() = default;

  virtual void set_observer(Observer* observer) = 0;
  virtual void start() = 0;  // creates the root node; call once

  // Actions produced since the last call, in the order they should be carried out.
  virtual std::vector<Action> take_actions() = 0;

  virtual void step_started(const std::string& node_id) = 0;
  // The step's process is up and reachable at `ip`. A `daemon: true` step now counts as
  // done for the steps or DAG that holds it; it is killed when that scope ends.
  virtual void step_ready(const std::string& node_id, const std::string& ip) = 0;
  virtual void step_exited(const StepExit& exit) = 0;
  // Answers to AcquireLock. A node that waits stays Pending with `message` (Argo's
  // "Waiting for <lock> lock. Lock status: 0/1") and synchronizationStatus.waiting `lock`;
  // a workflow that waits stays Pending with that message. lock_failed (a semaphore whose
  // ConfigMap or key is missing) ends the node in Error, the workflow Failed.
  virtual void lock_acquired(const std::string& holder) = 0;
  virtual void lock_waiting(const std::string& holder, const std::string& lock, const std::string& message) = 0;
  virtual void lock_failed(const std::string& holder, const std::string& message) = 0;
  // status.synchronization as the owner's lock manager sees this workflow (JSON; "" = none).
  virtual void set_synchronization_status(const std::string& json) = 0;

  // Call when now >= next_wakeup_ms(): fires deadlines, retry backoffs, suspend durations.
  virtual void tick() = 0;
  virtual int64_t next_wakeup_ms() const = 0;  // -1 when nothing is scheduled

  // `argo stop` (runs exit handlers) and `argo terminate` (does not).
  virtual void stop(const std::string& message) = 0;
  virtual void terminate(const std::string& message) = 0;

  // `argo suspend`: steps not started yet wait (Pending) until resume(); running ones go on.
  virtual Status suspend() = 0;
  // `argo resume`: lifts suspend() and ends the running Suspend nodes that `selector` picks
  // (all of them when empty) Succeeded, their outputs from what was set or their defaults.
  virtual Status resume(const std::string& selector) = 0;
  // `argo node set`: sets output parameters, then message and phase, on the nodes that
  // `selector` picks ("displayName=approve", "templateName=t,phase=Running"; keys id, name,
  // displayName, templateName, phase, type; = or !=). Returns how many nodes it changed.
  virtual Result<int> set_nodes(const std::string& selector, const NodeUpdate& update) = 0;
  virtual bool suspended() const = 0;

  virtual bool done() const = 0;
  virtual const WorkflowStatus& status() const = 0;
  virtual const Node* node(const std::string& id) const = 0;
  virtual const std::string& workflow_name() const = 0;
  // The effective spec after workflowTemplateRef merging (for `--output json`).
  virtual const spec::WorkflowSpec& effective_spec() const = 0;
};

// Argo's node id for a node name: "<workflow>-<fnv32a(name)>" (the root's id is the name).
std::string node_id(const std::string& workflow_name, const std::string& node_name);

}  // namespace skiff::engine
