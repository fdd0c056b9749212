// The Runner with real parts: the host executor, a SQLite store, the system clock.
#include "server/runner.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "runtime/fd.h"
#include "runtime/host_executor.h"
#include "spec/decode.h"

namespace skiff::server {
namespace {

class WallClock final : public engine::Clock {
 public:
  int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

spec::Object decode_one(const std::string& yaml) {
  spec::Decoded d = spec::decode_documents(yaml, "test.yaml");
  EXPECT_TRUE(d.diagnostics.empty()) << format_all(d.diagnostics);
  EXPECT_EQ(d.objects.size(), 1u);
  return d.objects.empty() ? spec::Object{} : std::move(d.objects[0]);
}

constexpr const char* kDiamond = R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: diamond, labels: {team: ci}}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: echo, arguments: {parameters: [{name: m, value: a}]}}
          - {name: b, template: echo, dependencies: [a], arguments: {parameters: [{name: m, value: "{{tasks.a.outputs.result}}-b"}]}}
          - {name: c, template: echo, dependencies: [a], arguments: {parameters: [{name: m, value: c}]}}
    - name: echo
      inputs: {parameters: [{name: m}]}
      container: {image: busybox, command: [echo, "{{inputs.parameters.m}}"]}
)";

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/skiff-runner-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
    runtime::ExecutorOptions options;
    options.run_dir = dir_ + "/executor";
    options.data_dir = dir_;
    auto ex = runtime::make_host_executor(options);
    ASSERT_TRUE(ex.is_ok()) << ex.status().message();
    executor_ = std::move(*ex);
    auto st = store::Store::open("sqlite:" + dir_ + "/skiff.db");
    ASSERT_TRUE(st.is_ok()) << st.status().message();
    store_ = std::move(*st);
    runner_ = std::make_unique<Runner>(*executor_, *store_, clock_, dir_);
  }
  void TearDown() override {
    runner_.reset();
    executor_.reset();
    ::umount2((dir_ + "/executor/steps").c_str(), MNT_DETACH);  // the executor's tmpfs
    runtime::remove_tree(dir_);
  }
  void run_all() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (runner_->active() > 0 && std::chrono::steady_clock::now() < deadline) runner_->turn(100);
    ASSERT_EQ(runner_->active(), 0u) << "workflows still running after 60 s";
  }

  std::string dir_;
  WallClock clock_;
  std::unique_ptr<runtime::Executor> executor_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Runner> runner_;
};

TEST_F(RunnerTest, ManyWorkflowsAtOnceEndInTheStore) {
  spec::Object wf = decode_one(kDiamond);
  constexpr int kCount = 30;
  for (int i = 0; i < kCount; ++i) {
    engine::RunOptions o;
    o.name = "diamond-" + std::to_string(i);
    o.namespace_ = i % 2 ? "team-a" : "team-b";
    ASSERT_TRUE(runner_->add(wf, {}, o).is_ok());
  }
  // Names are per namespace: the same name elsewhere is fine, twice in one is not.
  engine::RunOptions same;
  same.name = "diamond-0";
  same.namespace_ = "team-a";
  ASSERT_TRUE(runner_->add(wf, {}, same).is_ok());
  same.namespace_ = "team-b";
  EXPECT_EQ(runner_->add(wf, {}, same).status().code(), Code::kAlreadyExists);
  run_all();
  store::ListQuery q;
  q.label_selector = "team=ci,workflows.argoproj.io/phase=Succeeded";
  auto page = store_->list_workflows(q);
  ASSERT_TRUE(page.is_ok());
  EXPECT_EQ(page->items.size(), static_cast<size_t>(kCount + 1));
  for (const auto& rec : page->items) {
    auto nodes = store_->nodes(rec.uid);
    ASSERT_TRUE(nodes.is_ok());
    ASSERT_EQ(nodes->size(), 4u) << rec.name;  // the DAG and its three pods
    bool saw_b = false;
    for (const auto& n : *nodes) {
      auto j = nlohmann::json::parse(n.body);
      EXPECT_EQ(j["phase"], "Succeeded") << rec.name << " " << n.body;
      if (j["displayName"] == "b") {
        saw_b = true;
        EXPECT_EQ(j["outputs"]["result"], "a-b");
      }
    }
    EXPECT_TRUE(saw_b);
    auto status = nlohmann::json::parse(rec.status);
    EXPECT_EQ(status["phase"], "Succeeded");
    EXPECT_EQ(status["progress"], "3/3");
    EXPECT_GT(rec.finished_ms, 0);
  }
  EXPECT_TRUE(store_->unfinished()->empty());
}

