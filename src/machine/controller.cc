#include "machine/controller.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>

#include "machine/controller_internal.h"
#include "machine/workload.h"
#include "spec/decode.h"
#include "util/json_text.h"

namespace skiff::machine {

using runtime::check;
using runtime::check_exec;
using runtime::parse_probe;
using runtime::ProbeSpec;
using runtime::ProbeState;

using namespace internal;

namespace {

constexpr int kTickMs = 500;
constexpr size_t kMaxEvents = 1000;
constexpr const char* kRunPrefix = "_machine-";  // no workflow can be named so (not DNS)

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The container as the executor's decoder takes it: what only kubelet acts on removed.
Json step_container(Json c) {
  for (const char* field : {"ports", "readinessProbe", "livenessProbe", "startupProbe", "lifecycle",
                            "terminationMessagePath", "terminationMessagePolicy", "stdin", "stdinOnce", "tty"})
    c.erase(field);
  return c;
}

}  // namespace

// One Pod's container step, as the controller thread tracks it.
struct WorkloadController::Run {
  std::string namespace_, pod, uid;
  std::string node;        // the executor's node id of the current run ("" when none)
  bool starting = false;   // started, process not up yet
  bool running = false;    // process up
  bool done = false;       // ended for good (restartPolicy)
  bool deleting = false;   // its Pod is gone: killed, released once it ended
  std::string ip;
  int restarts = 0;        // restartCount
  int backoff_steps = 0;   // restarts since the last run that lasted 10 minutes
  int64_t started_ms = 0, pod_start_ms = 0;
  int64_t restart_at = 0;  // back-off: not before
  ContainerState last;     // the last run's end (exit code, reason), waiting reason
  std::optional<ProbeSpec> readiness, liveness;
  ProbeState ready_state, live_state;
  int64_t ready_since = -1;  // when it last became ready (-1: not ready)
  Json spec;               // the Pod's spec the run was started with
};

// The executor's "workflow" of a Pod's runs: one per Pod object (a Pod deleted and made again
// under its name, as a StatefulSet's are, gets a new one while the old one ends).
std::string WorkloadController::run_name(const Run& run) { return kRunPrefix + run.pod + "." + run.uid.substr(0, 8); }

WorkloadController::WorkloadController(MachineObjects& objects, std::shared_ptr<runtime::Executor> executor)
    : objects_(objects), executor_(std::move(executor)), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  probe_inbox_->wake = runtime::Fd(::fcntl(wake_.get(), F_DUPFD_CLOEXEC, 0));
  executor_->set_interrupt_fd(wake_.get());
  thread_ = std::thread([this] { loop(); });
}

WorkloadController::~WorkloadController() {
  stopping_ = true;
  poke();
  thread_.join();
}

void WorkloadController::poke() {
  uint64_t one = 1;
  (void)::write(wake_.get(), &one, sizeof one);
}

void WorkloadController::loop() {
  while (!stopping_) {
    std::vector<runtime::StepResult> results = executor_->wait(kTickMs);
    uint64_t drained;
    while (::read(wake_.get(), &drained, sizeof drained) > 0) {
    }
    int64_t now = now_ms();
    try {
      for (const auto& r : results) on_exit(r, now);
      for (const auto& s : executor_->take_started()) {
        auto node = nodes_.find(s.node_id);
        if (node == nodes_.end()) continue;
        Run& run = *runs_[node->second];
        run.starting = false;
        run.running = true;
        run.ip = s.ip;
        run.started_ms = now;
        run.last.waiting_reason.clear();
        run.ready_state.reset(now, false);
        run.live_state.reset(now, true);
        event(run, "Normal", "Pulled", "Container image is present on the machine", now);
        event(run, "Normal", "Started", "Started container", now);
      }
      take_probe_results(now);
      reconcile(now);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "skiff server: this machine's workload controller: %s\n", e.what());
    }
  }
  stop_all();
}

void WorkloadController::stop_all() {
  for (auto& [key, run] : runs_)
    if (run->starting || run->running) executor_->kill(run->node, "the server is stopping");
  for (int i = 0; i < 60 && executor_->running() > 0; ++i) executor_->wait(500);
  for (const std::string& key : proxy_.keys()) proxy_.withdraw(key);
}

