// The DAG controller: runs a dag template's tasks as their dependencies complete and
// assesses the DAG's phase from its target (leaf) tasks as Argo does.
#include <algorithm>
#include <unordered_map>

#include "engine/engine_impl.h"
#include "expr/depends.h"
#include "expr/eval.h"
#include "expr/template.h"
#include "util/strings.h"

namespace skiff::engine::detail {

namespace {

struct TaskState {
  const spec::Task* task = nullptr;
  std::optional<expr::DependsExpr> depends;
  std::vector<size_t> deps;        // tasks this one waits for
  std::vector<size_t> dependents;  // tasks waiting for this one
  size_t unfinished = 0;
  bool relevant = true;  // on the way to a target
  bool fulfilled = false;
  NodePhase phase = NodePhase::kPending;
  std::string node_id;
  bool any_succeeded = false, all_failed = false;
  size_t open_children = 0;  // loop children still running
};

class DagRun final : public Controller, public expr::TaskOutcomes {
 public:
  DagRun(OperatorImpl& op, Call call, std::unique_ptr<expr::Scope> scope)
      : op_(op), call_(std::move(call)), scope_(std::move(scope)), dag_(*call_.tmpl->dag),
        limiter_(call_.tmpl->parallelism.value_or(0)) {}

  void start() {
    Node& n = op_.add_node(call_, NodeType::kDag, NodePhase::kRunning);
    id_ = n.id;
    tasks_.resize(dag_.tasks.size());
    for (size_t i = 0; i < dag_.tasks.size(); ++i) {
      tasks_[i].task = &dag_.tasks[i];
      index_[dag_.tasks[i].name] = i;
    }
    for (size_t i = 0; i < tasks_.size(); ++i) {
      const spec::Task& t = *tasks_[i].task;
      if (!t.depends.empty()) {
        auto d = expr::DependsExpr::parse(t.depends);
        if (!d) return fail_dag(d.status().message());
        tasks_[i].depends = std::move(*d);
      } else if (!t.dependencies.empty()) {
        tasks_[i].depends = expr::DependsExpr::from_dependencies(t.dependencies);
      }
      if (!tasks_[i].depends) continue;
      for (const auto& name : tasks_[i].depends->tasks()) {
        auto it = index_.find(name);
        if (it == index_.end()) return fail_dag("task \"" + t.name + "\" depends on unknown task \"" + name + "\"");
        auto& deps = tasks_[i].deps;
        if (std::find(deps.begin(), deps.end(), it->second) != deps.end()) continue;  // `dependencies: [a, a]`
        deps.push_back(it->second);
        tasks_[it->second].dependents.push_back(i);
      }
    }
    if (Status st = mark_relevant(); !st) return fail_dag(st.message());
    for (auto& t : tasks_)
      if (t.relevant) {
        ++remaining_;
        t.unfinished = t.deps.size();
      }
    if (remaining_ == 0) return complete();
    for (size_t i = 0; i < tasks_.size(); ++i)
      if (tasks_[i].relevant && tasks_[i].deps.empty()) ready_.push_back(i);
    drain();
  }

  expr::TaskOutcome outcome(const std::string& name) const override {
    const TaskState& t = tasks_[index_.at(name)];
    expr::TaskOutcome o;
    o.finished = t.fulfilled;
    o.phase = phase_name(t.phase);
    o.any_succeeded = t.any_succeeded;
    o.all_failed = t.all_failed;
    o.continues = continues(*t.task, t.phase);
    const Node* n = t.node_id.empty() ? nullptr : op_.node(t.node_id);
    o.daemoned = n && n->daemoned;
    return o;
  }

 private:
  static bool continues(const spec::Task& task, NodePhase p) {
    return task.continue_on &&
           ((p == NodePhase::kFailed && task.continue_on->failed) || (p == NodePhase::kError && task.continue_on->error));
  }

