#include "machine/workload.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>

#include "util/json_text.h"

namespace skiff::machine {
namespace {

using Json = nlohmann::json;

constexpr KindInfo kKinds[] = {
    {"v1", "Namespace", "namespaces", false},
    {"v1", "Pod", "pods", true},
    {"v1", "Service", "services", true},
    {"v1", "PersistentVolumeClaim", "persistentvolumeclaims", true},
    {"v1", "ConfigMap", "configmaps", true},
    {"v1", "Secret", "secrets", true},
    {"apps/v1", "Deployment", "deployments.apps", true},
    {"apps/v1", "ReplicaSet", "replicasets.apps", true},
    {"apps/v1", "StatefulSet", "statefulsets.apps", true},
    {"batch/v1", "Job", "jobs.batch", true},
};

constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";

std::mt19937_64& rng() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

std::string encode(uint64_t value, size_t max) {
  std::string out;
  const uint64_t base = sizeof kAlphabet - 1;
  do {
    out.push_back(kAlphabet[value % base]);
    value /= base;
  } while (value && out.size() < max);
  return out;
}

// "25%" of n (rounded up or down), or the number given.
int scaled(const Json& value, int n, int fallback_percent, bool round_up) {
  double percent = fallback_percent;
  if (value.is_number_integer()) return std::max(0, value.get<int>());
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str()) return 0;
    if (*end != '%') return std::max(0, static_cast<int>(v));
    percent = v;
  }
  double exact = n * percent / 100.0;
  return std::max(0, static_cast<int>(round_up ? std::ceil(exact) : std::floor(exact)));
}

// A status condition, with its reason and message when given and `when` in each of the
// time fields its kind has (Deployments: lastUpdateTime and lastTransitionTime; Jobs:
// lastProbeTime and lastTransitionTime; Pods: lastTransitionTime).
Json condition(const std::string& type, bool ok, const std::string& reason, const std::string& message,
               const std::string& when, std::initializer_list<const char*> time_fields) {
  Json c = {{"type", type}, {"status", ok ? "True" : "False"}};
  if (!reason.empty()) c["reason"] = reason;
  if (!message.empty()) c["message"] = message;
  for (const char* field : time_fields) c[field] = when;
  return c;
}

std::string name_of_object(const Json& o) { return object_member(o, "metadata").value("name", ""); }

// The Deployment's condition of `type` in `conditions`, or null.
Json* find_condition(Json& conditions, const std::string& type) {
  for (Json& c : conditions)
    if (c.is_object() && c.value("type", "") == type) return &c;
  return nullptr;
}

// Kubernetes' SetDeploymentCondition: a condition whose status and reason are those held
// changes nothing (its times stay); one of the same status keeps lastTransitionTime.
void set_condition(Json& conditions, Json c) {
  Json* held = find_condition(conditions, c["type"].get<std::string>());
  if (!held) {
    conditions.push_back(std::move(c));
    return;
  }
  if (held->value("status", "") == c["status"] && held->value("reason", "") == c["reason"]) return;
  if (held->value("status", "") == c["status"] && held->contains("lastTransitionTime"))
    c["lastTransitionTime"] = (*held)["lastTransitionTime"];
  *held = std::move(c);
}

Json deployment_condition(const std::string& type, const char* status, const std::string& reason,
                          const std::string& message, const std::string& when) {
  return {{"type", type}, {"status", status}, {"reason", reason}, {"message", message},
          {"lastUpdateTime", when}, {"lastTransitionTime", when}};
}

int int_member(const Json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_number_integer() ? it->get<int>() : 0;
}

}  // namespace

const KindInfo* machine_kind(const std::string& api_version, const std::string& kind) {
  for (const KindInfo& k : kKinds)
    if (api_version == k.api_version && kind == k.kind) return &k;
  return nullptr;
}

std::string machine_kinds_text() {
  std::string out;
  for (const KindInfo& k : kKinds) out += std::string(out.empty() ? "" : ", ") + k.kind;
  return out;
}

