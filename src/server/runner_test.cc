// The Runner over a SQLite store and the fake executor (no processes), on a manual clock
// that the executor's waits move on; adoption after a restart with the real host executor.
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

#include "runtime/fake_executor.h"
#include "runtime/fd.h"
#include "runtime/host_executor.h"
#include "runtime/pod_support.h"
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

// Time that passes only when the fake executor waits.
class ManualClock final : public engine::Clock {
 public:
  int64_t now_ms() const override { return now_; }
  void set(int64_t ms) { now_ = std::max(now_, ms); }

 private:
  int64_t now_ = 1700000000000;
};

// What the test workflows' commands would do: `echo X` prints X, `sh -c "exit N"` exits N,
// `sleep S` takes S seconds.
runtime::FakeStep like_a_shell(const runtime::StepRequest& request) {
  runtime::FakeStep step;
  const std::vector<std::string>& argv = request.tmpl.container->command;
  if (argv.size() == 2 && argv[0] == "echo") step.stdout_text = argv[1] + "\n";
  if (argv.size() == 3 && argv[2].rfind("exit ", 0) == 0) step.exit_code = std::stoi(argv[2].substr(5));
  if (argv.size() == 2 && argv[0] == "sleep") step.duration_ms = static_cast<int64_t>(std::stod(argv[1]) * 1000);
  return step;
}

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
    runtime::FakeOptions options;
    options.script = like_a_shell;
    options.now_ms = [this] { return clock_.now_ms(); };
    options.sleep_until = [this](int64_t ms) { clock_.set(ms); };
    executor_ = runtime::make_fake_executor(std::move(options));
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
  ManualClock clock_;
  std::unique_ptr<runtime::Executor> executor_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Runner> runner_;
};

// Pod-level fields the executor ignores are Argo's SpecWarning condition in the stored
// status; one it refuses keeps the workflow from starting.
TEST_F(RunnerTest, IgnoredPodFieldsAreASpecWarningAndRefusedOnesAnError) {
  runner_->set_pod_support(runtime::pod_field_support("host"));
  spec::Object wf = decode_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: scheduled}
spec:
  entrypoint: main
  nodeSelector: {disk: ssd}
  templates:
    - name: main
      tolerations: [{key: gpu, operator: Exists}]
      container: {image: busybox, command: [echo, hi]}
)");
  ASSERT_TRUE(runner_->add(wf, {}, {}).is_ok());
  run_all();
  auto rec = store_->get_workflow("default", "scheduled");
  ASSERT_TRUE(rec.is_ok()) << rec.status().message();
  auto status = nlohmann::json::parse(rec->status);
  EXPECT_EQ(status["phase"], "Succeeded");
  ASSERT_EQ(status["conditions"].size(), 1u) << rec->status;
  EXPECT_EQ(status["conditions"][0]["type"], "SpecWarning");
  EXPECT_EQ(status["conditions"][0]["status"], "True");
  EXPECT_EQ(status["conditions"][0]["message"],
            "spec.nodeSelector: ignored by the host executor: steps run on this machine, not as Kubernetes Pods, "
            "and run without it, spec.templates[0].tolerations: ignored by the host executor: steps run on this "
            "machine, not as Kubernetes Pods, and run without it");

  spec::Object patched = decode_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: patched}
spec:
  entrypoint: main
  podSpecPatch: '{"containers":[{"name":"main"}]}'
  templates: [{name: main, container: {image: busybox, command: [true]}}]
)");
  runner_->set_pod_support({"host", {}, {"podSpecPatch"}});  // a policy that refuses it
  auto added = runner_->add(patched, {}, {});
  ASSERT_FALSE(added.is_ok());
  EXPECT_EQ(added.status().code(), Code::kInvalid);
  EXPECT_NE(added.status().message().find("spec.podSpecPatch: the host executor cannot apply podSpecPatch"),
            std::string::npos)
      << added.status().message();
  EXPECT_FALSE(store_->get_workflow("default", "patched").is_ok());
}

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

// Deleting a running workflow tells its steps at once, not on the runner's next turn: a
// server stopped right after the delete would leave them running, and the next server
// would find no record of them.
TEST_F(RunnerTest, DeletingARunningWorkflowKillsItsStepsAtOnce) {
  spec::Object wf = decode_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: long}
spec:
  entrypoint: nap
  templates:
    - name: nap
      container: {image: busybox, command: [sleep, "600"]}
)");
  ASSERT_TRUE(runner_->add(wf, {}, {}).is_ok());
  for (int i = 0; i < 5 && executor_->running() == 0; ++i) runner_->turn(0);
  ASSERT_EQ(executor_->running(), 1u);
  ASSERT_TRUE(runner_->remove("default", "long").is_ok());
  auto ended = executor_->wait(0);  // no turn in between
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].message, "workflow deleted");
}

// A real supervisor's step outlives its executor (as under skiff server) and is adopted.
TEST_F(RunnerTest, AResumedRunKeepsTheStepLimit) {
  WallClock wall;
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
    runner_ = std::make_unique<Runner>(*executor_, *store_, wall, dir_);
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
  runner_.reset();  // before `wall`
}

