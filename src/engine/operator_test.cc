// The engine driven by hand: a fake clock and a fake runner that answers StartStep
// actions with scripted exits. No processes, no I/O.
#include "engine/operator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>

#include "engine/test_harness.h"
#include "spec/decode.h"

namespace skiff::engine {

namespace {

const char* kHead = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n";

std::string wf(const std::string& body) { return std::string(kHead) + body; }

const char* kOkFail = R"(
    - name: ok
      container: {image: x, command: [echo, ok]}
    - name: fail
      container: {image: x, command: [fail]}
)";

StepExit by_command(const StartStep& s) {
  StepExit e = ok(s, s.tmpl.container->command.back() + "\n");
  if (s.tmpl.container->command[0] == "fail") e.exit_code = 1;
  return e;
}

}  // namespace

TEST(Operator, SingleContainerSucceeds) {
  Harness r(wf("  entrypoint: ok\n  templates:" + std::string(kOkFail)));
  r.run(by_command);
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kSucceeded);
  const Node& n = r.node("w");
  EXPECT_EQ(n.id, "w");
  EXPECT_EQ(n.type, NodeType::kPod);
  EXPECT_EQ(*n.outputs.result, "ok");
  EXPECT_EQ(n.pod_name, "w");
}

TEST(Operator, NodeIdsAndPodNamesFollowArgo) {
  EXPECT_EQ(node_id("w", "w.a"), "w-205987851");  // fnv32a("w.a") in decimal
  Harness r(wf("  entrypoint: main\n  templates:\n    - name: main\n      dag: {tasks: [{name: a, template: ok}]}" + std::string(kOkFail)));
  r.run(by_command);
  const Node& a = r.node("w.a");
  EXPECT_EQ(a.id, node_id("w", "w.a"));
  EXPECT_EQ(a.pod_name, "w-ok-" + a.id.substr(2));
  EXPECT_EQ(a.boundary_id, "w");
}

TEST(Operator, DagDiamondRunsInDependencyOrder) {
  Harness r(wf(R"(  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: ok}
          - {name: b, depends: a, template: ok}
          - {name: c, dependencies: [a], template: ok}
          - {name: d, depends: b && c, template: ok}
)" + std::string(kOkFail)));
  r.run(by_command);
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kSucceeded);
  ASSERT_EQ(r.started.size(), 4u);
  EXPECT_EQ(r.started.front(), "w.a");
  EXPECT_EQ(r.started.back(), "w.d");
  EXPECT_EQ(r.node("w").children, std::vector<std::string>{node_id("w", "w.a")});
  EXPECT_EQ(r.node("w.a").children.size(), 2u);
}

TEST(Operator, OmittedLeafInheritsFailedBranch) {
  Harness r(wf(R"(  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: fail}
          - {name: handle, depends: a.Failed, template: ok}
          - {name: next, depends: a.Succeeded, template: ok}
)" + std::string(kOkFail)));
  r.run(by_command);
  EXPECT_EQ(r.node("w.handle").phase, NodePhase::kSucceeded);
  EXPECT_EQ(r.node("w.next").phase, NodePhase::kOmitted);
  EXPECT_EQ(r.node("w.next").message, "omitted: depends condition not met");
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kFailed);
}