std::string rfc3339(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string new_uid() {
  uint64_t a = rng()(), b = rng()();
  a = (a & ~0xf000ULL) | 0x4000ULL;                       // version 4
  b = (b & ~(0xc0ULL << 56)) | (0x80ULL << 56);           // variant 10
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string random_suffix(size_t n) {
  std::string out;
  std::uniform_int_distribution<size_t> pick(0, sizeof kAlphabet - 2);
  for (size_t i = 0; i < n; ++i) out.push_back(kAlphabet[pick(rng())]);
  return out;
}

std::string pod_template_hash(const Json& pod_template) {
  // FNV-1a, 64 bits, over the template's canonical text (nlohmann sorts keys).
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : pod_template.dump()) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return encode(h, 10);
}

bool labels_match(const Json& match_labels, const Json& labels) {
  if (!match_labels.is_object()) return true;
  for (auto it = match_labels.begin(); it != match_labels.end(); ++it) {
    auto found = labels.is_object() ? labels.find(it.key()) : labels.end();
    if (found == labels.end() || *found != *it) return false;
  }
  return true;
}

bool selector_matches(const Json& selector, const Json& labels) {
  if (!labels_match(object_member(selector, "matchLabels"), labels)) return false;
  for (const Json& e : array_member(selector, "matchExpressions")) {
    if (!e.is_object()) return false;
    const std::string key = e.value("key", ""), op = e.value("operator", "");
    bool has = labels.is_object() && labels.contains(key);
    std::string value = has && labels[key].is_string() ? labels[key].get<std::string>() : "";
    bool in = false;
    for (const Json& v : array_member(e, "values")) in = in || (v.is_string() && v.get<std::string>() == value);
    if ((op == "In" && !(has && in)) || (op == "NotIn" && has && in) || (op == "Exists" && !has) ||
        (op == "DoesNotExist" && has))
      return false;
    if (op != "In" && op != "NotIn" && op != "Exists" && op != "DoesNotExist") return false;
  }
  return true;
}

Json owner_reference(const Json& owner) {
  const Json meta = object_member(owner, "metadata");
  return {{"apiVersion", owner.value("apiVersion", "")}, {"kind", owner.value("kind", "")},
          {"name", meta.value("name", "")}, {"uid", meta.value("uid", "")},
          {"controller", true}, {"blockOwnerDeletion", true}};
}

bool owned_by(const Json& object, const std::string& uid) {
  for (const Json& r : array_member(object_member(object, "metadata"), "ownerReferences"))
    if (r.is_object() && r.value("uid", "") == uid) return true;
  return false;
}

Json make_replica_set(const Json& deployment, const std::string& hash) {
  const Json meta = object_member(deployment, "metadata");
  const Json spec = object_member(deployment, "spec");
  Json tmpl = object_member(spec, "template");
  tmpl["metadata"] = object_member(tmpl, "metadata");
  tmpl["metadata"]["labels"] = object_member(tmpl["metadata"], "labels");
  tmpl["metadata"]["labels"]["pod-template-hash"] = hash;
  Json selector = object_member(spec, "selector");
  selector["matchLabels"] = object_member(selector, "matchLabels");
  selector["matchLabels"]["pod-template-hash"] = hash;
  Json labels = tmpl["metadata"]["labels"];
  return {{"apiVersion", "apps/v1"},
          {"kind", "ReplicaSet"},
          {"metadata",
           {{"name", meta.value("name", "") + "-" + hash},
            {"namespace", meta.value("namespace", "default")},
            {"labels", labels},
            {"annotations", {{"deployment.kubernetes.io/revision", "1"}}},
            {"ownerReferences", Json::array({owner_reference(deployment)})}}},
          {"spec", {{"replicas", 0}, {"selector", selector}, {"template", tmpl}}}};
}

Json make_pod(const Json& owner, const Json& pod_template, const std::string& name) {
  const Json tmeta = object_member(pod_template, "metadata");
  Json meta = {{"name", name},
               {"namespace", object_member(owner, "metadata").value("namespace", "default")},
               {"labels", object_member(tmeta, "labels")},
               {"ownerReferences", Json::array({owner_reference(owner)})}};
  if (tmeta.contains("annotations")) meta["annotations"] = object_member(tmeta, "annotations");
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta}, {"spec", object_member(pod_template, "spec")}};
}