  // With `target` (after substitution: Argo's lint and run substitute first), only the
  // targets and their ancestors run.
  Status mark_relevant() {
    auto target = expr::substitute(dag_.target, *scope_);
    if (!target) return target.status();
    if (target->empty()) {
      for (size_t i = 0; i < tasks_.size(); ++i)
        if (tasks_[i].dependents.empty()) targets_.push_back(i);
      return Status::ok();
    }
    for (auto& t : tasks_) t.relevant = false;
    std::vector<size_t> stack;
    for (const auto& name : split(*target, ' ')) {
      if (name.empty()) continue;
      auto it = index_.find(name);
      if (it == index_.end()) return invalid("dag.target: task \"" + name + "\" does not exist");
      targets_.push_back(it->second);
      stack.push_back(it->second);
    }
    while (!stack.empty()) {
      size_t i = stack.back();
      stack.pop_back();
      if (tasks_[i].relevant) continue;
      tasks_[i].relevant = true;
      for (size_t d : tasks_[i].deps) stack.push_back(d);
    }
    for (auto& t : tasks_)  // dependents outside the target set are not waited for
      t.dependents.erase(std::remove_if(t.dependents.begin(), t.dependents.end(),
                                        [&](size_t d) { return !tasks_[d].relevant; }),
                         t.dependents.end());
    return Status::ok();
  }

  std::string node_name(const std::string& task) const { return call_.name + "." + task; }

  // A task's call: its template sees {{tasks.name}}, the task's (expanded) name.
  Call child_call(const std::string& name, const std::string& display) const {
    Call c = child_of(call_, name, display, id_);
    c.locals = {{"tasks.name", display}};
    return c;
  }

  // Argo's edges: a root task hangs off the DAG node, others off each dependency's node.
  void link(size_t i, const std::string& child_id) {
    if (tasks_[i].deps.empty()) op_.add_child(id_, child_id);
    for (size_t d : tasks_[i].deps)
      if (!tasks_[d].node_id.empty()) op_.add_child(tasks_[d].node_id, child_id);
  }

  // A node that never runs (omitted, skipped, or failed before it could start).
  void settle(size_t i, NodePhase phase, const std::string& message) {
    const spec::Task& t = *tasks_[i].task;
    Call c = child_call(node_name(t.name), t.name);
    (void)op_.resolve_task_template(t, call_.tmpl_scope, c);  // only for the node's template name
    Node& n = op_.add_node(c, NodeType::kSkipped, phase, message);
    tasks_[i].node_id = n.id;
    link(i, n.id);
    fulfilled(i, phase);
  }

  void ready(size_t i) {
    TaskState& ts = tasks_[i];
    const spec::Task& t = *ts.task;
    if (ts.depends && !ts.depends->evaluate(*this))
      return settle(i, NodePhase::kOmitted, "omitted: depends condition not met");
    expr::Scope task_scope(scope_.get());
    auto loop = expand_loop(t, task_scope);
    if (!loop) return settle(i, NodePhase::kError, loop.status().message());
    if (!*loop) return launch(i, child_call(node_name(t.name), t.name), task_scope, -1);
    if ((*loop)->empty()) return settle(i, NodePhase::kSkipped, "Skipped, empty params");
    if (Status room = op_.room_for((*loop)->size() + 1, "task " + t.name + ": a loop of " + std::to_string((*loop)->size()) + " items");
        !room) {
      return settle(i, NodePhase::kError, room.message());
    }
    Call group = child_call(node_name(t.name), t.name);
    (void)op_.resolve_task_template(t, call_.tmpl_scope, group);
    Node& g = op_.add_node(group, NodeType::kTaskGroup, NodePhase::kRunning);
    ts.node_id = g.id;
    link(i, g.id);
    ts.open_children = (*loop)->size();
    const auto items = std::move(**loop);
    for (size_t k = 0; k < items.size(); ++k) {
      expr::Scope item_scope(scope_.get());
      bind_item(item_scope, items[k]);
      std::string label = t.name + "(" + std::to_string(k) + ":" + items[k].label + ")";
      Call c = child_call(node_name(label), label);
      c.parent_id = g.id;
      launch(i, std::move(c), item_scope, static_cast<int>(k));
    }
  }

