// Synchronization in the engine, driven by hand: the test plays the lock manager.
#include <gtest/gtest.h>

#include "engine/test_harness.h"

namespace skiff::engine {
namespace {

template <typename T>
std::vector<T> only(const std::vector<Action>& actions) {
  std::vector<T> out;
  for (const auto& a : actions)
    if (auto* x = std::get_if<T>(&a)) out.push_back(*x);
  return out;
}

const char* kLoop = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: w}
spec:
  entrypoint: main
  templates:
    - name: main
      steps: [[{name: s, template: locked, withItems: [a, b]}]]
    - name: locked
      synchronization: {mutexes: [{name: m}]}
      container: {image: x, command: [echo]}
)";

}  // namespace

TEST(Sync, NodeWaitsPendingUntilItHoldsItsLockAndGivesItBack) {
  Harness h(kLoop, [] { RunOptions o; o.namespace_ = "ns"; return o; }());
  h.op->start();
  auto asks = only<AcquireLock>(h.op->take_actions());
  ASSERT_EQ(asks.size(), 2u);
  ASSERT_EQ(asks[0].locks.size(), 1u);
  EXPECT_EQ(spec::lock_name(asks[0].locks[0]), "ns/Mutex/m");
  h.op->lock_acquired(asks[0].holder);
  h.op->lock_waiting(asks[1].holder, "ns/Mutex/m", "Waiting for ns/Mutex/m lock. Lock status: 0/1");
  auto starts = only<StartStep>(h.op->take_actions());
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].node_id, asks[0].holder);
  const Node* waiting = h.op->node(asks[1].holder);
  ASSERT_NE(waiting, nullptr);
  EXPECT_EQ(waiting->phase, NodePhase::kPending);
  EXPECT_EQ(waiting->type, NodeType::kPod);
  EXPECT_EQ(waiting->sync_waiting, "ns/Mutex/m");
  EXPECT_EQ(waiting->message, "Waiting for ns/Mutex/m lock. Lock status: 0/1");

  h.op->step_started(starts[0].node_id);
  h.op->step_exited(ok(starts[0]));
  auto after = h.op->take_actions();
  auto releases = only<ReleaseLock>(after);
  ASSERT_EQ(releases.size(), 1u);
  EXPECT_EQ(releases[0].holder, asks[0].holder);
  EXPECT_TRUE(only<StartStep>(after).empty());  // the second still waits

  h.op->lock_acquired(asks[1].holder);
  starts = only<StartStep>(h.op->take_actions());
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(h.op->node(asks[1].holder)->sync_waiting, "");
  EXPECT_EQ(h.op->node(asks[1].holder)->message, "");
  h.op->step_started(starts[0].node_id);
  h.op->step_exited(ok(starts[0]));
  EXPECT_EQ(only<ReleaseLock>(h.op->take_actions()).size(), 1u);
  EXPECT_EQ(h.op->status().phase, WorkflowPhase::kSucceeded);
  EXPECT_EQ(h.op->status().nodes.size(), 4u);  // main, [0], two loop children: no duplicates
}

TEST(Sync, WorkflowLevelLockHoldsTheWholeRun) {
  Harness h(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: w}
spec:
  entrypoint: main
  priority: 5
  synchronization: {semaphores: [{configMapKeyRef: {name: cfg, key: k}}]}
  templates:
    - name: main
      container: {image: x, command: [echo]}
)");
  h.op->start();
  EXPECT_EQ(h.op->status().phase, WorkflowPhase::kPending);
  auto asks = only<AcquireLock>(h.op->take_actions());
  ASSERT_EQ(asks.size(), 1u);
  EXPECT_EQ(asks[0].holder, "");
  EXPECT_EQ(asks[0].priority, 5);
  EXPECT_EQ(spec::lock_name(asks[0].locks[0]), "default/ConfigMap/cfg/k");
  h.op->lock_waiting("", "default/ConfigMap/cfg/k", "Waiting for default/ConfigMap/cfg/k lock. Lock status: 0/1");
  EXPECT_EQ(h.op->status().message, "Waiting for default/ConfigMap/cfg/k lock. Lock status: 0/1");
  EXPECT_TRUE(h.op->status().nodes.empty());
  h.op->lock_acquired("");
  EXPECT_EQ(h.op->status().phase, WorkflowPhase::kRunning);
  auto starts = only<StartStep>(h.op->take_actions());
  ASSERT_EQ(starts.size(), 1u);
  h.op->step_exited(ok(starts[0]));
  auto releases = only<ReleaseLock>(h.op->take_actions());
  ASSERT_EQ(releases.size(), 1u);
  EXPECT_EQ(releases[0].holder, "");
  EXPECT_EQ(h.op->status().phase, WorkflowPhase::kSucceeded);
}

TEST(Sync, StopEndsWaitersAndAFailedLockIsAnError) {
  Harness h(kLoop);
  h.op->start();
  auto asks = only<AcquireLock>(h.op->take_actions());
  ASSERT_EQ(asks.size(), 2u);
  h.op->lock_failed(asks[0].holder, "failed to initialize semaphore x with limit");
  EXPECT_EQ(h.op->node(asks[0].holder)->phase, NodePhase::kError);
  h.op->stop("Stopped with strategy 'Stop'");
  auto releases = only<ReleaseLock>(h.op->take_actions());
  ASSERT_EQ(releases.size(), 1u);
  EXPECT_EQ(releases[0].holder, asks[1].holder);
  EXPECT_EQ(h.op->node(asks[1].holder)->phase, NodePhase::kFailed);
  EXPECT_TRUE(h.op->done());

  Harness wf(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: w}
spec:
  entrypoint: main
  synchronization: {mutexes: [{name: m}]}
  templates:
    - name: main
      container: {image: x, command: [echo]}
)");
  wf.op->start();
  wf.op->take_actions();
  wf.op->terminate("Stopped with strategy 'Terminate'");
  EXPECT_TRUE(wf.op->done());
  EXPECT_EQ(wf.op->status().phase, WorkflowPhase::kFailed);
  EXPECT_EQ(only<ReleaseLock>(wf.op->take_actions()).size(), 1u);
}

}  // namespace skiff::engine
