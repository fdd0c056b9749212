// Internal to engine/: the Operator's implementation and the controllers that drive DAG,
// steps and retry nodes. Passive Node records live in WorkflowStatus; each running DAG or
// Steps node has a controller that knows which of its children are waiting on which, so
// that an event touches only the node, its controller and the dependents it unblocks.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>

#include "engine/operator.h"
#include "expr/scope.h"

namespace skiff::engine::detail {

using DoneFn = std::function<void(const std::string& node_id)>;

// Runs callbacks with at most `limit` of them outstanding (parallelism); 0 = unlimited.
class Limiter {
 public:
  explicit Limiter(int64_t limit = 0) : limit_(limit) {}
  void run(std::function<void()> fn);
  void release();

 private:
  int64_t limit_;
  int64_t running_ = 0;
  std::deque<std::function<void()>> waiting_;
};

// A request to run a template as a node.
struct Call {
  std::string id;  // the node's id, given by execute() (unique even when fnv32a collides)
  std::string name;
  std::string display_name;
  const spec::Template* tmpl = nullptr;
  const spec::WorkflowSpec* tmpl_scope = nullptr;  // where plain `template:` names resolve
  std::string template_ref_name;                  // the WorkflowTemplate reached via templateRef
  NameValues args;                                // argument parameters, already resolved
  NameValues artifact_args;                       // argument artifacts: name -> location (JSON), resolved
  std::string boundary_id;
  std::string parent_id;  // the node this one becomes a child of ("" = none)
  int attempt = -1;       // retry attempt number, when a child of a Retry node
  bool exit_handler = false;  // part of an onExit branch: still runs after stop/deadline
  bool hooked = false;        // the node a lifecycle hook or onExit runs (nodeFlag.hooked)
  int depth = 0;              // template nesting, to stop runaway recursion
  // Variables of the called template's own: {{steps.name}} / {{tasks.name}} (the calling
  // step's or task's expanded name, the same for every retry) and {{lastRetry.*}}.
  NameValues locals;
  DoneFn done;
  // A daemon pod that becomes ready tells `ready` (its Retry node) instead of `done`;
  // `done` then still hears of its end.
  DoneFn ready;
  // Told each change of the node's phase until it finishes (lifecycle hooks watch it).
  std::function<void(const Node&)> changed;
};

// One `metrics.prometheus` entry as written (values may hold `{{...}}`), parsed once per
// template by metrics.cc. Entries that can never be emitted are not kept (see parse_metrics).
struct MetricDef {
  std::string name, help, when, value;
  MetricSample::Type type = MetricSample::Type::kGauge;
  std::vector<std::pair<std::string, std::string>> labels;  // key, value text
  std::vector<double> buckets;                              // histograms, ascending
};
// The entries of a `metrics` object's JSON that have a name and exactly one type with a
// value (and, for histograms, buckets). Anything else is left out: spec validation has
// reported it, and a run must not fail over a metric.
std::vector<MetricDef> parse_metrics(const std::string& metrics_json);

class Controller {
 public:
  virtual ~Controller() = default;
};

class OperatorImpl final : public Operator {
 public:
  OperatorImpl(const spec::Object& wf, const spec::Library& lib, RunOptions options, const Clock& clock);
  Status init();

  void set_observer(Observer* observer) override { observer_ = observer; }
  void start() override;
  std::vector<Action> take_actions() override;
  void step_started(const std::string& node_id) override;
  void step_ready(const std::string& node_id, const std::string& ip) override;
  void step_exited(const StepExit& exit) override;
  void tick() override;
  int64_t next_wakeup_ms() const override;
  void stop(const std::string& message) override;
  void terminate(const std::string& message) override;
  Status suspend() override;
  Status resume(const std::string& selector) override;
  Result<int> set_nodes(const std::string& selector, const NodeUpdate& update) override;
  void lock_acquired(const std::string& holder) override;
  void lock_waiting(const std::string& holder, const std::string& lock, const std::string& message) override;
  void lock_failed(const std::string& holder, const std::string& message) override;
  void set_synchronization_status(const std::string& json) override;
  bool suspended() const override { return suspended_; }
  bool done() const override { return done_; }
  const WorkflowStatus& status() const override { return status_; }
  const Node* node(const std::string& id) const override;
  const std::string& workflow_name() const override { return name_; }
  const spec::WorkflowSpec& effective_spec() const override { return spec_; }

