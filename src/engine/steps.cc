// The steps controller: groups of parallel steps run one after another; a failed step
// (without continueOn) fails its group and the template.
#include <algorithm>
#include <cstdlib>

#include "engine/engine_impl.h"
#include "expr/eval.h"
#include "expr/template.h"

namespace skiff::engine::detail {

namespace {

class StepsRun final : public Controller {
 public:
  StepsRun(OperatorImpl& op, Call call, std::unique_ptr<expr::Scope> scope)
      : op_(op), call_(std::move(call)), scope_(std::move(scope)), limiter_(call_.tmpl->parallelism.value_or(0)) {}

  void start() {
    id_ = op_.add_node(call_, NodeType::kSteps, NodePhase::kRunning).id;
    start_group(0);
  }

 private:
  struct Launch {
    const spec::Task* step;
    Call call;
    std::unique_ptr<expr::Scope> scope;
    NodePhase settled = NodePhase::kPending;  // Skipped / Error: recorded without running
    std::string message;
  };

  Call child_call(const std::string& name, const std::string& display, const std::string& parent) const {
    Call c = child_of(call_, name, display, id_);
    c.parent_id = parent;
    return c;
  }

  // A step's call: its template sees {{steps.name}}, the step's (expanded) name.
  Call step_call(const std::string& gname, const std::string& label) const {
    Call c = child_call(gname + "." + label, label, group_id_);
    c.locals = {{"steps.name", label}};
    return c;
  }

  void start_group(size_t g) {
    const auto& steps = call_.tmpl->steps;
    if (g == steps.size()) return complete(NodePhase::kSucceeded, "");
    group_ = g;
    std::string gname = call_.name + "[" + std::to_string(g) + "]";
    Call gc = child_call(gname, "[" + std::to_string(g) + "]", g == 0 ? id_ : "");
    gc.tmpl = call_.tmpl;
    group_id_ = op_.add_node(gc, NodeType::kStepGroup, NodePhase::kRunning).id;
    for (const auto& prev : previous_) op_.add_child(prev, group_id_);
    previous_.clear();
    results_.clear();

    std::vector<Launch> launches;
    for (const auto& step : steps[g]) plan(step, gname, launches);
    open_ = launches.size();
    if (open_ == 0) return group_done();
    for (auto& l : launches) {
      if (l.settled != NodePhase::kPending) {
        (void)op_.resolve_task_template(*l.step, call_.tmpl_scope, l.call);
        Node& n = op_.add_node(l.call, NodeType::kSkipped, l.settled, l.message);
        skipped_outputs(n, l.call.tmpl);
        step_done(l.step, n.id);
        continue;
      }
      const spec::Task* step = l.step;
      l.call.done = [this, step](const std::string& id) {
        limiter_.release();
        step_done(step, id);
      };
      if (has_hooks(*step)) attach_hooks(op_, *step, call_.tmpl_scope, l.call, *l.scope, "steps");
      limiter_.run([this, c = std::move(l.call)]() mutable { op_.execute(std::move(c)); });
    }
  }