TEST(Operator, RetriesWithBackoffUseTheClock) {
  Harness r(wf(R"(  entrypoint: main
  templates:
    - name: main
      retryStrategy: {limit: 2, backoff: {duration: 10s, factor: 3}}
      container: {image: x, command: [fail]}
)"));
  int64_t t0 = r.clock.now;
  r.run(by_command);
  EXPECT_EQ(r.node("w").type, NodeType::kRetry);
  EXPECT_EQ(r.node("w").message, "No more retries left");
  EXPECT_TRUE(r.has("w(2)"));
  EXPECT_FALSE(r.has("w(3)"));
  EXPECT_EQ(r.clock.now - t0, 10'000 + 30'000);  // 10s, then 10s * 3
}

TEST(Operator, LoopsNameChildrenLikeArgo) {
  Harness r(wf(R"(  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: l, template: echo, arguments: {parameters: [{name: m, value: "{{item}}"}]}, withItems: [a, 1, {k: v, a: 2}]}
          - {name: s, template: echo, arguments: {parameters: [{name: m, value: "{{item}}"}]}, withSequence: {start: "1", end: "2", format: "n%02d"}}
    - name: echo
      inputs: {parameters: [{name: m}]}
      container: {image: x, command: [echo, "{{inputs.parameters.m}}"]}
)"));
  r.run(by_command);
  EXPECT_EQ(r.node("w.l").type, NodeType::kTaskGroup);
  EXPECT_EQ(*r.node("w.l(0:a)").outputs.result, "a");
  EXPECT_EQ(*r.node("w.l(1:1)").outputs.result, "1");
  EXPECT_TRUE(r.has("w.l(2:a:2,k:v)"));
  EXPECT_EQ(*r.node("w.s(1:n02)").outputs.result, "n02");
}

TEST(Operator, TemplateDeadlineKillsTheStep) {
  Harness r(wf(R"(  entrypoint: main
  templates:
    - name: main
      activeDeadlineSeconds: 5
      container: {image: x, command: [sleep]}
)"));
  r.op->start();
  auto actions = r.op->take_actions();
  ASSERT_EQ(actions.size(), 1u);
  std::string id = std::get<StartStep>(actions[0]).node_id;
  r.op->step_started(id);
  EXPECT_EQ(r.op->next_wakeup_ms(), r.clock.now + 5000);
  r.clock.now += 5000;
  r.op->tick();
  actions = r.op->take_actions();
  ASSERT_EQ(actions.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<KillStep>(actions[0]));
  StepExit e;
  e.node_id = id;
  e.exit_code = 143;
  r.op->step_exited(e);
  EXPECT_EQ(r.node("w").message, "Pod was active on the node longer than the specified deadline");
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kFailed);
}

// `timeout` counts from the node's start: a step still waiting for a parallelism slot
// when it passes fails with Argo's "timeout" and never starts; a running one is killed.
TEST(Operator, TemplateTimeoutCountsWhileWaitingForASlot) {
  Harness r(wf(R"(  entrypoint: main
  parallelism: 1
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: slow}
          - {name: b, template: slow}
    - name: slow
      timeout: 3s
      container: {image: x, command: [sleep]}
)"));
  r.op->start();
  auto actions = r.op->take_actions();
  ASSERT_EQ(actions.size(), 1u);  // b waits for a's slot
  std::string a = std::get<StartStep>(actions[0]).node_id;
  r.op->step_started(a);
  r.clock.now += 3000;
  r.op->tick();
  actions = r.op->take_actions();
  ASSERT_EQ(actions.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<KillStep>(actions[0]));
  EXPECT_EQ(r.node("w.b").phase, NodePhase::kFailed);
  EXPECT_EQ(r.node("w.b").message, "timeout");
  StepExit e;
  e.node_id = a;
  e.exit_code = 143;
  r.op->step_exited(e);
  EXPECT_TRUE(r.op->take_actions().empty());  // b's turn came, but it is over
  EXPECT_EQ(r.node("w.a").message, "Pod was active on the node longer than the specified deadline");
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kFailed);
}

TEST(Operator, FailedStepsMessageIsReasonExitCodeAndTerminationMessage) {
  Harness r(wf("  entrypoint: main\n  templates:\n    - name: main\n      steps: [[{name: a, template: fail}, "
               "{name: b, template: ok}, {name: c, template: fail}, {name: d, template: fail}]]" + std::string(kOkFail)));
  r.run([](const StartStep& s) {
    StepExit e = by_command(s);
    e.termination_message = "disk full\n";  // kept as written
    if (s.node_id == node_id("w", "w[0].c")) e.termination_message.clear();
    if (s.node_id == node_id("w", "w[0].d")) {
      e.exit_code = 137;
      e.reason = "OOMKilled";
    }
    return e;
  });
  EXPECT_EQ(r.node("w[0].a").message, "Error (exit code 1): disk full\n");
  EXPECT_EQ(r.node("w[0].b").message, "");  // a success's termination message is not the node's
  EXPECT_EQ(r.node("w[0].c").message, "Error (exit code 1)");
  EXPECT_EQ(r.node("w[0].d").message, "OOMKilled (exit code 137): disk full\n");
}

TEST(Operator, MissingInputIsAnError) {
  Harness r(wf(R"(  entrypoint: main
  templates:
    - name: main
      steps: [[{name: s, template: needs}]]
    - name: needs
      inputs: {parameters: [{name: x}]}
      container: {image: x, command: [echo]}
)"));
  r.run(by_command);
  EXPECT_EQ(r.node("w[0].s").phase, NodePhase::kError);
  EXPECT_EQ(r.node("w[0].s").message, "inputs.parameters.x was not supplied");
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kError);
}

TEST(Operator, ParametersOverrideAndEnum) {
  RunOptions o;
  o.parameters["p"] = "cli";
  Harness r(wf("  entrypoint: main\n  arguments: {parameters: [{name: p, value: x}]}\n  templates:\n"
           "    - name: main\n      container: {image: x, command: [echo, \"{{workflow.parameters.p}}\"]}\n"),
        o);
  r.run(by_command);
  EXPECT_EQ(*r.node("w").outputs.result, "cli");
  auto d = spec::decode_documents(wf("  entrypoint: m\n  arguments: {parameters: [{name: p, value: a, enum: [a]}]}\n"
                                     "  templates: [{name: m, suspend: {}}]\n"),
                                  "t.yaml");
  spec::Library lib;
  FakeClock clock;
  RunOptions bad;
  bad.parameters["p"] = "b";
  auto op = Operator::create(d.objects[0], lib, bad, clock);
  ASSERT_FALSE(op.is_ok());
  EXPECT_NE(op.status().message().find("not one of [a]"), std::string::npos);
}

TEST(Operator, LayeredDagOfTenThousandNodes) {
  std::string yaml = wf("  entrypoint: main\n  templates:\n    - name: main\n      dag:\n        tasks:\n");
  const int layers = 100, width = 100;
  for (int l = 0; l < layers; ++l)
    for (int w = 0; w < width; ++w) {
      yaml += "          - {name: n" + std::to_string(l) + "-" + std::to_string(w) + ", template: ok";
      if (l > 0)
        yaml += ", dependencies: [n" + std::to_string(l - 1) + "-" + std::to_string(w) + ", n" + std::to_string(l - 1) +
                "-" + std::to_string((w + 1) % width) + "]";
      yaml += "}\n";
    }
  yaml += kOkFail;
  Harness r(yaml);
  auto t0 = std::chrono::steady_clock::now();
  r.run([](const StartStep& s) { return ok(s); });
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("10,000-node layered DAG through the engine: %.0f ms\n", ms);
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kSucceeded);
  EXPECT_EQ(r.started.size(), 10000u);
}

}  // namespace skiff::engine

