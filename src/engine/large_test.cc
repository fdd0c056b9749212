// Big workflows through the engine: node ids that collide, the node limit, and a loop of
// 100,000 steps (whose cost must stay linear: the test prints its time, asserts none).
#include <gtest/gtest.h>

#include <chrono>
#include <unordered_map>

#include "engine/operator.h"
#include "engine/test_harness.h"

namespace skiff::engine {
namespace {

const char* kHead = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n";
const char* kOk = "    - name: ok\n      container: {image: x, command: [echo, ok]}\n";

std::string loop_in_dag(const std::string& count) {
  return std::string(kHead) +
         "  entrypoint: main\n  templates:\n    - name: main\n      dag:\n        tasks:\n"
         "          - {name: t, template: ok, withSequence: {count: \"" + count + "\"}}\n" + kOk;
}

std::string loop_in_steps(const std::string& count) {
  return std::string(kHead) +
         "  entrypoint: main\n  templates:\n    - name: main\n      steps:\n"
         "        - [{name: t, template: ok, withSequence: {count: \"" + count + "\"}}]\n" + kOk;
}

size_t finished_nodes(const Operator& op) {
  size_t n = 0;
  for (const auto& node : op.status().nodes) n += is_finished(node.phase);
  return n;
}

}  // namespace

// fnv32a collides about once in 100,000 names. Two tasks whose names collide get two
// nodes (the second id with "-1"), and each one's end reaches its own task: the DAG ends.
TEST(LargeWorkflow, TasksWhoseNodeIdsCollideBothFinish) {
  std::unordered_map<std::string, std::string> seen;  // id -> task name
  std::string first, second;
  for (int k = 0; second.empty() && k < 1000000; ++k) {
    std::string task = "t" + std::to_string(k);
    auto [it, fresh] = seen.emplace(node_id("w", "w." + task), task);
    if (!fresh) first = it->second, second = task;
  }
  ASSERT_FALSE(second.empty());
  Harness r(std::string(kHead) + "  entrypoint: main\n  templates:\n    - name: main\n      dag:\n        tasks:\n" +
            "          - {name: " + first + ", template: ok}\n          - {name: " + second + ", template: ok}\n" + kOk);
  r.run([](const StartStep& s) { return ok(s); });
  ASSERT_TRUE(r.op->done());
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kSucceeded);
  EXPECT_EQ(r.node("w." + first).id, node_id("w", "w." + first));
  EXPECT_EQ(r.node("w." + second).id, node_id("w", "w." + first) + "-1");
  EXPECT_EQ(r.node("w." + second).phase, NodePhase::kSucceeded);
}

TEST(LargeWorkflow, LoopOfAHundredThousandSteps) {
  Harness r(loop_in_dag("100000"));
  auto t0 = std::chrono::steady_clock::now();
  r.run([](const StartStep& s) { return ok(s); });
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("a loop of 100,000 steps through the engine: %.0f ms\n", ms);
  ASSERT_TRUE(r.op->done());
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kSucceeded);
  EXPECT_EQ(r.started.size(), 100000u);
  EXPECT_EQ(r.op->status().nodes.size(), 100002u);
  EXPECT_EQ(r.node("w.t").children.size(), 100000u);
}

// Past RunOptions::max_nodes the loop is refused before any child exists, and the
// workflow ends in Error saying which limit and where it is set.
TEST(LargeWorkflow, LoopPastTheNodeLimitEndsTheWorkflowInError) {
  RunOptions options;
  options.max_nodes = 50;
  options.limit_hint = "skiff server --max-nodes";
  for (const std::string& yaml : {loop_in_dag("100"), loop_in_steps("100")}) {
    Harness r(yaml, options);
    r.run([](const StartStep& s) { return ok(s); });
    ASSERT_TRUE(r.op->done());
    const WorkflowStatus& st = r.op->status();
    EXPECT_EQ(st.phase, WorkflowPhase::kError);
    EXPECT_NE(st.message.find("a loop of 100 items would take the workflow past the limit of 50 nodes "
                              "(skiff server --max-nodes)"),
              std::string::npos)
        << st.message;
    EXPECT_TRUE(r.started.empty());
    EXPECT_LE(st.nodes.size(), 4u);
    EXPECT_EQ(finished_nodes(*r.op), st.nodes.size());
  }
  // Within the limit, the same loop runs.
  options.max_nodes = 102;
  Harness fits(loop_in_dag("100"), options);
  fits.run([](const StartStep& s) { return ok(s); });
  EXPECT_EQ(fits.op->status().phase, WorkflowPhase::kSucceeded);
}

// Nodes that are not a loop's (here: a DAG of 60 tasks) meet the same limit one by one:
// the one past it is an Error node, the workflow stops, and steps already running end.
TEST(LargeWorkflow, TasksPastTheNodeLimitStopTheWorkflow) {
  std::string yaml = std::string(kHead) + "  entrypoint: main\n  templates:\n    - name: main\n      dag:\n        tasks:\n";
  for (int i = 0; i < 60; ++i) yaml += "          - {name: t" + std::to_string(i) + ", template: ok}\n";
  RunOptions options;
  options.max_nodes = 20;
  Harness r(yaml + kOk, options);
  r.run([](const StartStep& s) { return ok(s); });
  ASSERT_TRUE(r.op->done());
  const WorkflowStatus& st = r.op->status();
  EXPECT_EQ(st.phase, WorkflowPhase::kError);
  EXPECT_NE(st.message.find("past the limit of 20 nodes"), std::string::npos) << st.message;
  EXPECT_EQ(finished_nodes(*r.op), st.nodes.size());
  EXPECT_LE(r.started.size(), 19u);
}

// `argo terminate` on a loop of 100,000 steps, 1,000 of them running: every node ends.
TEST(LargeWorkflow, TerminatingAHundredThousandStepsEndsThemAll) {
  Harness r(loop_in_dag("100000"));
  r.op->start();
  auto actions = r.op->take_actions();
  ASSERT_EQ(actions.size(), 100000u);
  for (size_t i = 0; i < 1000; ++i) r.op->step_started(std::get<StartStep>(actions[i]).node_id);
  r.op->terminate("Stopped with strategy 'Terminate'");
  size_t kills = 0;
  for (auto& a : r.op->take_actions()) {
    auto* k = std::get_if<KillStep>(&a);
    if (!k) continue;
    ++kills;
    StepExit e;
    e.node_id = k->node_id;
    e.exit_code = 143;
    r.op->step_exited(e);
  }
  EXPECT_EQ(kills, 100000u);  // the runner ends those it had not started without a process
  ASSERT_TRUE(r.op->done());
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kFailed);
  EXPECT_EQ(r.op->status().message, "Stopped with strategy 'Terminate'");
  EXPECT_EQ(finished_nodes(*r.op), 100002u);
}

}  // namespace skiff::engine