  // Resolves arguments and `when` in `scope`, then runs the task's template (or records
  // why it cannot). `item` >= 0 for loop children.
  void launch(size_t i, Call c, const expr::Scope& scope, int item) {
    const spec::Task& t = *tasks_[i].task;
    auto fail_child = [&](NodePhase phase, const std::string& message) {
      (void)op_.resolve_task_template(t, call_.tmpl_scope, c);
      Node& n = op_.add_node(c, NodeType::kSkipped, phase, message);
      skipped_outputs(n, c.tmpl);
      if (item < 0) {
        tasks_[i].node_id = n.id;
        link(i, n.id);
      }
      child_done(i, n.id, item >= 0);
    };
    if (!t.when.empty()) {
      auto cond = expr::substitute(t.when, scope);
      if (!cond) return fail_child(NodePhase::kError, cond.status().message());
      auto run = expr::evaluate_when(*cond);
      if (!run) return fail_child(NodePhase::kError, run.status().message());
      if (!*run) return fail_child(NodePhase::kSkipped, "when '" + *cond + "' evaluated false");
    }
    if (Status st = resolve_arguments(t, scope, c); !st) return fail_child(NodePhase::kError, st.message());
    if (Status st = op_.resolve_task_template(t, call_.tmpl_scope, c); !st)
      return fail_child(NodePhase::kError, st.message());
    bool is_loop = item >= 0;
    c.done = [this, i, is_loop](const std::string& id) {
      limiter_.release();
      child_done(i, id, is_loop);
    };
    if (has_hooks(t)) attach_hooks(op_, t, call_.tmpl_scope, c, scope, "tasks");
    limiter_.run([this, i, is_loop, c = std::move(c)]() mutable {
      std::string nid = op_.execute(std::move(c));
      if (!is_loop) {
        tasks_[i].node_id = nid;
        link(i, nid);
      }
    });
  }

  void child_done(size_t i, const std::string& id, bool loop_child) {
    TaskState& ts = tasks_[i];
    if (!loop_child) {
      ts.node_id = id;
      return task_node_done(i);
    }
    if (--ts.open_children > 0) return;
    // Every loop child is done: the TaskGroup's phase is the last failure, else Succeeded;
    // outputs aggregate in item order (the group's children), not in order of completion.
    NodePhase phase = NodePhase::kSucceeded;
    std::vector<const Node*> kids;
    for (const auto& cid : op_.find(ts.node_id)->children) kids.push_back(op_.find(cid));
    ts.all_failed = !kids.empty();
    for (const Node* c : kids) {
      if (failed_or_error(c->phase)) phase = c->phase;
      ts.any_succeeded |= c->phase == NodePhase::kSucceeded;
      ts.all_failed &= c->phase == NodePhase::kFailed;
    }
    bind_aggregate_outputs(*scope_, "tasks." + ts.task->name, kids);
    Node* g = op_.find(ts.node_id);
    op_.finish(*g, phase);
    scope_->set("tasks." + ts.task->name + ".status", phase_name(phase));
    after_task(i);
  }

  void task_node_done(size_t i) {
    const Node* n = op_.find(tasks_[i].node_id);
    bind_node_outputs(*scope_, "tasks." + tasks_[i].task->name, *n);
    after_task(i);
  }

  // The task's hooks (hooks.cc) have finished by now: its dependents may start.
  void after_task(size_t i) { fulfilled(i, op_.find(tasks_[i].node_id)->phase); }

