// The retry controller: a Retry node whose children are attempts name(0), name(1), ...
// It decides after each failed attempt whether to try again (limit, retryPolicy,
// expression, backoff with maxDuration) and when.
#include <fmt/format.h>

#include <cmath>

#include "engine/engine_impl.h"
#include "engine/workflow_json.h"
#include "expr/eval.h"
#include "expr/template.h"
#include "util/strings.h"

namespace skiff::engine::detail {

namespace {

class RetryRun final : public Controller {
 public:
  RetryRun(OperatorImpl& op, Call call, const spec::RetryStrategy& strategy)
      : op_(op), call_(std::move(call)), strategy_(strategy) {}

  void start() {
    call_.done = nullptr;  // the Retry node's own completion is reported by finish()
    call_.changed = nullptr;  // hooks watch the Retry node, not its attempts
    id_ = op_.add_node(call_, NodeType::kRetry, NodePhase::kRunning).id;
    first_start_ = op_.now();
    if (!strategy_.limit.empty()) {
      auto text = expr::substitute(strategy_.limit, op_.global_scope());
      char* end = nullptr;
      long long v = text ? std::strtoll(text->c_str(), &end, 10) : 0;
      if (!text || text->empty() || *end || v < 0) {
        op_.finish(*op_.find(id_), NodePhase::kError,
                   "retryStrategy.limit \"" + strategy_.limit + "\" is not a non-negative integer");
        return;
      }
      limit_ = v;
    }
    launch(0);
  }

 private:
  void launch(int attempt) {
    Call c = call_;
    c.name = call_.name + "(" + std::to_string(attempt) + ")";
    c.display_name = call_.display_name + "(" + std::to_string(attempt) + ")";
    c.parent_id = id_;
    c.attempt = attempt;
    // {{lastRetry.*}}: the attempt before this one (Argo's defaults on the first).
    const Node* last = attempt > 0 ? op_.find(last_child_id_) : nullptr;
    c.locals.emplace_back("lastRetry.exitCode", last && last->outputs.exit_code ? std::to_string(*last->outputs.exit_code) : "0");
    c.locals.emplace_back("lastRetry.status", last ? phase_name(last->phase) : "");
    c.locals.emplace_back("lastRetry.duration",
                          last ? fmt::format("{}", (last->finished_at_ms - last->started_at_ms) / 1000.0) : "0");
    c.locals.emplace_back("lastRetry.message", last ? last->message : "");
    c.done = [this, attempt](const std::string& id) { attempt_done(attempt, id); };
    op_.execute(std::move(c));
  }

  bool policy_allows(NodePhase phase) const {
    const std::string& p = strategy_.retry_policy;
    if (p == "Always") return true;
    if (p == "OnError" || p == "OnTransientError") return phase == NodePhase::kError;
    return phase == NodePhase::kFailed;  // OnFailure, the default
  }

  void attempt_done(int attempt, const std::string& child_id) {
    Node* retry = op_.find(id_);
    const Node* child = op_.find(child_id);
    last_child_id_ = child_id;
    retry->outputs = child->outputs;
    if (child->phase == NodePhase::kSucceeded || child->phase == NodePhase::kSkipped)
      return op_.finish(*retry, child->phase);
    if (op_.stopping() && !call_.exit_handler) return op_.finish(*retry, child->phase, child->message);
    if (!policy_allows(child->phase)) return op_.finish(*retry, child->phase, child->message);
    if (limit_ >= 0 && attempt >= limit_) return op_.finish(*retry, child->phase, "No more retries left");
    if (!strategy_.expression.empty()) {
      expr::Scope s(&op_.global_scope());
      s.set("lastRetry.exitCode", child->outputs.exit_code ? std::to_string(*child->outputs.exit_code) : "-1");
      s.set("lastRetry.status", phase_name(child->phase));
      s.set("lastRetry.duration", std::to_string((child->finished_at_ms - child->started_at_ms) / 1000));
      s.set("lastRetry.message", child->message);
      // The template's {{...}} are substituted first, as in Argo; then it is an expression.
      auto expression = expr::substitute(strategy_.expression, op_.global_scope());
      if (!expression) return op_.finish(*retry, NodePhase::kError, expression.status().message());
      auto go = expr::evaluate_bool(*expression, s);
      if (!go) return op_.finish(*retry, NodePhase::kError, go.status().message());
      if (!*go) return op_.finish(*retry, child->phase, "retryStrategy.expression evaluated to false");
    }
    int64_t delay = 0;
    if (strategy_.backoff) {
      long long base = parse_duration_ms(strategy_.backoff->duration);
      double factor = strategy_.backoff->factor.empty() ? 1 : std::atof(strategy_.backoff->factor.c_str());
      if (base > 0) delay = static_cast<int64_t>(base * std::pow(factor > 0 ? factor : 1, attempt));
      long long max = parse_duration_ms(strategy_.backoff->max_duration);
      if (max > 0 && op_.now() + delay - first_start_ > max)
        return op_.finish(*retry, child->phase, "Max duration limit exceeded");
    }
    if (delay <= 0) return launch(attempt + 1);
    op_.at(op_.now() + delay, [this, attempt] { launch(attempt + 1); });
  }

  OperatorImpl& op_;
  Call call_;
  const spec::RetryStrategy& strategy_;
  std::string id_;
  std::string last_child_id_;
  long long limit_ = -1;
  int64_t first_start_ = 0;
};

}  // namespace

void run_retry(OperatorImpl& op, Call call) {
  const spec::RetryStrategy* s = call.tmpl->retry_strategy ? &*call.tmpl->retry_strategy : &*op.effective_spec().retry_strategy;
  op.own<RetryRun>(op, std::move(call), *s)->start();
}

}  // namespace skiff::engine::detail