void WorkloadController::reconcile(int64_t now) {
  track_readiness(now);
  reconcile_deployments(now);
  reconcile_replica_sets();
  reconcile_stateful_sets(now);
  reconcile_jobs(now);
  reconcile_pods(now);
  reconcile_services();
  for (const Json& pvc : objects_.list("PersistentVolumeClaim")) guarded(pvc, [&] {
    Json status = {{"phase", "Bound"},
                   {"accessModes", array_member(object_member(pvc, "spec"), "accessModes")},
                   {"capacity", object_member(object_member(object_member(pvc, "spec"), "resources"), "requests")}};
    (void)objects_.set_status(kube::ref_of(pvc), status);
  });
}

bool WorkloadController::ready(const std::string& ns, const std::string& pod) const {
  auto it = runs_.find(ns + "/" + pod);
  if (it == runs_.end()) return false;
  const Run& run = *it->second;
  return run.running && !run.deleting && (!run.readiness || run.ready_state.ok);
}

bool WorkloadController::available(const std::string& ns, const std::string& pod, int64_t min_ready_ms,
                                   int64_t now) const {
  auto it = runs_.find(ns + "/" + pod);  // ready_since is kept by track_readiness, first in each turn
  return it != runs_.end() && it->second->ready_since >= 0 && now - it->second->ready_since >= min_ready_ms;
}

void WorkloadController::track_readiness(int64_t now) {
  for (auto& [key, run] : runs_) {
    bool is_ready = ready(run->namespace_, run->pod);
    if (!is_ready) run->ready_since = -1;
    else if (run->ready_since < 0) run->ready_since = now;
  }
}

std::string WorkloadController::pod_ip(const std::string& ns, const std::string& pod) const {
  auto it = runs_.find(ns + "/" + pod);
  return it == runs_.end() ? "" : it->second->ip;
}

// --- Pods ------------------------------------------------------------------------------

void WorkloadController::reconcile_pods(int64_t now) {
  std::set<std::string> present;
  for (const Json& pod : objects_.list("Pod")) guarded(pod, [&] {
    std::string key = ns_of(pod) + "/" + name_of(pod);
    present.insert(key);
    auto& slot = runs_[key];
    if (slot && slot->uid != uid_of(pod)) {  // a new Pod of the same name: the old run goes
      slot->deleting = true;
      if (slot->starting || slot->running) executor_->kill(slot->node, "the pod was replaced");
      runs_[key + "#old-" + slot->uid] = std::move(slot);
    }
    if (!slot) {
      slot = std::make_unique<Run>();
      slot->namespace_ = ns_of(pod);
      slot->pod = name_of(pod);
      slot->uid = uid_of(pod);
      slot->pod_start_ms = now;
      // A Pod that ended for good before a restart is not run again.
      std::string phase = object_member(pod, "status").value("phase", "");
      if (phase == "Succeeded" || phase == "Failed") {
        slot->done = true;
        slot->last.terminated = true;
        slot->last.exit_code = phase == "Succeeded" ? 0 : 1;
        slot->last.terminated_reason = phase == "Succeeded" ? "Completed" : "Error";
      }
    }
    Run& run = *slot;
    const Json spec = object_member(pod, "spec");
    if (!run.starting && !run.running && !run.done && now >= run.restart_at) start(run, pod, now);
    if (run.running) probe(run, now);

    PodState state;
    state.ip = run.running ? run.ip : "";
    state.start_ms = run.pod_start_ms;
    state.phase = run.done ? (run.last.exit_code == 0 ? "Succeeded" : "Failed")
                           : (run.running || run.restarts > 0 ? "Running" : "Pending");
    bool first = true;
    for (const Json& c : array_member(spec, "containers")) {
      ContainerState cs = run.last;
      cs.name = c.value("name", "");
      cs.image = c.value("image", "");
      cs.running = run.running;
      cs.started_ms = run.started_ms;
      cs.restart_count = first ? run.restarts : 0;
      cs.ready = ready(run.namespace_, run.pod);
      if (!run.running && cs.waiting_reason.empty() && !run.done) cs.waiting_reason = "ContainerCreating";
      state.containers.push_back(cs);
      first = false;
    }
    (void)objects_.set_status(kube::ref_of(pod), pod_status(state));
  });
  for (auto it = runs_.begin(); it != runs_.end();) {
    Run& run = *it->second;
    if (!present.count(it->first) && !run.deleting) {
      run.deleting = true;
      if (run.starting || run.running) {
        event(run, "Normal", "Killing", "Stopping container", now);
        executor_->kill(run.node, "the pod was deleted");
      }
    }
    if (run.deleting && !run.starting && !run.running) {
      executor_->release_workflow(run.namespace_, run_name(run));
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto l = log_nodes_.begin(); l != log_nodes_.end();)
          l = l->second.first == run_name(run) ? log_nodes_.erase(l) : std::next(l);
      }
      nodes_.erase(run.node);
      it = runs_.erase(it);
      continue;
    }
    ++it;
  }
}

