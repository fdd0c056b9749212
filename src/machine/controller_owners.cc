// The controllers over Pods: Deployments (through ReplicaSets), ReplicaSets, StatefulSets,
// Jobs and Services (see controller.h). The Pod side is controller.cc.
#include <set>

#include "machine/controller.h"
#include "machine/controller_internal.h"
#include "machine/workload.h"

namespace skiff::machine {

using namespace internal;

// --- Deployments and ReplicaSets -------------------------------------------------------

void WorkloadController::reconcile_deployments(int64_t now) {
  std::vector<Json> sets = objects_.list("ReplicaSet");
  std::vector<Json> pods = objects_.list("Pod");
  for (const Json& d : objects_.list("Deployment")) guarded(d, [&] {
    const Json spec = object_member(d, "spec");
    std::string hash = pod_template_hash(object_member(spec, "template"));
    std::string current = name_of(d) + "-" + hash;
    // minReadySeconds: a pod counts as available once ready that long; the rollout waits
    // for available pods, as Kubernetes' does.
    const Json min_ready = spec.contains("minReadySeconds") ? spec["minReadySeconds"] : Json(0);
    const int64_t min_ready_ms = min_ready.is_number_integer() ? std::max<int64_t>(0, min_ready.get<int64_t>()) * 1000 : 0;
    int ready_pods = 0;
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
        if (ready(ns_of(p), name_of(p))) ++ready_pods;
        if (available(ns_of(p), name_of(p), min_ready_ms, now)) ++state.ready;  // the rollout's "ready"
      }
      if (state.name == current) {
        in.current = state;
        have_current = true;
      } else {
        in.old.push_back(state);
      }
    }
    DeploymentCounts counts;
    if (!have_current && spec.contains("paused") && spec["paused"] == true) {
      // As Kubernetes: a paused Deployment makes no ReplicaSet for a changed template (and
      // none at all when it has none yet); a single one it has follows `replicas`.
      if (in.old.size() == 1 && in.old[0].replicas != in.desired) {
        kube::ObjectRef rs{"apps/v1", "ReplicaSet", ns_of(d), in.old[0].name};
        (void)objects_.patch(rs, ns_of(d), kube::PatchType::kMerge, Json{{"spec", {{"replicas", in.desired}}}}.dump());
      }
      for (const auto& o : in.old) {
        counts.replicas += o.pods;
        counts.available += o.ready;
      }
      counts.ready = ready_pods;
      (void)objects_.set_status(kube::ref_of(d), deployment_status(d, counts, current, now));
      return;
    }
    if (!have_current) {
      auto made = objects_.create(make_replica_set(d, hash), ns_of(d));
      counts.created = static_cast<bool>(made);
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
    counts.replicas = in.current.pods;
    counts.updated = in.current.pods;
    counts.available = in.current.ready;
    for (const auto& o : in.old) {
      counts.replicas += o.pods;
      counts.available += o.ready;
    }
    counts.ready = ready_pods;
    // Conditions keep their times while they hold; progress and its deadline are measured
    // against the status written last (deployment_status).
    (void)objects_.set_status(kube::ref_of(d), deployment_status(d, counts, current, now));
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
          std::string ip = pod_ip(ns_of(pod), name_of(pod));
          if (target > 0 && !ip.empty()) backends.push_back({ip, target});
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
      if (!annotation.empty()) annotation += ',';
      annotation += std::to_string(port);
      annotation += ':';
      annotation += std::to_string(*published);
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

}  // namespace skiff::machine
