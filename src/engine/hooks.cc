// Lifecycle hooks, as Argo runs them (workflow/controller/hooks.go, exit_handler.go).
//
// A workflow's spec.hooks and a step's or DAG task's `hooks` map a name to a template
// call. The hook named "exit" is an exit handler: it runs when its node (or the workflow)
// has ended, and `onExit` wins over it where both are set. Every other hook has an
// expression and runs once, the first time the expression holds: the workflow's are
// evaluated as it starts, when its outputs change and when its entrypoint has ended (with
// workflow.status final); a step's or task's whenever its node's phase changes, with
// steps.NAME.status / tasks.NAME.status set to it.
//
// Names and shape follow Argo so a status reads the same: "<wf>.hooks.<name>" and
// "<wf>.onExit" for the workflow's; "<node name>.hooks.<name>" and "<node name>.onExit"
// for a step's or task's, children of the hooked node, in its boundary, with
// nodeFlag.hooked. The step group (or the task's dependents) waits for the hooks that
// fired; the workflow waits for its own before its exit handler. A failed hook does not
// change the phase of the step, DAG or workflow, as in Argo; a failed workflow exit
// handler fails the workflow (operator.cc).
#include "engine/engine_impl.h"
#include "expr/eval.h"

namespace skiff::engine::detail {

namespace {

// Whether a hook's expression holds in `scope`; an error names the hook.
Result<bool> holds(const spec::LifecycleHook& h, const expr::Scope& scope) {
  auto v = expr::evaluate_bool(h.expression, scope);
  if (!v) return invalid("hook \"" + h.name + "\": expression '" + h.expression + "': " + v.status().message());
  return v;
}

// A hook that cannot run is recorded as a node in Error saying why.
void error_node(OperatorImpl& op, const Call& c, const std::string& message) {
  Node& n = op.add_node(c, NodeType::kPod, NodePhase::kPending);
  op.finish(n, NodePhase::kError, message);
}

// Argo's NodeStatus.Completed(): the node ran and ended (not skipped or omitted).
bool completed(NodePhase p) { return p == NodePhase::kSucceeded || failed_or_error(p); }

class NodeHooks final : public Controller {
 public:
  NodeHooks(OperatorImpl& op, const spec::Task& task, const spec::WorkflowSpec* caller_scope, const Call& hooked,
            const expr::Scope& launch_scope, std::string ref)
      : op_(op), task_(task), caller_scope_(caller_scope), name_(hooked.name), display_(hooked.display_name),
        boundary_(hooked.boundary_id), exit_handler_(hooked.exit_handler), depth_(hooked.depth), ref_(std::move(ref)),
        scope_(std::make_unique<expr::Scope>(launch_scope.parent())) {
    for (const auto& [k, v] : launch_scope.own()) {  // what the step's arguments saw (item, ...)
      if (v.is_json) scope_->set_json(k, v.text);
      else scope_->set(k, v.text);
    }
  }

  void changed(const Node& n) {
    if (n.phase == last_phase_) return;
    last_phase_ = n.phase;
    evaluate(n);
  }

  // The hooked node has ended: its expression hooks see the final phase, its exit hook
  // runs (unless the workflow was terminated), and `then` runs when all are finished.
  void done(const std::string& id, std::function<void()> then) {
    then_ = std::move(then);
    ended_ = true;
    if (const Node* n = op_.find(id)) {
      bind_node_outputs(*scope_, ref_, *n);
      evaluate(*n);
      if (completed(n->phase) && !op_.terminated()) run_exit(*n);
    }
    maybe_continue();
  }

 private:
  void evaluate(const Node& n) {
    scope_->set(ref_ + ".status", phase_name(n.phase));
    for (const auto& h : task_.hooks) {
      if (h.name == "exit" || fired_.count(h.name)) continue;
      if (op_.stopping() && !exit_handler_) return;  // a stopping workflow starts nothing new
      auto go = holds(h, *scope_);
      if (go && !*go) continue;
      fired_.insert(h.name);
      Call c = hook_node(n, ".hooks." + h.name, false);
      if (!go) {
        error_node(op_, c, go.status().message());
        continue;
      }
      fire(h, std::move(c), false);
    }
  }

  void run_exit(const Node& n) {
    spec::LifecycleHook on_exit;
    const spec::LifecycleHook* exit = nullptr;
    if (!task_.on_exit.empty()) {  // onExit wins over hooks.exit (Argo's GetExitHook)
      on_exit.name = "exit";
      on_exit.template_name = task_.on_exit;
      exit = &on_exit;
    } else {
      for (const auto& h : task_.hooks)
        if (h.name == "exit") exit = &h;
    }
    if (!exit) return;
    Call c = hook_node(n, ".onExit", true);
    if (!exit->expression.empty()) {
      auto go = holds(*exit, *scope_);
      if (!go) return error_node(op_, c, go.status().message());
      if (!*go) return;
    }
    fire(*exit, std::move(c), true);
  }