// On the real executor: a workflow deleted and submitted again under its name gets its
// directory back (the executor remembered it as made, and its steps could not be recorded).
TEST_F(RunnerTest, AWorkflowDeletedAndSubmittedAgainRuns) {
  WallClock wall;
  runner_.reset();
  runtime::ExecutorOptions options;
  options.run_dir = dir_ + "/executor";
  options.data_dir = dir_;
  auto ex = runtime::make_host_executor(options);
  ASSERT_TRUE(ex.is_ok()) << ex.status().message();
  executor_ = std::move(*ex);
  runner_ = std::make_unique<Runner>(*executor_, *store_, wall, dir_);
  spec::Object wf = decode_one(kDiamond);
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(runner_->add(wf, {}, {}).is_ok());
    run_all();
    auto rec = store_->get_workflow("default", "diamond");
    ASSERT_TRUE(rec.is_ok());
    EXPECT_EQ(rec->phase, spec::WorkflowPhase::kSucceeded) << "round " << round << ": " << rec->status;
    ASSERT_TRUE(runner_->remove("default", "diamond").is_ok());
  }
  runner_.reset();  // before `wall`
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

// What `skiff run` does: one workflow over a store in memory, watched from its first change
// on, its operator kept after the runner lets go of it.
TEST_F(RunnerTest, AWatcherSeesEveryChangeAndKeepsTheOperator) {
  auto memory = store::Store::open("sqlite::memory:");
  ASSERT_TRUE(memory.is_ok()) << memory.status().message();
  Runner runner(*executor_, **memory, clock_, dir_);
  runner.set_space_reserve(false);
  struct Seen final : engine::Observer {
    void node_changed(const engine::Node& n) override { nodes.push_back(n.name + " " + engine::phase_name(n.phase)); }
    void workflow_changed(const engine::WorkflowStatus& st) override { phases.push_back(engine::workflow_phase_name(st.phase)); }
    std::vector<std::string> nodes, phases;
    const engine::Operator* op = nullptr;
  } seen;
  auto record = runner.add(decode_one(kDiamond), {}, {}, [&](const engine::Operator& op) {
    seen.op = &op;
    EXPECT_TRUE(op.status().nodes.empty()) << "the watch comes before the run starts";
    return &seen;
  });
  ASSERT_TRUE(record.is_ok()) << record.status().message();
  std::shared_ptr<const engine::Operator> op = runner.operator_of(record->uid);
  ASSERT_EQ(op.get(), seen.op);
  EXPECT_EQ(runner.operator_of("no-such-uid"), nullptr);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (runner.active() > 0 && std::chrono::steady_clock::now() < deadline) runner.turn(100);
  ASSERT_EQ(runner.active(), 0u);
  EXPECT_EQ(runner.operator_of(record->uid), nullptr) << "the runner let go of the finished run";
  EXPECT_EQ(op->status().phase, engine::WorkflowPhase::kSucceeded);  // still ours to read
  EXPECT_EQ(op->status().nodes.size(), 4u);
  ASSERT_FALSE(seen.nodes.empty());
  EXPECT_EQ(seen.nodes.front(), "diamond Running");  // the root, made by start()
  EXPECT_EQ(seen.nodes.back(), "diamond Succeeded");
  EXPECT_EQ(seen.phases.back(), "Succeeded");
  EXPECT_EQ((*memory)->get_workflow("default", "diamond")->phase, spec::WorkflowPhase::kSucceeded);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/.space-reserve"));
}

// A workflow that waits only for a resume stalls the runner (`skiff run` ends there); a
// running step or a timer does not.
TEST_F(RunnerTest, OnlyAResumeMovesAStalledRunner) {
  spec::Object wf = decode_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: approval}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: approve, template: approve}
          - {name: build, template: build}
          - {name: deploy, template: build, dependencies: [approve]}
    - {name: approve, suspend: {}}
    - name: build
      container: {image: busybox, command: [sleep, "0.3"]}
)");
  ASSERT_TRUE(runner_->add(wf, {}, {}).is_ok());
  EXPECT_FALSE(runner_->stalled()) << "its first turn is still to come";
  runner_->turn(0);
  EXPECT_FALSE(runner_->stalled()) << "build is running";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!runner_->stalled() && std::chrono::steady_clock::now() < deadline) runner_->turn(100);
  ASSERT_TRUE(runner_->stalled());
  EXPECT_EQ(runner_->active(), 1u);
  ASSERT_TRUE(runner_->resume("default", "approval", "").is_ok());
  runner_->turn(0);
  EXPECT_FALSE(runner_->stalled()) << "deploy is running";
  run_all();
  EXPECT_EQ(store_->get_workflow("default", "approval")->phase, spec::WorkflowPhase::kSucceeded);

  spec::Object timed = decode_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: timed}
spec:
  entrypoint: main
  templates:
    - {name: main, suspend: {duration: "60"}}
)");
  ASSERT_TRUE(runner_->add(timed, {}, {}).is_ok());
  for (int i = 0; i < 3; ++i) runner_->turn(0);
  EXPECT_FALSE(runner_->stalled()) << "its timer will move it on";
}

}  // namespace
}  // namespace skiff::server