std::pair<int, int> surge_and_unavailable(const Json& rolling_update, int desired) {
  const Json ru = rolling_update.is_object() ? rolling_update : Json::object();
  int surge = scaled(ru.contains("maxSurge") ? ru["maxSurge"] : Json("25%"), desired, 25, true);
  int unavailable = scaled(ru.contains("maxUnavailable") ? ru["maxUnavailable"] : Json("25%"), desired, 25, false);
  if (surge == 0 && unavailable == 0) unavailable = 1;
  return {surge, unavailable};
}

std::map<std::string, int> plan_rollout(const RolloutInput& in) {
  std::map<std::string, int> out;
  int old_pods = 0, old_ready = 0;
  for (const auto& rs : in.old) {
    old_pods += rs.pods;
    old_ready += rs.ready;
  }
  if (in.recreate) {
    for (const auto& rs : in.old) out[rs.name] = 0;
    out[in.current.name] = old_pods == 0 ? in.desired : in.current.replicas;
    return out;
  }
  auto [surge, unavailable] = surge_and_unavailable(in.rolling_update, in.desired);
  // Grow the current ReplicaSet within desired + surge pods in all.
  int room = in.desired + surge - old_pods;
  int grow = std::max(in.current.replicas, std::min(in.desired, room));
  if (in.old.empty()) grow = in.desired;  // nothing to replace: scale straight to desired
  out[in.current.name] = grow;
  // Shrink the old ones: unready old pods may go at once; ready ones while enough stay.
  int min_ready = in.desired - unavailable;
  int spare_ready = std::max(0, in.current.ready + old_ready - min_ready);
  for (const auto& rs : in.old) {
    int unready = rs.pods - rs.ready;
    int drop = std::min(rs.replicas, unready + spare_ready);
    spare_ready -= std::max(0, drop - unready);
    out[rs.name] = rs.replicas - drop;
  }
  return out;
}