  Call hook_node(const Node& hooked, const std::string& suffix, bool exit) const {
    Call c;
    c.name = name_ + suffix;
    c.display_name = display_ + suffix;
    c.boundary_id = boundary_;
    c.parent_id = hooked.id;
    c.exit_handler = exit || exit_handler_;
    c.hooked = true;
    c.depth = depth_ + 1;
    return c;
  }

  void fire(const spec::LifecycleHook& h, Call c, bool exit) {
    if (Status st = hook_call(op_, h, caller_scope_, *scope_, c, exit); !st) return error_node(op_, c, st.message());
    ++open_;
    c.done = [this](const std::string&) {
      --open_;
      maybe_continue();
    };
    op_.execute(std::move(c));
  }

  void maybe_continue() {
    if (!ended_ || open_ > 0 || !then_) return;
    auto then = std::move(then_);
    then_ = nullptr;
    then();
  }

  OperatorImpl& op_;
  const spec::Task& task_;
  const spec::WorkflowSpec* caller_scope_;
  std::string name_, display_, boundary_;
  bool exit_handler_;
  int depth_;
  std::string ref_;
  std::unique_ptr<expr::Scope> scope_;
  std::set<std::string> fired_;
  std::optional<NodePhase> last_phase_;
  size_t open_ = 0;
  bool ended_ = false;
  std::function<void()> then_;
};

}  // namespace

bool has_hooks(const spec::Task& task) { return !task.hooks.empty() || !task.on_exit.empty(); }

void attach_hooks(OperatorImpl& op, const spec::Task& task, const spec::WorkflowSpec* caller_scope, Call& call,
                  const expr::Scope& launch_scope, const std::string& kind) {
  auto* h = op.own<NodeHooks>(op, task, caller_scope, call, launch_scope, kind + "." + call.display_name);
  DoneFn then = std::move(call.done);
  call.done = [h, then](const std::string& id) {
    h->done(id, [then, id] {
      if (then) then(id);
    });
  };
  call.changed = [h](const Node& n) { h->changed(n); };
}

Status hook_call(OperatorImpl& op, const spec::LifecycleHook& hook, const spec::WorkflowSpec* tmpl_scope,
                 const expr::Scope& scope, Call& call, bool exit) {
  spec::Task t;
  t.name = hook.name;
  t.template_name = hook.template_name;
  t.template_ref = hook.template_ref;
  t.arguments = hook.arguments;
  t.pos = hook.pos;
  // An exit hook without arguments gets the workflow's (Argo's LifecycleHook.WithArgs).
  if (exit && t.arguments.parameters.empty() && t.arguments.artifacts.empty()) t.arguments = op.effective_spec().arguments;
  if (t.template_name.empty() && !t.template_ref)
    return invalid("hook \"" + hook.name + "\" names no template: set template or templateRef");
  if (Status st = op.resolve_task_template(t, tmpl_scope, call); !st)
    return invalid("hook \"" + hook.name + "\": " + st.message());
  if (Status st = resolve_arguments(t, scope, call); !st) return invalid("hook \"" + hook.name + "\": " + st.message());
  return Status::ok();
}

void OperatorImpl::fire_workflow_hooks() {
  if (spec_.hooks.empty() || done_ || exit_started_ || firing_hooks_) return;
  firing_hooks_ = true;
  for (const auto& h : spec_.hooks) {
    if (h.name == "exit" || workflow_hooks_fired_.count(h.name)) continue;
    if (stopping_) break;  // a stopping workflow starts nothing new
    auto go = holds(h, global_);
    if (go && !*go) continue;
    workflow_hooks_fired_.insert(h.name);
    Call c;
    c.name = name_ + ".hooks." + h.name;
    c.display_name = c.name;
    c.hooked = true;
    if (find(entry_id_)) c.parent_id = entry_id_;
    Status st = go.status();
    if (st) st = hook_call(*this, h, &spec_, global_, c, false);
    if (!st) {
      error_node(*this, c, st.message());
      continue;
    }
    ++workflow_hooks_open_;
    c.done = [this](const std::string&) { workflow_hook_done(); };
    execute(std::move(c));
  }
  firing_hooks_ = false;
}

}  // namespace skiff::engine::detail