void WorkloadController::start(Run& run, const Json& pod, int64_t now) {
  const Json spec = object_member(pod, "spec");
  const Json containers = array_member(spec, "containers");
  auto fail = [&](const std::string& reason, const std::string& message) {
    run.last.waiting_reason = reason;
    run.last.waiting_message = message;
    run.restart_at = now + restart_backoff_ms(0);
  };
  if (containers.empty()) return fail("CreateContainerConfigError", "the pod has no containers");
  auto ctx = std::make_shared<runtime::WorkflowContext>();
  ctx->namespace_ = run.namespace_;
  ctx->name = run_name(run);
  for (const Json& s : array_member(spec, "imagePullSecrets"))
    if (s.is_object() && s.contains("name") && s["name"].is_string()) ctx->image_pull_secrets.push_back(s["name"]);
  if (Status s = executor_->open_workflow(ctx.get()); !s) return fail("CreateContainerError", s.message());
  Json tmpl = {{"name", "pod"}, {"container", step_container(containers[0])}};
  Json sidecars = Json::array();
  for (size_t i = 1; i < containers.size(); ++i) sidecars.push_back(step_container(containers[i]));
  if (!sidecars.empty()) tmpl["sidecars"] = sidecars;
  auto decoded = spec::decode_template_json(tmpl.dump(), {});
  if (!decoded) return fail("CreateContainerConfigError", decoded.status().message());
  runtime::StepRequest request;
  request.workflow = ctx;
  request.node_id = run.uid.substr(0, 8) + "-" + containers[0].value("name", "c") + "-" + std::to_string(run.restarts);
  request.pod_name = run.pod;
  request.tmpl = std::move(*decoded);
  for (const Json& v : array_member(spec, "volumes"))
    if (v.is_object()) request.volumes.push_back({v.value("name", ""), v.dump(), {}});
  run.readiness = parse_probe(containers[0], "readinessProbe");
  run.liveness = parse_probe(containers[0], "livenessProbe");
  run.node = request.node_id;
  run.spec = spec;
  run.starting = true;
  nodes_[run.node] = run.namespace_ + "/" + run.pod;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Json& c : containers)
      log_nodes_[run.namespace_ + "/" + run.pod + "/" + c.value("name", "")] = {run_name(run), run.node};
  }
  executor_->start(std::move(request));
}

