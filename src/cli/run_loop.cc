#include "cli/run_loop.h"

#include <algorithm>
#include <climits>

namespace skiff::cli {

namespace {

runtime::StepRequest to_request(engine::StartStep&& start) {
  runtime::StepRequest req;
  req.node_id = std::move(start.node_id);
  req.pod_name = std::move(start.pod_name);
  req.tmpl = std::move(start.tmpl);
  req.volumes = std::move(start.volumes);
  req.claims = std::move(start.claims);
  return req;
}

engine::StepExit to_exit(runtime::StepResult&& r) {
  engine::StepExit exit;
  exit.node_id = std::move(r.node_id);
  exit.exit_code = r.exit_code;
  exit.stdout_text = std::move(r.stdout_text);
  exit.output_parameters = std::move(r.output_parameters);
  exit.message = std::move(r.message);
  exit.error = r.error;
  return exit;
}

void report_started(engine::Operator& op, runtime::Executor& executor) {
  for (auto& s : executor.take_started()) op.step_ready(s.node_id, s.ip);
}

void carry_out(engine::Operator& op, runtime::Executor& executor) {
  // Starting a step can make the engine produce more actions (none today, but cheap to allow).
  for (auto actions = op.take_actions(); !actions.empty(); actions = op.take_actions()) {
    for (auto& action : actions) {
      if (auto* start = std::get_if<engine::StartStep>(&action)) {
        std::string id = start->node_id;
        executor.start(to_request(std::move(*start)));
        op.step_started(id);
        report_started(op, executor);
      } else if (auto* kill = std::get_if<engine::KillStep>(&action)) {
        executor.kill(kill->node_id, kill->reason);
      }
    }
  }
}

}  // namespace

void run_to_completion(engine::Operator& op, runtime::Executor& executor,
                       const engine::Clock& clock, const RunLoopOptions& options) {
  bool terminated = false;
  op.start();
  for (;;) {
    if (!terminated && options.interrupted && options.interrupted->load()) {
      terminated = true;
      op.terminate("terminated: interrupted by the user");
    }
    carry_out(op, executor);
    if (op.done() && executor.running() == 0) break;

    int64_t wake = op.next_wakeup_ms();
    int timeout = -1;
    if (wake >= 0) timeout = static_cast<int>(std::clamp<int64_t>(wake - clock.now_ms(), 0, INT_MAX));
    // With an interrupt possible, never block forever: poll for it a few times a second.
    if (options.interrupted && (timeout < 0 || timeout > 200)) timeout = 200;
    if (executor.running() == 0 && wake < 0 && !op.done()) {
      // Nothing runs and nothing is scheduled: only an indefinite suspend gets here.
      if (!options.interrupted) break;
    }
    auto results = executor.wait(timeout);
    report_started(op, executor);
    for (auto& result : results) op.step_exited(to_exit(std::move(result)));
    if (wake >= 0 && clock.now_ms() >= wake) op.tick();
  }
}

}  // namespace skiff::cli