namespace skiff::engine {

TEST(Operator, LongChainOfOmittedTasksDoesNotRecurse) {
  std::string yaml = wf("  entrypoint: main\n  templates:\n    - name: main\n      dag:\n        tasks:\n"
                        "          - {name: t0, template: fail}\n");
  for (int i = 1; i < 50000; ++i)
    yaml += "          - {name: t" + std::to_string(i) + ", template: ok, depends: t" + std::to_string(i - 1) + ".Succeeded}\n";
  yaml += kOkFail;
  Harness r(yaml);
  r.run(by_command);
  EXPECT_EQ(r.node("w.t49999").phase, NodePhase::kOmitted);
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kFailed);
}

}  // namespace skiff::engine

namespace skiff::engine {

// An approval step: suspended until `node set` supplies its output and resume ends it.
TEST(Operator, NodeSetSuppliesSuspendOutputsAndResumeEndsIt) {
  Harness r(wf("  entrypoint: main\n  templates:\n    - name: main\n      steps:\n"
               "        - [{name: approve, template: ask}]\n"
               "        - [{name: use, template: echo, arguments: {parameters: [{name: v, value: "
               "\"{{steps.approve.outputs.parameters.answer}}\"}]}}]\n"
               "    - name: ask\n      suspend: {}\n      outputs: {parameters: [{name: answer, valueFrom: {supplied: {}, default: no}}]}\n"
               "    - name: echo\n      inputs: {parameters: [{name: v}]}\n"
               "      container: {image: x, command: [echo, \"{{inputs.parameters.v}}\"]}\n"));
  r.run(by_command);
  ASSERT_FALSE(r.op->done());
  EXPECT_EQ(r.node("w[0].approve").phase, NodePhase::kRunning);
  EXPECT_FALSE(r.op->set_nodes("nonsense", {}).is_ok());
  EXPECT_FALSE(r.op->set_nodes("color=red", {}).is_ok());
  NodeUpdate wrong;
  wrong.output_parameters["nope"] = "x";
  EXPECT_FALSE(r.op->set_nodes("displayName=approve", wrong).is_ok());
  NodeUpdate update;
  update.output_parameters["answer"] = "yes";
  auto n = r.op->set_nodes("displayName=approve", update);
  ASSERT_TRUE(n.is_ok()) << n.status().message();
  EXPECT_EQ(*n, 1);
  ASSERT_TRUE(r.op->resume("displayName=approve").is_ok());
  r.drive(by_command);
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kSucceeded);
  EXPECT_EQ(*r.node("w[1].use").outputs.result, "yes");
}

