// What every Executor does, checked against each (as store_test.cc is over SQLite and
// PostgreSQL): the host sandbox, runc containers and the fake. The container executor needs
// root, runc and a registry with busybox: ctest's executor-container entry starts one
// (tests/registry/registry.py) and names it in SKIFF_TEST_REGISTRY; without it that
// parameter is skipped.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <thread>

#include "runtime/container_executor.h"
#include "runtime/fake_executor.h"
#include "runtime/fd.h"
#include "runtime/host_executor.h"

namespace skiff::runtime {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kManySteps = 24;

// The fake, scripted to do what this suite's templates do on the others.
FakeStep as_the_suite_asks(const StepRequest& r) {
  FakeStep s;
  const std::string& t = r.tmpl.name;
  if (t == "exits") s.exit_code = 3;
  if (t == "prints") s.stdout_text = "one\ntwo\n";
  if (t == "outputs") s.output_parameters = {{"p", "v1"}};
  if (t == "follows") s.stdout_text = "first\nsecond\n", s.duration_ms = 300;
  if (t == "sleeps") s.duration_ms = -1;
  if (t == "many") s.stdout_text = r.pod_name + "\n";
  if (t == "explains") s.exit_code = 4, s.termination_message = "no space left";
  if (t == "falls-back") s.exit_code = 5, s.termination_message = "two\nthree\n";
  if (t == "succeeds") s.termination_message = "fine";
  if (t == "unstartable") s.start_error = "secret \"no-such-secret\" not found in namespace conformance";
  return s;
}

Result<std::unique_ptr<Executor>> make(const std::string& kind, const std::string& dir) {
  ExecutorOptions options;
  options.run_dir = dir + "/executor";
  options.data_dir = dir;
  options.kill_grace_ms = 2000;
  if (kind == "host") return make_host_executor(options);
  if (kind == "fake") {
    FakeOptions fake;
    fake.script = as_the_suite_asks;
    return make_fake_executor(std::move(fake));
  }
  const char* registry = std::getenv("SKIFF_TEST_REGISTRY");
  if (!registry) return Status(Code::kUnavailable, "no test registry (SKIFF_TEST_REGISTRY): run ctest -R executor-container");
  ContainerOptions container;
  if (Status s = load_registries_file(&container.registry, std::string(registry) + "/registries.yaml"); !s) return s;
  if (Status s = load_docker_config(&container.registry, std::string(registry) + "/config.json"); !s) return s;
  if (Status s = probe_containers(container); !s) return Status(Code::kUnavailable, "containers: " + s.message());
  return make_container_executor(options, container);
}

class ExecutorConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // Not under /tmp: a step's private /tmp hides it, and a server's data is not there.
    char tmpl[] = "/var/tmp/skiff-conformance-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto ex = make(GetParam(), dir_);
    if (!ex) GTEST_SKIP() << ex.status().message();
    ex_ = std::move(*ex);
    WorkflowContext wf = workflow_context(spec::WorkflowSpec{}, "conformance", "wf");
    ASSERT_TRUE(ex_->open_workflow(&wf).is_ok());
    workflow_ = std::make_shared<const WorkflowContext>(std::move(wf));
  }
  void TearDown() override {
    ex_.reset();
    while (::umount2((dir_ + "/executor/steps").c_str(), MNT_DETACH) == 0) {
    }
    remove_tree(dir_);
  }

  StepRequest step(const std::string& id, const std::string& tmpl, const std::string& script) {
    StepRequest r;
    r.workflow = workflow_;
    r.node_id = "uid/" + id;
    r.pod_name = id;
    r.tmpl.name = tmpl;
    r.tmpl.type = spec::TemplateType::kContainer;
    r.tmpl.container.emplace();
    r.tmpl.container->image = "busybox";
    r.tmpl.container->command = {"sh", "-c", script};
    return r;
  }
  LogRef log_of(const std::string& id) const { return {"conformance", "wf", "uid/" + id}; }

  // Drives the executor until step `id` ends (image pulls included).
  StepResult wait_for(const std::string& id, int timeout_ms = 60000) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      if (auto it = ended_.find("uid/" + id); it != ended_.end()) return it->second;
      pump();
    }
    ADD_FAILURE() << "step " << id << " did not end";
    StepResult none;
    none.exit_code = -999;
    return none;
  }
  StepResult run(StepRequest r) {
    std::string id = r.pod_name;
    ex_->start(std::move(r));
    return wait_for(id);
  }
  void pump() {
    for (auto& r : ex_->wait(50)) ended_[r.node_id] = std::move(r);
    for (auto& s : ex_->take_started()) started_[s.node_id] = s.ip;
  }

  std::string dir_;
  std::unique_ptr<Executor> ex_;
  std::shared_ptr<const WorkflowContext> workflow_;
  std::map<std::string, StepResult> ended_;
  std::map<std::string, std::string> started_;  // node -> ip
};