  void fulfilled(size_t i, NodePhase phase) {
    TaskState& ts = tasks_[i];
    if (ts.fulfilled) return;
    ts.fulfilled = true;
    ts.phase = phase;
    for (size_t d : ts.dependents)
      if (--tasks_[d].unfinished == 0) ready_.push_back(d);
    --remaining_;
    drain();
  }

  // Starts ready tasks from a queue rather than by recursion: a long chain of tasks that
  // settle at once (omitted, skipped) must not grow the stack with its length.
  void drain() {
    if (draining_) return;
    draining_ = true;
    while (!ready_.empty()) {
      size_t d = ready_.front();
      ready_.pop_front();
      ready(d);
    }
    draining_ = false;
    if (remaining_ == 0 && !completed_) {
      completed_ = true;
      complete();
    }
  }

  // Argo's assessDAGPhase. Worked example, tasks a -> b (depends a.Succeeded), a -> c
  // (depends a.Failed), with a Failed: BFS from a with branch Succeeded; a completed, so
  // the branch becomes Failed; b is Omitted and inherits Failed; c Succeeded sets its own
  // branch. Targets (leaves) b=Failed, c=Succeeded, so the DAG is Failed. Without b, the
  // only leaf c Succeeded and the failure of a counts as handled.
  NodePhase assess() const {
    std::vector<std::optional<NodePhase>> target_phase(tasks_.size());
    std::vector<bool> is_target(tasks_.size(), false);
    for (size_t t : targets_) is_target[t] = true;
    std::set<std::pair<size_t, int>> seen;
    std::deque<std::pair<size_t, NodePhase>> queue;
    for (size_t i = 0; i < tasks_.size(); ++i)
      if (tasks_[i].relevant && tasks_[i].deps.empty()) queue.emplace_back(i, NodePhase::kSucceeded);
    while (!queue.empty()) {
      auto [i, branch] = queue.front();
      queue.pop_front();
      if (!seen.insert({i, static_cast<int>(branch)}).second) continue;
      if (tasks_[i].phase != NodePhase::kOmitted) branch = tasks_[i].phase;
      if (is_target[i] && (!target_phase[i] || !failed_or_error(*target_phase[i]))) target_phase[i] = branch;
      for (size_t d : tasks_[i].dependents) queue.emplace_back(d, branch);
    }
    bool fail_fast = !dag_.fail_fast || *dag_.fail_fast;
    NodePhase result = NodePhase::kSucceeded;
    for (size_t t : targets_) {
      if (!target_phase[t] || !failed_or_error(*target_phase[t])) continue;
      if (continues(*tasks_[t].task, *target_phase[t])) continue;
      result = *target_phase[t];
      if (fail_fast) break;
    }
    return result;
  }

  void complete() {
    NodePhase phase = assess();
    Node* n = op_.find(id_);
    for (size_t t : targets_)
      if (!tasks_[t].node_id.empty()) n->outbound_nodes.push_back(tasks_[t].node_id);
    if (phase == NodePhase::kSucceeded) {
      if (Status st = template_outputs(*call_.tmpl, *scope_, n->outputs); !st) return op_.finish(*n, NodePhase::kError, st.message());
      op_.publish_globals(*call_.tmpl, *n);
    }
    op_.finish(*n, phase);
  }

  void fail_dag(const std::string& message) {
    if (Node* n = op_.find(id_)) op_.finish(*n, NodePhase::kError, message);
  }

  OperatorImpl& op_;
  Call call_;
  std::unique_ptr<expr::Scope> scope_;
  const spec::Dag& dag_;
  Limiter limiter_;
  std::string id_;
  std::vector<TaskState> tasks_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<size_t> targets_;
  size_t remaining_ = 0;
  std::deque<size_t> ready_;
  bool draining_ = false;
  bool completed_ = false;
};

}  // namespace

void run_dag(OperatorImpl& op, Call call, std::unique_ptr<expr::Scope> scope) {
  op.own<DagRun>(op, std::move(call), std::move(scope))->start();
}

}  // namespace skiff::engine::detail
