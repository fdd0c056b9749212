#include "machine/controller.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>

#include "machine/workload.h"
#include "spec/decode.h"
#include "util/json_text.h"

namespace skiff::machine {
namespace {

using Json = nlohmann::json;

constexpr int kTickMs = 500;
constexpr size_t kMaxEvents = 1000;
constexpr const char* kRunPrefix = "_machine-";  // no workflow can be named so (not DNS)

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string name_of(const Json& o) { return object_member(o, "metadata").value("name", ""); }
std::string ns_of(const Json& o) { return object_member(o, "metadata").value("namespace", ""); }
std::string uid_of(const Json& o) { return object_member(o, "metadata").value("uid", ""); }

// Runs `fn` on one object: a field of an unexpected type (nlohmann throws) skips that
// object, said once, and never stops the others.
template <class Fn>
void guarded(const Json& object, const Fn& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    static std::set<std::string> told;  // the controller thread's only
    std::string what = object.value("kind", "") + " " + ns_of(object) + "/" + name_of(object) + ": " + e.what();
    if (told.size() < 1000 && told.insert(what).second)
      std::fprintf(stderr, "skiff server: this machine cannot handle %s\n", what.c_str());
  }
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

// --- Deployments and ReplicaSets -------------------------------------------------------

void WorkloadController::reconcile_deployments(int64_t now) {
  std::vector<Json> sets = objects_.list("ReplicaSet");
  std::vector<Json> pods = objects_.list("Pod");
  for (const Json& d : objects_.list("Deployment")) guarded(d, [&] {
    const Json spec = object_member(d, "spec");
    std::string hash = pod_template_hash(object_member(spec, "template"));
    std::string current = name_of(d) + "-" + hash;
    RolloutInput in;
    in.desired = spec.value("replicas", 1);
    const Json strategy = object_member(spec, "strategy");
    in.recreate = strategy.value("type", "") == "Recreate";
    in.rolling_update = object_member(strategy, "rollingUpdate");
    bool have_current = false;
    std::vector<Json> owned;
    for (const Json& rs : sets)
      if (ns_of(rs) == ns_of(d) && owned_by(rs, uid_of(d))) owned.push_back(rs);
    for (const Json& rs : owned) {
      ReplicaSetState state;
      state.name = name_of(rs);
      state.replicas = object_member(rs, "spec").value("replicas", 0);
      for (const Json& p : pods) {
        if (ns_of(p) != ns_of(d) || !owned_by(p, uid_of(rs))) continue;
        ++state.pods;
        if (ready(ns_of(p), name_of(p))) ++state.ready;
      }
      if (state.name == current) {
        in.current = state;
        have_current = true;
      } else {
        in.old.push_back(state);
      }
    }
    if (!have_current) {
      auto made = objects_.create(make_replica_set(d, hash), ns_of(d));
      if (!made && made.status().code() != Code::kAlreadyExists) {
        std::fprintf(stderr, "skiff server: deployment %s/%s: %s\n", ns_of(d).c_str(), name_of(d).c_str(),
                     made.status().message().c_str());
        return;
      }
      in.current.name = current;
    }
    for (const auto& [name, replicas] : plan_rollout(in)) {
      const ReplicaSetState* state = name == current ? &in.current : nullptr;
      for (const auto& o : in.old)
        if (o.name == name) state = &o;
      if (state && state->replicas == replicas && (name != current || have_current)) continue;
      kube::ObjectRef rs{"apps/v1", "ReplicaSet", ns_of(d), name};
      (void)objects_.patch(rs, ns_of(d), kube::PatchType::kMerge, Json{{"spec", {{"replicas", replicas}}}}.dump());
    }
    DeploymentCounts counts;
    counts.replicas = in.current.pods;
    counts.updated = in.current.pods;
    counts.ready = counts.available = in.current.ready;
    for (const auto& o : in.old) {
      counts.replicas += o.pods;
      counts.ready += o.ready;
      counts.available += o.ready;
    }
    Json status = deployment_status(d, counts, current, now);
    // Conditions keep their times while their status holds (as Kubernetes keeps them).
    for (Json& c : status["conditions"])
      for (const Json& old : array_member(object_member(d, "status"), "conditions"))
        if (old.is_object() && old.value("type", "") == c["type"] && old.value("status", "") == c["status"] &&
            old.value("reason", "") == c["reason"]) {
          c["lastUpdateTime"] = old.value("lastUpdateTime", "");
          c["lastTransitionTime"] = old.value("lastTransitionTime", "");
        }
    (void)objects_.set_status(kube::ref_of(d), status);
  });
}

void WorkloadController::reconcile_replica_sets() {
  std::vector<Json> pods = objects_.list("Pod");
  for (const Json& rs : objects_.list("ReplicaSet")) guarded(rs, [&] {
    int desired = object_member(rs, "spec").value("replicas", 1);
    std::vector<Json> mine;
    for (const Json& p : pods)
      if (ns_of(p) == ns_of(rs) && owned_by(p, uid_of(rs))) mine.push_back(p);
    // Unready pods are the first to go.
    std::stable_partition(mine.begin(), mine.end(), [&](const Json& p) { return ready(ns_of(p), name_of(p)); });
    while (static_cast<int>(mine.size()) > desired) {
      (void)objects_.remove(kube::ref_of(mine.back()), ns_of(rs), {});
      mine.pop_back();
    }
    for (int i = static_cast<int>(mine.size()); i < desired; ++i) {
      auto made = objects_.create(make_pod(rs, object_member(object_member(rs, "spec"), "template"),
                                           name_of(rs) + "-" + random_suffix()),
                                  ns_of(rs));
      if (made) mine.push_back(*made);
    }
    int ready_pods = 0;
    for (const Json& p : mine) ready_pods += ready(ns_of(p), name_of(p)) ? 1 : 0;
    (void)objects_.set_status(kube::ref_of(rs), replica_set_status(rs, static_cast<int>(mine.size()), ready_pods));
  });
}

void WorkloadController::reconcile_stateful_sets(int64_t) {
  std::vector<Json> pods = objects_.list("Pod");
  for (const Json& set : objects_.list("StatefulSet")) guarded(set, [&] {
    const Json spec = object_member(set, "spec");
    const std::string ns = ns_of(set), name = name_of(set);
    int replicas = spec.value("replicas", 1);
    bool parallel = spec.value("podManagementPolicy", "") == "Parallel";
    bool on_delete = object_member(spec, "updateStrategy").value("type", "") == "OnDelete";
    std::string revision = name + "-" + pod_template_hash(object_member(spec, "template"));
    std::map<int, Json> owned;  // by ordinal
    for (const Json& p : pods) {
      if (ns_of(p) != ns || !owned_by(p, uid_of(set))) continue;
      const std::string pod = name_of(p);
      if (pod.size() > name.size() + 1) owned[std::atoi(pod.c_str() + name.size() + 1)] = p;
    }
    auto revision_of = [](const Json& p) {
      return object_member(object_member(p, "metadata"), "labels").value("controller-revision-hash", "");
    };
    // Scale down, highest ordinal first (one a turn unless Parallel).
    while (!owned.empty() && owned.rbegin()->first >= replicas) {
      (void)objects_.remove(kube::ref_of(owned.rbegin()->second), ns, {});
      owned.erase(std::prev(owned.end()));
      if (!parallel) break;
    }
    // Missing ordinals, in order: the next only once those before it are ready (OrderedReady).
    bool all_ready = true;
    for (int i = 0; i < replicas; ++i) {
      auto it = owned.find(i);
      if (it == owned.end()) {
        for (const Json& claim : stateful_claims(set, i)) (void)objects_.create(claim, ns);
        (void)objects_.create(make_stateful_pod(set, i, revision), ns);
        all_ready = false;
        if (!parallel) break;
        continue;
      }
      if (!ready(ns, name_of(it->second))) {
        all_ready = false;
        if (!parallel) break;
      }
    }
    // RollingUpdate: the highest ordinal not at the new revision is replaced, one at a time.
    if (all_ready && !on_delete && static_cast<int>(owned.size()) == replicas) {
      for (auto it = owned.rbegin(); it != owned.rend(); ++it) {
        if (revision_of(it->second) == revision) continue;
        (void)objects_.remove(kube::ref_of(it->second), ns, {});
        break;
      }
    }
    StatefulCounts counts;
    counts.update_revision = revision;
    counts.current_revision = revision;
    for (const auto& [ordinal, p] : owned) {
      ++counts.replicas;
      counts.ready += ready(ns, name_of(p)) ? 1 : 0;
      if (revision_of(p) == revision) ++counts.updated;
      else counts.current_revision = revision_of(p);
    }
    (void)objects_.set_status(kube::ref_of(set), stateful_set_status(set, counts));
  });
}

void WorkloadController::reconcile_jobs(int64_t now) {
  std::vector<Json> pods = objects_.list("Pod");
  std::set<std::string> jobs;
  for (const Json& job : objects_.list("Job")) guarded(job, [&] {
    const Json stored = object_member(job, "status");
    bool terminal = false;
    for (const Json& c : array_member(stored, "conditions"))
      terminal = terminal || ((c.value("type", "") == "Complete" || c.value("type", "") == "Failed") && c.value("status", "") == "True");
    if (terminal) return;  // a finished Job's status stays as written
    const Json spec = object_member(job, "spec");
    int backoff_limit = spec.value("backoffLimit", 6);
    JobCounts counts;
    counts.start_ms = counts.end_ms = now;
    std::vector<Json> active;
    for (const Json& p : pods) {
      if (ns_of(p) != ns_of(job) || !owned_by(p, uid_of(job))) continue;
      const Json status = object_member(p, "status");
      std::string phase = status.value("phase", "Pending");
      if (phase == "Succeeded") ++counts.succeeded;
      else if (phase == "Failed") ++counts.failed;
      else active.push_back(p);
      for (const Json& c : array_member(status, "containerStatuses")) counts.failed += c.value("restartCount", 0);
    }
    counts.complete = counts.succeeded >= 1;
    counts.failed_for_good = !counts.complete && counts.failed > backoff_limit;
    if (counts.complete || counts.failed_for_good) {
      for (const Json& p : active) (void)objects_.remove(kube::ref_of(p), ns_of(job), {});
      active.clear();
    }
    jobs.insert(uid_of(job));
    auto& [failures_seen, retry_at] = job_retries_[uid_of(job)];
    if (active.empty() && !counts.complete && !counts.failed_for_good) {
      // The next Pod after a failure waits as kubelet's back-off (10 s doubling).
      if (counts.failed != failures_seen) {
        failures_seen = counts.failed;
        retry_at = now + restart_backoff_ms(counts.failed - 1);
      }
      if (now >= retry_at) {
        Json pod = make_pod(job, object_member(spec, "template"), name_of(job) + "-" + random_suffix());
        for (const char* label : {"job-name", "batch.kubernetes.io/job-name"}) pod["metadata"]["labels"][label] = name_of(job);
        pod["metadata"]["labels"]["controller-uid"] = uid_of(job);
        if (objects_.create(pod, ns_of(job))) ++counts.active;
      }
    }
    counts.active += static_cast<int>(active.size());
    Json status = job_status(counts, backoff_limit);
    if (stored.contains("startTime")) status["startTime"] = stored["startTime"];
    (void)objects_.set_status(kube::ref_of(job), status);
  });
  for (auto it = job_retries_.begin(); it != job_retries_.end();) it = jobs.count(it->first) ? std::next(it) : job_retries_.erase(it);
}

bool WorkloadController::ready(const std::string& ns, const std::string& pod) const {
  auto it = runs_.find(ns + "/" + pod);
  if (it == runs_.end()) return false;
  const Run& run = *it->second;
  return run.running && !run.deleting && (!run.readiness || run.ready_state.ok);
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
  run.last.terminated_reason = result.message.rfind("OOMKilled", 0) == 0 ? "OOMKilled"
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
    // The inbox outlives this controller if a probe is still waiting when it stops.
    std::thread([inbox = probe_inbox_, key, node = run.node, liveness, spec = *spec, ip = run.ip] {
      bool passed = check(spec, ip);
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
            std::string(r.liveness ? "Liveness" : "Readiness") + " probe failed on port " + std::to_string(spec.port), now);
    if (r.liveness && !state.ok) {
      event(run, "Normal", "Killing", "Container failed liveness probe, will be restarted", now);
      executor_->kill(run.node, "liveness probe failed");
    }
  }
}

// --- Services --------------------------------------------------------------------------

void WorkloadController::reconcile_services() {
  std::set<std::string> keys;
  std::vector<Json> pods = objects_.list("Pod");
  for (const Json& svc : objects_.list("Service")) guarded(svc, [&] {
    const Json spec = object_member(svc, "spec");
    const Json selector = object_member(spec, "selector");
    // Ports published before (kept across restarts when free).
    std::map<int, int> before;
    std::string noted = object_member(object_member(svc, "metadata"), "annotations").value(kPublishedPortsAnnotation, "");
    for (size_t pos = 0; pos < noted.size();) {
      size_t comma = noted.find(',', pos);
      std::string item = noted.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      size_t colon = item.find(':');
      if (colon != std::string::npos) before[std::atoi(item.c_str())] = std::atoi(item.c_str() + colon + 1);
      pos = comma == std::string::npos ? noted.size() : comma + 1;
    }
    Json ingress_ports = Json::array();
    std::string annotation;
    Json conditions = Json::array();
    for (const Json& p : array_member(spec, "ports")) {
      if (!p.is_object() || p.value("protocol", "TCP") != "TCP") continue;
      int port = p.value("port", 0);
      std::vector<Backend> backends;
      if (!selector.empty()) {
        for (const Json& pod : pods) {
          if (ns_of(pod) != ns_of(svc) || !labels_match(selector, object_member(object_member(pod, "metadata"), "labels")) ||
              !ready(ns_of(pod), name_of(pod)))
            continue;
          int target = port;
          const Json t = p.contains("targetPort") ? p["targetPort"] : Json();
          if (t.is_number_integer()) target = t.get<int>();
          if (t.is_string()) {
            target = std::atoi(t.get<std::string>().c_str());
            for (const Json& c : array_member(object_member(pod, "spec"), "containers"))
              for (const Json& cp : array_member(c, "ports"))
                if (cp.is_object() && cp.value("name", "") == t.get<std::string>()) target = cp.value("containerPort", 0);
          }
          auto run = runs_.find(ns_of(pod) + "/" + name_of(pod));
          if (target > 0 && run != runs_.end() && !run->second->ip.empty()) backends.push_back({run->second->ip, target});
        }
      }
      std::string key = ns_of(svc) + "/" + name_of(svc) + "/" + std::to_string(port);
      keys.insert(key);
      int node_port = p.value("nodePort", 0);
      auto published = proxy_.publish(key, node_port ? node_port : before.count(port) ? before[port] : 0, backends);
      if (!published && !node_port && before.count(port)) published = proxy_.publish(key, 0, backends);
      if (!published) {
        conditions.push_back({{"type", "PortPublished"}, {"status", "False"}, {"reason", "PortUnavailable"},
                              {"message", published.status().message()}});
        continue;
      }
      ingress_ports.push_back({{"port", *published}, {"protocol", "TCP"}});
      annotation += (annotation.empty() ? "" : ",") + std::to_string(port) + ":" + std::to_string(*published);
    }
    (void)objects_.set_annotation(kube::ref_of(svc), kPublishedPortsAnnotation, annotation);
    Json status = {{"loadBalancer", Json::object()}};
    if (!ingress_ports.empty())
      status["loadBalancer"]["ingress"] = Json::array({{{"ip", "127.0.0.1"}, {"ports", ingress_ports}}});
    if (!conditions.empty()) status["conditions"] = conditions;
    (void)objects_.set_status(kube::ref_of(svc), status);
  });
  for (const std::string& key : proxy_.keys())
    if (!keys.count(key)) proxy_.withdraw(key);
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