TEST_P(ExecutorConformance, ExitCodeIsTheSteps) {
  StepResult r = run(step("exits", "exits", "exit 3"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.error) << r.message;
  EXPECT_EQ(ex_->running(), 0u);
}

// terminationMessagePath: the file's text as written, whoever the step runs as.
TEST_P(ExecutorConformance, TerminationMessageIsReadAfterTheExit) {
  StepRequest req = step("explains", "explains", "printf 'no space left' > /dev/termination-log; exit 4");
  req.tmpl.container->security_context_json = R"({"runAsUser": 1000})";
  StepResult r = run(std::move(req));
  EXPECT_EQ(r.exit_code, 4) << r.message;
  EXPECT_EQ(r.termination_message, "no space left");
  StepResult ok = run(step("succeeds", "succeeds", "printf fine > /dev/termination-log"));
  EXPECT_EQ(ok.exit_code, 0) << ok.message;
  EXPECT_EQ(ok.termination_message, "fine");
}

// FallbackToLogsOnError with an empty file: the log's tail, both streams (in the order they
// were read: two pipes say nothing of the order between them).
TEST_P(ExecutorConformance, TerminationMessageFallsBackToTheLog) {
  StepRequest req = step("falls-back", "falls-back", "echo two; echo three >&2; exit 5");
  req.tmpl.container->termination_message_policy = "FallbackToLogsOnError";
  StepResult r = run(std::move(req));
  EXPECT_EQ(r.exit_code, 5) << r.message;
  EXPECT_EQ(r.termination_message.size(), 10u) << r.termination_message;
  EXPECT_NE(r.termination_message.find("two\n"), std::string::npos) << r.termination_message;
  EXPECT_NE(r.termination_message.find("three\n"), std::string::npos) << r.termination_message;
}

TEST_P(ExecutorConformance, StdoutIsTheResult) {
  StepResult r = run(step("prints", "prints", "echo one; echo two"));
  EXPECT_EQ(r.exit_code, 0) << r.message;
  EXPECT_EQ(r.stdout_text, "one\ntwo\n");
}

TEST_P(ExecutorConformance, OutputParametersAreRead) {
  StepRequest req = step("outputs", "outputs", "printf v1 > /tmp/p");
  spec::Parameter p;
  p.name = "p";
  p.value_from.emplace();
  p.value_from->path = "/tmp/p";
  req.tmpl.outputs.parameters.push_back(p);
  StepResult r = run(std::move(req));
  EXPECT_EQ(r.exit_code, 0) << r.message;
  EXPECT_EQ(r.output_parameters["p"], "v1");
}

// A reader on another thread (as the server's HTTP threads are) follows the log from its
// offset while the run loop drives the executor, until the log says it is complete.
TEST_P(ExecutorConformance, LogIsFollowedFromAnOffset) {
  ex_->start(step("follows", "follows", "echo first; sleep 0.3; echo second"));
  std::string seen;
  bool saw_more = false, complete = false;
  std::thread reader([&] {
    auto deadline = Clock::now() + std::chrono::seconds(60);
    while (!complete && Clock::now() < deadline) {
      auto chunk = ex_->read_log(log_of("follows"), seen.size(), 4);  // small reads: offsets matter
      if (chunk) {
        seen += chunk->data;
        if (chunk->more) saw_more = true;
        complete = !chunk->more && chunk->data.empty();
      }
      if (!chunk || chunk->data.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  StepResult r = wait_for("follows");
  reader.join();
  EXPECT_EQ(r.exit_code, 0) << r.message;
  EXPECT_TRUE(saw_more) << "the running step's log said it could still grow";
  EXPECT_TRUE(complete) << "the ended step's log said it was complete";
  EXPECT_EQ(seen, "first\nsecond\n");
  auto tail = ex_->read_log(log_of("follows"), 6, 1 << 20);
  ASSERT_TRUE(tail.is_ok()) << tail.status().message();
  EXPECT_EQ(tail->data, "second\n");
  EXPECT_FALSE(tail->more);
  EXPECT_EQ(ex_->read_log(log_of("never-ran"), 0, 100).status().code(), Code::kNotFound);
}

// A server restarted after a workflow ended still serves its steps' logs.
TEST_P(ExecutorConformance, LogsOutliveTheExecutor) {
  if (GetParam() == "fake") GTEST_SKIP() << "the fake keeps logs in memory";
  ASSERT_EQ(run(step("prints", "prints", "echo one; echo two")).exit_code, 0);
  ex_.reset();
  auto again = make(GetParam(), dir_);
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  ex_ = std::move(*again);
  auto log = ex_->read_log(log_of("prints"), 0, 1 << 20);
  ASSERT_TRUE(log.is_ok()) << log.status().message();
  EXPECT_EQ(log->data, "one\ntwo\n");
  EXPECT_FALSE(log->more);
}

TEST_P(ExecutorConformance, KillEndsTheStepWithTheReason) {
  ex_->start(step("sleeps", "sleeps", "sleep 60"));
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!started_.count("uid/sleeps") && Clock::now() < deadline) pump();
  ASSERT_TRUE(started_.count("uid/sleeps"));
  ex_->kill("uid/sleeps", "stopped by test");
  StepResult r = wait_for("sleeps", 20000);
  EXPECT_EQ(r.message, "stopped by test");
  EXPECT_NE(r.exit_code, 0);
}

TEST_P(ExecutorConformance, AStartedStepHasAnAddress) {
  StepResult r = run(step("up", "up", "true"));
  EXPECT_EQ(r.exit_code, 0) << r.message;
  pump();
  ASSERT_TRUE(started_.count("uid/up"));
  EXPECT_FALSE(started_["uid/up"].empty());
}

TEST_P(ExecutorConformance, ReleaseRemovesTheWorkflowsFiles) {
  StepResult r = run(step("prints", "prints", "echo one; echo two"));
  ASSERT_EQ(r.exit_code, 0) << r.message;
  ASSERT_TRUE(ex_->read_log(log_of("prints"), 0, 100).is_ok());
  ex_->release_workflow("conformance", "wf");
  EXPECT_EQ(ex_->read_log(log_of("prints"), 0, 100).status().code(), Code::kNotFound);
  struct stat st;
  if (workflow_->run_dir[0] == '/') {
    EXPECT_NE(::stat(workflow_->run_dir.c_str(), &st), 0) << workflow_->run_dir;
  }
  // Open again, it is a new, empty place.
  WorkflowContext again = *workflow_;
  ASSERT_TRUE(ex_->open_workflow(&again).is_ok());
  EXPECT_EQ(run(step("again", "prints", "echo one; echo two")).stdout_text, "one\ntwo\n");
}

TEST_P(ExecutorConformance, ManyStepsRunAtOnce) {
  for (int i = 0; i < kManySteps; ++i) {
    std::string id = "many-" + std::to_string(i);
    ex_->start(step(id, "many", "echo " + id));
  }
  EXPECT_EQ(ex_->running(), static_cast<size_t>(kManySteps));
  for (int i = 0; i < kManySteps; ++i) {
    std::string id = "many-" + std::to_string(i);
    StepResult r = wait_for(id);
    EXPECT_EQ(r.exit_code, 0) << id << ": " << r.message;
    EXPECT_EQ(r.stdout_text, id + "\n");
  }
  EXPECT_EQ(ex_->running(), 0u);
}

TEST_P(ExecutorConformance, AStepThatCannotStartIsAnError) {
  StepRequest req = step("unstartable", "unstartable", "true");
  req.volumes.push_back({"s", R"({"name":"s","secret":{"secretName":"no-such-secret"}})", {}});
  req.tmpl.container->volume_mounts.push_back({"s", "/s", "", true});
  StepResult r = run(std::move(req));
  EXPECT_TRUE(r.error);
  EXPECT_NE(r.message.find("no-such-secret"), std::string::npos) << r.message;
  pump();
  EXPECT_FALSE(started_.count("uid/unstartable"));
  auto log = ex_->read_log(log_of("unstartable"), 0, 1 << 20);
  ASSERT_TRUE(log.is_ok()) << log.status().message();
  EXPECT_NE(log->data.find("no-such-secret"), std::string::npos) << log->data;
  EXPECT_FALSE(log->more);
}

// A daemon step is reported started (ready) only once its readinessProbe passed: here an
// exec probe, run inside the step, finds a file the step writes after half a second.
TEST_P(ExecutorConformance, ADaemonIsReadyOnceItsExecProbePasses) {
  if (GetParam() == "fake") GTEST_SKIP() << "the fake runs no probes";
  StepRequest req = step("daemon", "daemon", "sleep 0.5; touch /tmp/ready; sleep 60");
  req.tmpl.daemon = true;
  req.tmpl.container->readiness_probe_json = R"({"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1})";
  auto begin = Clock::now();
  ex_->start(std::move(req));
  auto deadline = begin + std::chrono::seconds(60);
  while (!started_.count("uid/daemon") && !ended_.count("uid/daemon") && Clock::now() < deadline) pump();
  ASSERT_TRUE(started_.count("uid/daemon")) << ended_["uid/daemon"].message;
  EXPECT_GE(Clock::now() - begin, std::chrono::milliseconds(500));
  ex_->kill("uid/daemon", "scope ended");
  EXPECT_EQ(wait_for("daemon", 20000).message, "scope ended");
}

// An httpGet probe goes to the step's address (its bridge address in a container).
TEST_P(ExecutorConformance, ADaemonIsReadyOnceItsHttpProbePasses) {
  if (GetParam() == "fake") GTEST_SKIP() << "the fake runs no probes";
  StepRequest req = step("web", "web", "mkdir -p /tmp/w; echo hi > /tmp/w/ok; sleep 0.5; exec busybox httpd -f -p 18751 -h /tmp/w");
  req.tmpl.daemon = true;
  req.tmpl.container->readiness_probe_json = R"({"httpGet": {"path": "/ok", "port": "web"}, "periodSeconds": 1})";
  req.tmpl.container->ports_json = R"([{"name": "web", "containerPort": 18751}])";
  auto begin = Clock::now();
  ex_->start(std::move(req));
  auto deadline = begin + std::chrono::seconds(60);
  while (!started_.count("uid/web") && !ended_.count("uid/web") && Clock::now() < deadline) pump();
  ASSERT_TRUE(started_.count("uid/web")) << ended_["uid/web"].message;
  EXPECT_GE(Clock::now() - begin, std::chrono::milliseconds(500));
  ex_->kill("uid/web", "scope ended");
  wait_for("web", 20000);
}

// A daemon whose command cannot be executed is never ready: it ends as any step would.
TEST_P(ExecutorConformance, ADaemonThatCannotExecIsNeverReady) {
  if (GetParam() == "fake") GTEST_SKIP() << "the fake runs no processes";
  StepRequest req = step("missing", "missing", "");
  req.tmpl.daemon = true;
  req.tmpl.container->command = {"no-such-daemon-binary"};
  StepResult r = run(std::move(req));
  pump();
  EXPECT_FALSE(started_.count("uid/missing"));
  EXPECT_NE(r.message.find("no-such-daemon-binary"), std::string::npos) << r.message;
}

// A probe skiff cannot run is an error before the step starts, saying what is wrong.
TEST_P(ExecutorConformance, ADaemonsUnusableProbeIsAnError) {
  if (GetParam() == "fake") GTEST_SKIP() << "the fake runs no probes";
  StepRequest req = step("badprobe", "badprobe", "sleep 60");
  req.tmpl.daemon = true;
  req.tmpl.container->readiness_probe_json = R"({"tcpSocket": {"port": "nope"}})";
  StepResult r = run(std::move(req));
  EXPECT_TRUE(r.error);
  EXPECT_NE(r.message.find("readinessProbe.tcpSocket.port"), std::string::npos) << r.message;
}

INSTANTIATE_TEST_SUITE_P(Executors, ExecutorConformance, ::testing::Values("host", "container", "fake"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace skiff::runtime