TEST_F(RunnerTest, AFailingWorkflowDoesNotDisturbTheOthers) {
  spec::Object ok = decode_one(kDiamond);
  spec::Object bad = decode_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: bad}
spec:
  entrypoint: fail
  templates:
    - name: fail
      container: {image: busybox, command: [sh, -c, "exit 3"]}
)");
  engine::RunOptions o;
  ASSERT_TRUE(runner_->add(bad, {}, o).is_ok());
  ASSERT_TRUE(runner_->add(ok, {}, o).is_ok());
  run_all();
  EXPECT_EQ(store_->get_workflow("default", "bad")->phase, spec::WorkflowPhase::kFailed);
  EXPECT_EQ(store_->get_workflow("default", "diamond")->phase, spec::WorkflowPhase::kSucceeded);
  auto failed = store_->get_workflow("default", "bad");
  EXPECT_NE(nlohmann::json::parse(failed->status)["message"].get<std::string>().find("exit code 3"), std::string::npos);
}

// With one step slot, a workflow submitted behind a wide one gets the next free slot in
// turn instead of waiting for all of the wide one's steps.
TEST_F(RunnerTest, StepSlotsGoToWorkflowsInTurn) {
  runner_->set_max_steps(1);
  spec::Object wide = decode_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wide}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: nap}
          - {name: b, template: nap}
          - {name: c, template: nap}
          - {name: d, template: nap}
          - {name: e, template: nap}
    - name: nap
      container: {image: busybox, command: [sleep, "0.2"]}
)");
  spec::Object small = decode_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: small}
spec:
  entrypoint: one
  templates:
    - name: one
      container: {image: busybox, command: [sleep, "0.2"]}
)");
  ASSERT_TRUE(runner_->add(wide, {}, {}).is_ok());
  runner_->turn(0);  // the wide one takes the slot; four of its steps wait
  ASSERT_TRUE(runner_->add(small, {}, {}).is_ok());
  run_all();
  auto w = store_->get_workflow("default", "wide");
  auto s = store_->get_workflow("default", "small");
  ASSERT_TRUE(w.is_ok() && s.is_ok());
  EXPECT_EQ(w->phase, spec::WorkflowPhase::kSucceeded);
  EXPECT_EQ(s->phase, spec::WorkflowPhase::kSucceeded);
  // small ran second (after a), long before the wide one's last step.
  EXPECT_LT(s->finished_ms + 400, w->finished_ms) << "small " << s->finished_ms << " wide " << w->finished_ms;
}

// More nodes than a turn writes (4,096): the rest go in the next turns, and the finished
// workflow's phase is stored only with its last nodes.
TEST_F(RunnerTest, ABigWorkflowIsWrittenOverSeveralTurns) {
  spec::Object wf = decode_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: big}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: t, template: s, when: "{{item}} < 0", withSequence: {count: "6000"}}
    - name: s
      container: {image: busybox, command: ["true"]}
)");
  auto rec = runner_->add(wf, {}, {});
  ASSERT_TRUE(rec.is_ok()) << rec.status().message();
  runner_->turn(0);  // every task is Skipped at once; one turn's worth is written
  EXPECT_EQ(store_->nodes(rec->uid)->size(), 4096u);
  EXPECT_EQ(store_->get_workflow("default", "big")->phase, spec::WorkflowPhase::kPending);
  run_all();
  EXPECT_EQ(store_->nodes(rec->uid)->size(), 6002u);
  EXPECT_EQ(store_->get_workflow("default", "big")->phase, spec::WorkflowPhase::kSucceeded);
}