  // --- used by the controllers ---------------------------------------------------------
  // Creates the node (or Retry node) and starts it; returns the node's id. `call.done` is
  // told that id when the node finishes.
  std::string execute(Call call);
  // A node for `call` (with call.id, else a fresh id for its name).
  Node& add_node(const Call& call, NodeType type, NodePhase phase, const std::string& message = {});
  void finish(Node& node, NodePhase phase, const std::string& message = {});
  // A daemon (its pod, or the Retry node over it) is up: done for its scope, which kills it
  // when it ends (kill_daemons); the scope hears of it as if it had finished.
  void daemoned(Node& node);
  void add_container_nodes(const Call& pod, const std::string& pod_id);
  void finish_container_nodes(const std::string& pod_id, const std::string& containers_json, NodePhase pod_phase);
  void changed(const Node& node);
  void add_child(const std::string& parent_id, const std::string& child_id);
  Node* find(const std::string& id);
  void at(int64_t when_ms, std::function<void()> fn);
  int64_t now() const { return clock_.now_ms(); }
  const expr::Scope& global_scope() const { return global_; }
  bool stopping() const { return stopping_; }
  bool terminated() const { return terminated_; }
  // spec.hooks' expression hooks (hooks.cc): each runs once, when its expression first
  // holds; called when the workflow starts, when its outputs change and when it has ended.
  void fire_workflow_hooks();
  // kInvalid naming the node limit (RunOptions::max_nodes) when `more` nodes than exist
  // now would go past it; `what` says what wants them. The workflow then stops and ends
  // Error with that message (from take_actions, outside the caller's controller).
  Status room_for(size_t more, const std::string& what);
  // Finds the template a task names (template, templateRef or inline) for a caller whose
  // templates resolve in `scope`. Fills call.tmpl / tmpl_scope / template_ref_name.
  Status resolve_task_template(const spec::Task& task, const spec::WorkflowSpec* scope, Call& call);
  // Publishes a node's output parameters that carry a globalName.
  void publish_globals(const spec::Template& tmpl, const Node& node);
  template <typename T, typename... A>
  T* own(A&&... args) {
    auto c = std::make_unique<T>(std::forward<A>(args)...);
    T* raw = c.get();
    controllers_.push_back(std::move(c));
    return raw;
  }

 private:
  // Argo's id for a node name, with "-1", "-2"... when a node already has it (fnv32a
  // collides about once in a workflow of 100,000 nodes).
  std::string fresh_id(const std::string& name) const;
  // What execute() does once the call may run (holds its locks, or needs none).
  void proceed(Call call);
  void begin_entry();  // runs the entrypoint (start(), or once the workflow holds its locks)
  // Synchronization (sync.cc): a call or the workflow whose `synchronization` names locks
  // waits for them (AcquireLock) as a Pending node / Pending workflow; whether it does.
  bool park_for_lock(Call& call);
  bool park_workflow_for_lock();
  Result<std::vector<spec::LockRef>> locks_of(const std::string& synchronization_json) const;
  // The node made while its call waited for its locks, when the call now makes its node.
  Node* adopt_parked(const std::string& id, NodeType type, NodePhase phase, const std::string& message);
  void release_locks(const std::string& holder);  // when it ends
  void release_all_locks();                       // when the workflow ends
  void end_lock_waiters(const std::string& reason);  // stop/terminate/deadline
  void run_template(Call call);
  void run_pod(Call call, std::unique_ptr<expr::Scope> scope);
  void time_out(const std::string& node_id);
  const spec::Template* with_defaults(const spec::Template* t);
  void start_pod(const std::string& node_id, spec::Template resolved, std::vector<spec::Volume> volumes);
  void run_suspend(Call call, const expr::Scope& scope);
  void end_suspend(Node& node, NodePhase phase, const std::string& message);
  void entry_done(const std::string& id);
  void workflow_hook_done();
  void run_exit_handler();
  void finish_workflow();
  void kill_all(const std::string& reason);
  // Custom metrics (metrics.cc): nodes whose template declares metrics are remembered when
  // created and evaluated when they finish; spec.metrics when the workflow finishes.
  void track_metrics(const Call& call, const Node& node);
  void emit_node_metrics(const Node& node);
  void emit_workflow_metrics();
  void emit_metrics(const std::vector<MetricDef>& defs, const expr::Scope& scope);
  void kill_daemons(const std::string& scope_id);
  void report_done(const std::string& id);
  // memoize (memoize.cc). memo_lookup looks the node `call` is about to make up in its
  // template's cache: true when that made and finished the node (a hit: Succeeded with the
  // stored outputs; or Error: a bad key, maxAge or cache), false when it is to run (a miss,
  // remembered in memo_pending_). memo_attach gives a miss's node its memoizationStatus;
  // memo_finish, as the node finishes, stores its entry when it Succeeded (and turns
  // the phase to Error when the entry cannot be stored).
  bool memo_lookup(const Call& call);
  void memo_attach(Node& node);
  void memo_finish(Node& node, NodePhase& phase, std::string& message);
  Status bind_inputs(const Call& call, expr::Scope& scope, NameValues& inputs, NameValues& input_artifacts);