int64_t restart_backoff_ms(int restarts) {
  int64_t ms = 10'000;
  for (int i = 0; i < restarts && ms < 300'000; ++i) ms *= 2;
  return std::min<int64_t>(ms, 300'000);
}

Json pod_status(const PodState& s) {
  Json containers = Json::array();
  bool all_ready = !s.containers.empty();
  for (const ContainerState& c : s.containers) {
    Json state;
    if (c.running) {
      state = {{"running", {{"startedAt", rfc3339(c.started_ms)}}}};
    } else if (c.terminated && c.waiting_reason.empty()) {
      state = {{"terminated", {{"exitCode", c.exit_code}, {"reason", c.terminated_reason}}}};
    } else {
      state = {{"waiting", {{"reason", c.waiting_reason.empty() ? "ContainerCreating" : c.waiting_reason}}}};
      if (!c.waiting_message.empty()) state["waiting"]["message"] = c.waiting_message;
    }
    Json entry = {{"name", c.name}, {"image", c.image}, {"ready", c.ready}, {"restartCount", c.restart_count},
                  {"started", c.running}, {"state", state}};
    if (c.terminated && !c.waiting_reason.empty())
      entry["lastState"] = {{"terminated", {{"exitCode", c.exit_code}, {"reason", c.terminated_reason}}}};
    containers.push_back(entry);
    all_ready = all_ready && c.ready;
  }
  std::string when = rfc3339(s.start_ms);
  Json out = {{"phase", s.phase},
              {"conditions", Json::array({condition("Ready", all_ready && s.phase == "Running", "", "", when, {"lastTransitionTime"}),
                                          condition("ContainersReady", all_ready, "", "", when, {"lastTransitionTime"})})},
              {"containerStatuses", containers}};
  if (!s.ip.empty()) {
    out["podIP"] = s.ip;
    out["podIPs"] = Json::array({{{"ip", s.ip}}});
    out["hostIP"] = "127.0.0.1";
  }
  if (s.start_ms) out["startTime"] = when;
  return out;
}

int64_t parse_rfc3339(const std::string& text) {
  struct tm tm = {};
  char t = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &t, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 7 ||
      (t != 'T' && t != 't'))
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

// The arithmetic of Kubernetes' deployment controller (calculateStatus, then
// syncRolloutStatus / checkPausedConditions), with `deployment.status` as the status it
// last wrote. Worked example, progressDeadlineSeconds 3, a pod that never gets ready:
//   t=0  ReplicaSet made        Progressing True NewReplicaSetCreated   (lastUpdateTime 0)
//   t=1  its pod exists          updated 0 -> 1: True ReplicaSetUpdated  (lastUpdateTime 1)
//   t=2..4  nothing changes      no progress, 1 + 3 is not before now: unchanged
//   t=5  1 + 3 is before 5       False ProgressDeadlineExceeded -> Argo CD: Degraded
// A pod that becomes ready later is progress again (True ReplicaSetUpdated); a new
// template makes a new ReplicaSet (True NewReplicaSetCreated), whose deadline starts anew.
Json deployment_status(const Json& deployment, const DeploymentCounts& n, const std::string& current, int64_t now_ms) {
  const Json spec = object_member(deployment, "spec");
  const Json old = object_member(deployment, "status");
  int desired = int_member(spec, "replicas");
  if (!spec.contains("replicas")) desired = 1;
  const Json strategy = object_member(spec, "strategy");
  // MaxUnavailable: 0 for Recreate and for no replicas, at most the replicas.
  int unavailable = 0;
  if (strategy.value("type", "") != "Recreate" && desired > 0)
    unavailable = std::min(desired, surge_and_unavailable(object_member(strategy, "rollingUpdate"), desired).second);
  const std::string when = rfc3339(now_ms);
  Json conditions = Json::array();
  for (const Json& c : array_member(old, "conditions"))
    if (c.is_object() && c.value("type", "") != "") conditions.push_back(c);

  bool available = n.available >= desired - unavailable;
  set_condition(conditions,
                deployment_condition("Available", available ? "True" : "False",
                                     available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                                     available ? "Deployment has minimum availability."
                                               : "Deployment does not have minimum availability.",
                                     when));

  const Json deadline_field = spec.contains("progressDeadlineSeconds") ? spec["progressDeadlineSeconds"] : Json(600);
  const int64_t deadline_s = deadline_field.is_number_integer() ? deadline_field.get<int64_t>() : 600;
  const bool paused = spec.contains("paused") && spec["paused"] == true;
  const std::string rs = "ReplicaSet \"" + current + "\"";
  auto reason_of = [&]() {
    const Json* c = find_condition(conditions, "Progressing");
    return c ? c->value("reason", "") : std::string();
  };
  if (deadline_s == kNoProgressDeadline) {
    conditions.erase(std::remove_if(conditions.begin(), conditions.end(),
                                    [](const Json& c) { return c.value("type", "") == "Progressing"; }),
                     conditions.end());
  } else if (paused) {
    // No deadline while paused; a timed-out rollout stays so.
    if (reason_of() != "ProgressDeadlineExceeded")
      set_condition(conditions, deployment_condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", when));
  } else {
    if (reason_of() == "DeploymentPaused")
      set_condition(conditions,
                    deployment_condition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", when));
    if (n.created)
      set_condition(conditions, deployment_condition("Progressing", "True", "NewReplicaSetCreated",
                                                     "Created new replica set \"" + current + "\"", when));
    else if (reason_of().empty())
      set_condition(conditions, deployment_condition("Progressing", "True", "FoundNewReplicaSet",
                                                     "Found new replica set \"" + current + "\"", when));
    // A rollout that completed is not estimated again (until a new ReplicaSet).
    bool settled = n.replicas == n.updated && reason_of() == "NewReplicaSetAvailable";
    bool complete = n.updated == desired && n.replicas == desired && n.available == desired;
    int old_pods_before = int_member(old, "replicas") - int_member(old, "updatedReplicas");
    bool progressed = n.updated > int_member(old, "updatedReplicas") || n.replicas - n.updated < old_pods_before ||
                      n.ready > int_member(old, "readyReplicas") || n.available > int_member(old, "availableReplicas");
    Json* held = find_condition(conditions, "Progressing");
    if (settled) {
      // unchanged
    } else if (complete) {
      set_condition(conditions, deployment_condition("Progressing", "True", "NewReplicaSetAvailable",
                                                     rs + " has successfully progressed.", when));
    } else if (progressed) {
      // Progress moves lastUpdateTime on even when the reason stays (Kubernetes' special case).
      Json c = deployment_condition("Progressing", "True", "ReplicaSetUpdated", rs + " is progressing.", when);
      if (held && held->value("status", "") == "True" && held->contains("lastTransitionTime"))
        c["lastTransitionTime"] = (*held)["lastTransitionTime"];
      if (held) *held = std::move(c);
      else conditions.push_back(std::move(c));
    } else if (held && held->value("reason", "") != "ProgressDeadlineExceeded") {
      int64_t from = parse_rfc3339(held->value("lastUpdateTime", ""));
      if (from >= 0 && from + deadline_s * 1000 < now_ms)
        set_condition(conditions, deployment_condition("Progressing", "False", "ProgressDeadlineExceeded",
                                                       rs + " has timed out progressing.", when));
    }
  }
  return {{"observedGeneration", object_member(deployment, "metadata").value("generation", 1)},
          {"replicas", n.replicas},
          {"updatedReplicas", n.updated},
          {"readyReplicas", n.ready},
          {"availableReplicas", n.available},
          {"unavailableReplicas", std::max(0, n.replicas - n.available)},
          {"conditions", conditions}};
}

Json replica_set_status(const Json& replica_set, int pods, int ready) {
  return {{"replicas", pods}, {"readyReplicas", ready}, {"availableReplicas", ready},
          {"fullyLabeledReplicas", pods},
          {"observedGeneration", object_member(replica_set, "metadata").value("generation", 1)}};
}

Json make_stateful_pod(const Json& set, int ordinal, const std::string& revision) {
  const std::string name = name_of_object(set) + "-" + std::to_string(ordinal);
  Json pod = make_pod(set, object_member(object_member(set, "spec"), "template"), name);
  pod["metadata"]["labels"]["controller-revision-hash"] = revision;
  pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] = name;
  pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] = std::to_string(ordinal);
  Json& volumes = pod["spec"]["volumes"];
  if (!volumes.is_array()) volumes = Json::array();
  for (const Json& claim : array_member(object_member(set, "spec"), "volumeClaimTemplates")) {
    std::string template_name = object_member(claim, "metadata").value("name", "");
    volumes.push_back({{"name", template_name},
                       {"persistentVolumeClaim", {{"claimName", template_name + "-" + name}}}});
  }
  return pod;
}

std::vector<Json> stateful_claims(const Json& set, int ordinal) {
  std::vector<Json> out;
  const std::string pod = name_of_object(set) + "-" + std::to_string(ordinal);
  for (const Json& claim : array_member(object_member(set, "spec"), "volumeClaimTemplates")) {
    Json meta = object_member(claim, "metadata");
    meta["name"] = meta.value("name", "") + "-" + pod;
    meta["namespace"] = object_member(set, "metadata").value("namespace", "default");
    Json labels = object_member(object_member(object_member(object_member(set, "spec"), "template"), "metadata"), "labels");
    meta["labels"] = labels;
    out.push_back({{"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"}, {"metadata", meta},
                   {"spec", object_member(claim, "spec")}});
  }
  return out;
}

Json stateful_set_status(const Json& set, const StatefulCounts& n) {
  return {{"observedGeneration", object_member(set, "metadata").value("generation", 1)},
          {"replicas", n.replicas},
          {"readyReplicas", n.ready},
          {"availableReplicas", n.ready},
          {"currentReplicas", n.updated == n.replicas ? n.replicas : n.replicas - n.updated},
          {"updatedReplicas", n.updated},
          {"currentRevision", n.current_revision},
          {"updateRevision", n.update_revision},
          {"collisionCount", 0}};
}

Json job_status(const JobCounts& n, int backoff_limit) {
  Json status = {{"active", n.active}, {"succeeded", n.succeeded}, {"failed", n.failed}};
  if (n.start_ms) status["startTime"] = rfc3339(n.start_ms);
  std::string when = rfc3339(n.end_ms);
  if (n.complete) {
    status["completionTime"] = when;
    status["conditions"] = Json::array({condition("Complete", true, "", "", when, {"lastProbeTime", "lastTransitionTime"})});
  } else if (n.failed_for_good) {
    status["conditions"] = Json::array({condition("Failed", true, "BackoffLimitExceeded",
                                                  "Job has reached the specified backoff limit (" +
                                                      std::to_string(backoff_limit) + ")",
                                                  when, {"lastProbeTime", "lastTransitionTime"})});
  }
  return status;
}

}  // namespace skiff::machine