// `argo terminate` while most of a loop waits for a step slot: the waiting steps end
// without starting, the running ones are killed, and the workflow ends as Argo's does.
TEST_F(RunnerTest, TerminateEndsRunningAndQueuedSteps) {
  runner_->set_max_steps(4);
  spec::Object wf = decode_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wide}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: t, template: nap, withSequence: {count: "1000"}}
    - name: nap
      container: {image: busybox, command: [sleep, "60"]}
)");
  auto rec = runner_->add(wf, {}, {});
  ASSERT_TRUE(rec.is_ok());
  for (int i = 0; i < 5; ++i) runner_->turn(0);
  ASSERT_TRUE(runner_->stop("default", "wide", "", true).is_ok());
  run_all();
  auto stored = store_->get_workflow("default", "wide");
  EXPECT_EQ(stored->phase, spec::WorkflowPhase::kFailed);
  EXPECT_EQ(nlohmann::json::parse(stored->status)["message"], "Stopped with strategy 'Terminate'");
  auto nodes = store_->nodes(rec->uid);
  ASSERT_EQ(nodes->size(), 1002u);
  for (const auto& n : *nodes) EXPECT_EQ(nlohmann::json::parse(n.body)["phase"], "Failed") << n.body;
}

}  // namespace
TEST_F(RunnerTest, AResumedRunKeepsTheStepLimit) {
  // Steps outlive the executor here, as under skiff server.
  auto detached = [&] {
    runner_.reset();
    executor_.reset();
    runtime::ExecutorOptions options;
    options.run_dir = dir_ + "/executor";
    options.data_dir = dir_;
    options.detach_steps = true;
    auto ex = runtime::make_host_executor(options);
    ASSERT_TRUE(ex.is_ok()) << ex.status().message();
    executor_ = std::move(*ex);
    runner_ = std::make_unique<Runner>(*executor_, *store_, clock_, dir_);
    runner_->set_max_steps(1);
  };
  detached();
  // Outside the data directory (steps cannot see it) and /tmp (each step has its own).
  std::string marks = "/var/tmp/skiff-runner-marks-" + std::to_string(::getpid());
  runtime::remove_tree(marks);
  spec::Object wf = decode_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: four}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: mark, arguments: {parameters: [{name: m, value: a}]}}
          - {name: b, template: mark, arguments: {parameters: [{name: m, value: b}]}}
          - {name: c, template: mark, arguments: {parameters: [{name: m, value: c}]}}
          - {name: d, template: mark, arguments: {parameters: [{name: m, value: d}]}}
    - name: mark
      inputs: {parameters: [{name: m}]}
      container: {image: busybox, command: [sh, -c, "sleep 0.4; echo {{inputs.parameters.m}} >> )" + marks + R"("]}
)");
  engine::RunOptions o;
  o.name = "four";
  ASSERT_TRUE(runner_->add(wf, {}, o).is_ok());
  for (int i = 0; i < 5; ++i) runner_->turn(20);  // one step runs, three wait for the slot
  ASSERT_EQ(executor_->running(), 1u);
  detached();  // a restart: the running step carries on, the others were never started
  auto rec = store_->get_workflow("default", "four");
  ASSERT_TRUE(rec.is_ok());
  ASSERT_TRUE(runner_->resume(*rec, wf, {}).is_ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  size_t most = 0;
  while (runner_->active() > 0 && std::chrono::steady_clock::now() < deadline) {
    runner_->turn(20);
    most = std::max(most, executor_->running());
  }
  EXPECT_EQ(most, 1u) << "the step limit held after the restart";
  auto done = store_->get_workflow("default", "four");
  ASSERT_TRUE(done.is_ok());
  EXPECT_EQ(done->phase, spec::WorkflowPhase::kSucceeded);
  std::ifstream in(marks);
  std::vector<std::string> ran{std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
  std::sort(ran.begin(), ran.end());
  EXPECT_EQ(ran, (std::vector<std::string>{"a", "b", "c", "d"})) << "each step ran exactly once";
  ::unlink(marks.c_str());
}

TEST_F(RunnerTest, AnIdleRunnerSleepsUntilItsNextTimer) {
  // Only a suspend: nothing runs, so the owner may sleep its whole wait (the runner spun a
  // core here, 300 turns in 3 s); with a timed suspend, until it is due.
  spec::Object wf = decode_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: waits}
spec:
  entrypoint: main
  templates:
    - {name: main, suspend: {}}
)");
  engine::RunOptions o;
  o.name = "waits";
  ASSERT_TRUE(runner_->add(wf, {}, o).is_ok());
  for (int i = 0; i < 3; ++i) runner_->turn(0);
  EXPECT_EQ(runner_->idle_ms(200), 200);
  spec::Object timed = decode_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: timed}
spec:
  entrypoint: main
  templates:
    - {name: main, suspend: {duration: "5"}}
)");
  o.name = "timed";
  ASSERT_TRUE(runner_->add(timed, {}, o).is_ok());
  for (int i = 0; i < 3; ++i) runner_->turn(0);
  int idle = runner_->idle_ms(60000);
  EXPECT_GT(idle, 3000);
  EXPECT_LE(idle, 5000);
}

}  // namespace skiff::server