  const spec::Object& wf_;
  const spec::Library& lib_;
  RunOptions options_;
  const Clock& clock_;
  spec::WorkflowSpec spec_;
  std::string name_;
  WorkflowStatus status_;
  std::unordered_map<std::string, Node*> by_id_;
  std::unordered_map<std::string, DoneFn> done_fns_;
  std::unordered_map<std::string, DoneFn> ready_fns_;  // Call::ready
  std::unordered_map<std::string, std::function<void(const Node&)>> watchers_;  // Call::changed
  std::set<std::string> workflow_hooks_fired_;
  size_t workflow_hooks_open_ = 0;
  bool entry_finished_ = false, exit_started_ = false, firing_hooks_ = false;
  std::unordered_map<std::string, const spec::Template*> pod_templates_;  // running pods
  // containerSet pods: pod node id -> its Container nodes (container name, node id)
  std::unordered_map<std::string, std::vector<std::pair<std::string, std::string>>> set_members_;
  std::unordered_map<std::string, std::string> kill_reasons_;
  std::set<std::string> live_pods_;  // started and not yet exited
  std::multimap<std::string, std::string> daemons_;  // scope (DAG/steps) node id -> daemoned pod id
  std::vector<Action> actions_;
  std::vector<StartStep> held_;  // steps decided while suspended_, started by resume()
  std::unordered_map<std::string, const spec::Template*> suspend_templates_;  // running Suspend nodes
  std::multimap<int64_t, std::function<void()>> timers_;
  std::vector<std::unique_ptr<Controller>> controllers_;
  std::vector<std::unique_ptr<spec::Template>> inline_templates_;
  std::unordered_map<const spec::Template*, const spec::Template*> defaulted_;  // with_defaults
  std::unordered_map<const spec::Template*, std::vector<MetricDef>> metric_defs_;  // parsed once
  std::unordered_map<std::string, const spec::Template*> metric_nodes_;  // unfinished nodes with metrics
  std::unordered_map<std::string, MemoizationStatus> memo_pending_;  // memoized nodes that are to run, by id
  std::map<std::string, std::map<std::string, std::string>> memo_entries_;  // cache -> key -> entry this run stored
  expr::Scope global_;
  Limiter pods_;
  Observer* observer_ = nullptr;
  std::string entry_id_, exit_id_;  // the entrypoint's and the onExit handler's nodes
  bool stopping_ = false;
  bool suspended_ = false;
  bool terminated_ = false;
  bool deadline_exceeded_ = false;
  bool done_ = false;
  std::string stop_message_;
  std::string over_limit_;  // why the node limit stopped the workflow ("" = it did not)
  int64_t pods_total_ = 0, pods_done_ = 0;
  // Synchronization (sync.cc): calls waiting for their locks (by node id), their Pending
  // nodes not yet taken over by the call, and who holds locks ("" = the workflow).
  std::unordered_map<std::string, Call> lock_waiting_;
  std::set<std::string> lock_parked_;
  std::set<std::string> lock_holders_;
  bool workflow_waits_ = false;
};

// A call for a child node of `parent`'s node: same exit-handler branch, one level deeper.
Call child_of(const Call& parent, std::string name, std::string display, std::string boundary_id);

// The controllers, each in its own file.
void run_dag(OperatorImpl& op, Call call, std::unique_ptr<expr::Scope> scope);
void run_steps(OperatorImpl& op, Call call, std::unique_ptr<expr::Scope> scope);
void run_retry(OperatorImpl& op, Call call);

// Lifecycle hooks of a step or DAG task (hooks.cc): its expression hooks while its node
// runs, its exit hook (hooks.exit or onExit) when the node has ended. Wraps `call` so that
// the caller's `done` runs only when every hook it started has finished, as Argo waits for
// them before the step group or the task's dependents go on. `ref` is "steps.NAME" or
// "tasks.NAME" (`kind` and the node's display name): where the hooks see the node's status
// and outputs. `launch_scope` holds what the step's arguments saw (item...); its parent
// must live as long as the operator.
bool has_hooks(const spec::Task& task);
void attach_hooks(OperatorImpl& op, const spec::Task& task, const spec::WorkflowSpec* caller_scope, Call& call,
                  const expr::Scope& launch_scope, const std::string& kind);
// A hook's template (resolved in `tmpl_scope`) and arguments (in `scope`) into `call`; an
// exit hook without arguments gets the workflow's, as in Argo. Fails saying why not.
Status hook_call(OperatorImpl& op, const spec::LifecycleHook& hook, const spec::WorkflowSpec* tmpl_scope,
                 const expr::Scope& scope, Call& call, bool exit);

// Loop expansion shared by DAG and steps: the items of withItems/withParam/withSequence,
// rendered with `scope`. Returns nullopt items when the task has no loop.
struct LoopItem {
  std::string label;  // as in the node name: task(i:label)
  std::string json;   // the item as JSON
};
Result<std::optional<std::vector<LoopItem>>> expand_loop(const spec::Task& task, const expr::Scope& scope);
// Sets item / item.KEY in `scope`.
void bind_item(expr::Scope& scope, const LoopItem& item);
// Resolves a task's arguments in `scope` into call.args and call.artifact_args.
Status resolve_arguments(const spec::Task& task, const expr::Scope& scope, Call& call);
// An artifact argument or output (`from`, `fromExpression`, or a location with {{...}}) as
// the JSON of its location, resolved in `scope`. `what` names it for messages.
Result<std::string> resolve_artifact(const spec::Artifact& a, const expr::Scope& scope, const std::string& what);
// Adds <prefix>.outputs.result / .parameters.X / .exitCode / .status / .id ... for a node.
void bind_node_outputs(expr::Scope& scope, const std::string& prefix, const Node& node);
// The outputs a node skipped by `when` still gives its consumers, as Argo v4: each declared
// output parameter's valueFrom.default, else absent.
void skipped_outputs(Node& node, const spec::Template* tmpl);
// Aggregated outputs of loop children (JSON lists), as Argo's processAggregateNodeOutputs.
void bind_aggregate_outputs(expr::Scope& scope, const std::string& prefix, const std::vector<const Node*>& children);
// The template a Pod node's step runs (pod_template.cc): the workflow's pod-level fields
// as defaults (spec/pod.h), every {{...}} resolved in `scope`; and volumes likewise.
Result<spec::Template> resolve_pod_template(const spec::Template& tmpl, const spec::WorkflowSpec& workflow,
                                            const expr::Scope& scope);
Status resolve_volumes(std::vector<spec::Volume>& volumes, const expr::Scope& scope);
// Outputs of a DAG/steps template from valueFrom.parameter / expression in `scope`.
Status template_outputs(const spec::Template& tmpl, const expr::Scope& scope, NodeOutputs& out);
bool failed_or_error(NodePhase p);

}  // namespace skiff::engine::detail