void WorkloadController::on_exit(const runtime::StepResult& result, int64_t now) {
  auto node = nodes_.find(result.node_id);
  if (node == nodes_.end()) return;
  auto it = runs_.find(node->second);
  if (it == runs_.end() || it->second->node != result.node_id) {
    // A replaced run (same pod name, new uid) kept under its own key.
    for (auto& [key, r] : runs_)
      if (r->node == result.node_id) it = runs_.find(key);
    if (it == runs_.end() || it->second->node != result.node_id) return;
  }
  Run& run = *it->second;
  nodes_.erase(node);
  bool was_up = run.running;
  run.starting = run.running = false;
  if (run.deleting) return;
  const Json policy_field = run.spec.is_object() && run.spec.contains("restartPolicy") ? run.spec["restartPolicy"] : Json();
  std::string policy = policy_field.is_string() ? policy_field.get<std::string>() : "Always";
  if (result.error && !was_up) {
    // Could not start (an image pull, a volume): back off as kubelet does, no restart counted.
    run.last.waiting_reason = result.message.find("pull") != std::string::npos ? "ImagePullBackOff" : "CreateContainerError";
    run.last.waiting_message = result.message;
    run.restart_at = now + restart_backoff_ms(0);
    event(run, "Warning", "Failed", result.message, now);
    return;
  }
  run.last.terminated = true;
  run.last.exit_code = result.exit_code;
  run.last.terminated_reason = result.reason == "OOMKilled"            ? "OOMKilled"
                               : result.exit_code == 0                   ? "Completed"
                                                                         : "Error";
  bool again = policy == "Always" || (policy == "OnFailure" && result.exit_code != 0);
  if (!again) {
    run.done = true;
    run.last.waiting_reason.clear();
    return;
  }
  // Back-off restarts from 10 s; a run that lasted 10 minutes resets it (kubelet's rule).
  if (now - run.started_ms > 600'000) run.backoff_steps = 0;
  run.restart_at = now + restart_backoff_ms(run.backoff_steps);
  ++run.backoff_steps;
  ++run.restarts;
  run.last.waiting_reason = "CrashLoopBackOff";
  run.last.waiting_message = "back-off " + std::to_string(restart_backoff_ms(run.backoff_steps - 1) / 1000) +
                             "s restarting failed container of pod " + run.pod;
  event(run, "Warning", "BackOff", run.last.waiting_message, now);
}

// --- probes ----------------------------------------------------------------------------

void WorkloadController::probe(Run& run, int64_t now) {
  std::string key = run.namespace_ + "/" + run.pod;
  for (bool liveness : {false, true}) {
    const std::optional<ProbeSpec>& spec = liveness ? run.liveness : run.readiness;
    ProbeState& state = liveness ? run.live_state : run.ready_state;
    if (!spec || run.ip.empty() || !state.due(*spec, now)) continue;
    state.in_flight = true;
    // An exec probe's command line comes from the executor (this thread's); it runs there.
    std::vector<std::string> argv;
    if (spec->kind == ProbeSpec::Kind::kExec) {
      auto command = executor_->exec_command(run.node, spec->command);
      if (command) argv = std::move(*command);
    }
    // The inbox outlives this controller if a probe is still waiting when it stops.
    std::thread([inbox = probe_inbox_, key, node = run.node, liveness, spec = *spec, ip = run.ip, argv] {
      bool passed = spec.kind == ProbeSpec::Kind::kExec ? !argv.empty() && check_exec(spec, argv) : check(spec, ip);
      std::lock_guard<std::mutex> lock(inbox->mu);
      inbox->results.push_back({key, node, liveness, passed});
      uint64_t one = 1;
      (void)::write(inbox->wake.get(), &one, sizeof one);
    }).detach();
  }
}

void WorkloadController::take_probe_results(int64_t now) {
  std::vector<ProbeResult> results;
  {
    std::lock_guard<std::mutex> lock(probe_inbox_->mu);
    results.swap(probe_inbox_->results);
  }
  for (const ProbeResult& r : results) {
    auto it = runs_.find(r.pod_key);
    if (it == runs_.end() || it->second->node != r.node || !it->second->running) continue;
    Run& run = *it->second;
    const ProbeSpec& spec = r.liveness ? *run.liveness : *run.readiness;
    ProbeState& state = r.liveness ? run.live_state : run.ready_state;
    state.record(spec, r.passed, now);
    if (!r.passed)
      event(run, "Warning", "Unhealthy",
            std::string(r.liveness ? "Liveness" : "Readiness") + " probe failed" +
                (spec.kind == ProbeSpec::Kind::kExec ? ": command failed" : " on port " + std::to_string(spec.port)),
            now);
    if (r.liveness && !state.ok) {
      event(run, "Normal", "Killing", "Container failed liveness probe, will be restarted", now);
      executor_->kill(run.node, "liveness probe failed");
    }
  }
}

// --- logs and events -------------------------------------------------------------------

void WorkloadController::event(const Run& run, const char* type, const std::string& reason, const std::string& message,
                               int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!events_.empty()) {
    MachineEvent& last = events_.back();
    if (last.namespace_ == run.namespace_ && last.pod == run.pod && last.reason == reason && last.message == message) {
      ++last.count;
      last.last_ms = now;
      return;
    }
  }
  events_.push_back({run.namespace_, run.pod, type, reason, message, now, now, 1});
  if (events_.size() > kMaxEvents) events_.pop_front();
}

std::vector<MachineEvent> WorkloadController::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {events_.begin(), events_.end()};
}

Result<runtime::LogChunk> WorkloadController::read_log(const std::string& ns, const std::string& pod,
                                                       const std::string& container, uint64_t offset, size_t max) const {
  std::pair<std::string, std::string> where;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = log_nodes_.find(ns + "/" + pod + "/" + container);
    if (it == log_nodes_.end()) return not_found("container " + container + " of pod " + ns + "/" + pod + " has no log");
    where = it->second;
  }
  return executor_->read_log({ns, where.first, where.second}, offset, max);
}

}  // namespace skiff::machine