TEST(Operator, ResumeWithoutSetUsesTheDefaultAndSetPhaseFailsTheNode) {
  std::string yaml = wf("  entrypoint: main\n  templates:\n    - name: main\n      steps:\n"
                        "        - [{name: approve, template: ask}]\n"
                        "    - name: ask\n      suspend: {}\n"
                        "      outputs: {parameters: [{name: answer, valueFrom: {supplied: {}, default: no}}]}\n");
  Harness a(yaml);
  a.run(by_command);
  ASSERT_TRUE(a.op->resume("").is_ok());
  a.drive(by_command);
  EXPECT_EQ(a.op->status().phase, WorkflowPhase::kSucceeded);
  EXPECT_EQ(a.node("w[0].approve").outputs.parameters.at(0).second, "no");
  Harness b(yaml);
  b.run(by_command);
  NodeUpdate fail;
  fail.phase = "Failed";
  fail.message = "rejected";
  ASSERT_TRUE(b.op->set_nodes("templateName=ask", fail).is_ok());
  b.drive(by_command);
  EXPECT_EQ(b.op->status().phase, WorkflowPhase::kFailed);
  EXPECT_EQ(b.node("w[0].approve").message, "rejected");
}

// A suspended workflow starts nothing new; resume starts what waited; stop ends it.
TEST(Operator, WorkflowSuspendHoldsStepsUntilResume) {
  Harness r(wf("  entrypoint: main\n  suspend: true\n  templates:\n    - name: main\n      steps: [[{name: a, template: ok}]]" +
               std::string(kOkFail)));
  r.run(by_command);
  EXPECT_TRUE(r.op->suspended());
  EXPECT_FALSE(r.op->done());
  EXPECT_TRUE(r.started.empty());
  EXPECT_EQ(r.node("w[0].a").phase, NodePhase::kPending);
  ASSERT_TRUE(r.op->resume("").is_ok());
  EXPECT_FALSE(r.op->suspended());
  r.drive(by_command);
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kSucceeded);

  Harness s(wf("  entrypoint: main\n  templates:\n    - name: main\n      steps: [[{name: a, template: ok}]]" +
               std::string(kOkFail)));
  ASSERT_TRUE(s.op->suspend().is_ok());
  s.run(by_command);
  ASSERT_FALSE(s.op->done());
  s.op->stop("stopped by a test");
  EXPECT_TRUE(s.op->done());
  EXPECT_EQ(s.op->status().phase, WorkflowPhase::kFailed);
  EXPECT_EQ(s.node("w[0].a").phase, NodePhase::kFailed);
  EXPECT_FALSE(s.op->suspend().is_ok());
}

// Lifecycle hooks (hooks.cc): each step takes a second of the fake clock, so start and end
// times show who waited for whom.
StepExit one_second(FakeClock& clock, const StartStep& s) {
  clock.now += 1000;
  return by_command(s);
}