  // Expands one step (loops, when, arguments) into what to launch.
  void plan(const spec::Task& step, const std::string& gname, std::vector<Launch>& out) {
    auto settle = [&](Call c, NodePhase phase, std::string message) {
      out.push_back(Launch{&step, std::move(c), nullptr, phase, std::move(message)});
    };
    Call base = step_call(gname, step.name);
    auto loop = expand_loop(step, *scope_);
    if (!loop) return settle(std::move(base), NodePhase::kError, loop.status().message());
    std::vector<std::pair<Call, std::unique_ptr<expr::Scope>>> calls;
    if (!*loop) {
      calls.emplace_back(std::move(base), std::make_unique<expr::Scope>(scope_.get()));
    } else if (Status room = op_.room_for((*loop)->size(), "step " + step.name + ": a loop of " +
                                                                std::to_string((*loop)->size()) + " items");
               !room) {
      return settle(std::move(base), NodePhase::kError, room.message());
    } else {
      for (size_t k = 0; k < (*loop)->size(); ++k) {
        const LoopItem& item = (**loop)[k];
        std::string label = step.name + "(" + std::to_string(k) + ":" + item.label + ")";
        auto s = std::make_unique<expr::Scope>(scope_.get());
        bind_item(*s, item);
        calls.emplace_back(step_call(gname, label), std::move(s));
      }
    }
    for (auto& [c, s] : calls) {
      if (!step.when.empty()) {
        auto cond = expr::substitute(step.when, *s);
        if (!cond) { settle(std::move(c), NodePhase::kError, cond.status().message()); continue; }
        auto run = expr::evaluate_when(*cond);
        if (!run) { settle(std::move(c), NodePhase::kError, run.status().message()); continue; }
        if (!*run) { settle(std::move(c), NodePhase::kSkipped, "when '" + *cond + "' evaluated false"); continue; }
      }
      if (Status st = resolve_arguments(step, *s, c); !st) { settle(std::move(c), NodePhase::kError, st.message()); continue; }
      if (Status st = op_.resolve_task_template(step, call_.tmpl_scope, c); !st) {
        settle(std::move(c), NodePhase::kError, st.message());
        continue;
      }
      out.push_back(Launch{&step, std::move(c), std::move(s)});
    }
  }

  void step_done(const spec::Task* step, const std::string& id) {
    results_[step].push_back(id);
    previous_.push_back(id);
    if (--open_ == 0) group_done();
  }

  void group_done() {
    NodePhase phase = NodePhase::kSucceeded;
    std::string failed_child;
    for (const auto& [step, ids] : results_) {
      std::vector<const Node*> kids;
      for (const auto& id : ids) kids.push_back(op_.find(id));
      // In item order, not the order they ended in ("name(<index>:<item>)").
      auto index = [](const Node* n) {
        size_t open = n->display_name.rfind('(');
        return open == std::string::npos ? 0L : std::strtol(n->display_name.c_str() + open + 1, nullptr, 10);
      };
      std::stable_sort(kids.begin(), kids.end(), [&](const Node* a, const Node* b) { return index(a) < index(b); });
      std::string prefix = "steps." + step->name;
      if (step->with_items || !step->with_param.empty() || step->with_sequence) bind_aggregate_outputs(*scope_, prefix, kids);
      else if (!kids.empty()) bind_node_outputs(*scope_, prefix, *kids[0]);
      for (const Node* n : kids) {
        if (!failed_or_error(n->phase)) continue;
        bool allowed = step->continue_on && ((n->phase == NodePhase::kFailed && step->continue_on->failed) ||
                                             (n->phase == NodePhase::kError && step->continue_on->error));
        if (!allowed) {
          phase = n->phase;
          failed_child = n->id;
        }
      }
    }
    Node* g = op_.find(group_id_);
    if (phase != NodePhase::kSucceeded) {
      std::string message = "child '" + failed_child + "' failed";
      op_.finish(*g, phase, message);
      return complete(phase, message);
    }
    op_.finish(*g, NodePhase::kSucceeded);
    if (group_ + 1 == call_.tmpl->steps.size()) return complete(NodePhase::kSucceeded, "");
    start_group(group_ + 1);
  }

  void complete(NodePhase phase, const std::string& message) {
    Node* n = op_.find(id_);
    n->outbound_nodes = previous_;
    if (phase == NodePhase::kSucceeded) {
      if (Status st = template_outputs(*call_.tmpl, *scope_, n->outputs); !st) return op_.finish(*n, NodePhase::kError, st.message());
      op_.publish_globals(*call_.tmpl, *n);
    }
    op_.finish(*n, phase, message);
  }

  OperatorImpl& op_;
  Call call_;
  std::unique_ptr<expr::Scope> scope_;
  Limiter limiter_;
  std::string id_, group_id_;
  size_t group_ = 0;
  size_t open_ = 0;
  std::map<const spec::Task*, std::vector<std::string>> results_;
  std::vector<std::string> previous_;
};

}  // namespace

void run_steps(OperatorImpl& op, Call call, std::unique_ptr<expr::Scope> scope) {
  op.own<StepsRun>(op, std::move(call), std::move(scope))->start();
}

}  // namespace skiff::engine::detail