TEST(Operator, StepHooksRunOnceAndTheNextGroupWaitsForThem) {
  Harness r(wf(R"(  entrypoint: main
  templates:
    - name: main
      steps:
        - - name: a
            template: ok
            hooks:
              running: {expression: 'steps["a"].status == "Running"', template: ok}
              done: {expression: steps.a.status == "Succeeded", template: ok}
              exit: {template: ok}
        - - {name: b, template: ok}
)" + std::string(kOkFail)));
  r.run([&](const StartStep& s) { return one_second(r.clock, s); });
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kSucceeded);
  ASSERT_EQ(r.started.size(), 5u);
  EXPECT_EQ(r.started[0], "w[0].a");
  EXPECT_EQ(r.started[1], "w[0].a.hooks.running");  // started while a ran, before it ended
  EXPECT_EQ(r.started.back(), "w[1].b");
  const Node& a = r.node("w[0].a");
  EXPECT_EQ(a.children.size(), 4u);  // its three hooks, then the next group "w[1]"
  for (const char* h : {"w[0].a.hooks.running", "w[0].a.hooks.done", "w[0].a.onExit"}) {
    const Node& hook = r.node(h);
    EXPECT_TRUE(hook.hooked) << h;
    EXPECT_EQ(hook.boundary_id, "w") << h;
    EXPECT_LE(hook.finished_at_ms, r.node("w[1].b").started_at_ms) << h;
  }
  EXPECT_LT(r.node("w[0].a.hooks.running").started_at_ms, a.finished_at_ms);
  EXPECT_EQ(r.node("w[0].a.hooks.done").display_name, "a.hooks.done");
}

TEST(Operator, WorkflowHooksFinishBeforeTheExitHandler) {
  Harness r(wf(R"(  entrypoint: ok
  onExit: ok
  hooks:
    running: {expression: workflow.status == "Running", template: ok}
    failed: {expression: workflow.status == "Failed", template: ok}
    done: {expression: workflow.status == "Succeeded", template: fail}
  templates:)" + std::string(kOkFail)));
  r.run([&](const StartStep& s) { return one_second(r.clock, s); });
  // The done hook failed: that is not the workflow's failure (Argo).
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kSucceeded);
  EXPECT_FALSE(r.has("w.hooks.failed"));
  EXPECT_EQ(r.node("w.hooks.done").phase, NodePhase::kFailed);
  EXPECT_EQ(r.node("w.hooks.running").phase, NodePhase::kSucceeded);
  EXPECT_LE(r.node("w.hooks.done").finished_at_ms, r.node("w.onExit").started_at_ms);
  EXPECT_EQ(r.node("w").children.size(), 2u);  // the hooks hang off the entrypoint's node
  EXPECT_EQ(r.op->status().nodes.size(), 4u);
}

TEST(Operator, HookThatCannotRunIsAnErrorNode) {
  Harness r(wf(R"(  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - name: a
            template: ok
            hooks:
              odd: {expression: tasks.a.status.nope == 1, template: ok}
)" + std::string(kOkFail)));
  r.run(by_command);
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kSucceeded);
  const Node& odd = r.node("w.a.hooks.odd");
  EXPECT_EQ(odd.phase, NodePhase::kError);
  EXPECT_NE(odd.message.find("hook \"odd\""), std::string::npos) << odd.message;
}

TEST(Operator, WorkflowTemplateHooksMergeByNameWithTheWorkflowsWinning) {
  Harness r(wf(R"(  workflowTemplateRef: {name: t}
  hooks:
    running: {expression: workflow.status == "Running", template: fail}
---
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: t}
spec:
  entrypoint: ok
  hooks:
    exit: {template: ok}
    running: {expression: workflow.status == "Running", template: ok}
  templates:)" + std::string(kOkFail)));
  r.run(by_command);
  EXPECT_EQ(r.op->status().phase, WorkflowPhase::kSucceeded);
  EXPECT_EQ(r.node("w.hooks.running").template_name, "fail");  // the workflow's own
  EXPECT_EQ(r.node("w.onExit").template_name, "ok");            // the template's exit hook
}

}  // namespace skiff::engine
