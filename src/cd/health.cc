#include "cd/health.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "util/json_text.h"

namespace skiff::cd {
namespace {

using nlohmann::json;

// Reads tolerate any shape: a field of the wrong type reads as absent, as Go's
// unstructured converter would refuse it (Argo CD then says Unknown; we stay lenient).
const json& at(const json& j, std::initializer_list<const char*> path) {
  static const json kNull;
  const json* node = &j;
  for (const char* key : path) {
    if (!node->is_object()) return kNull;
    auto it = node->find(key);
    if (it == node->end()) return kNull;
    node = &*it;
  }
  return *node;
}

int64_t int_at(const json& j, std::initializer_list<const char*> path, int64_t fallback = 0) {
  const json& v = at(j, path);
  return v.is_number_integer() ? v.get<int64_t>() : fallback;
}

std::optional<int64_t> optional_int_at(const json& j, std::initializer_list<const char*> path) {
  const json& v = at(j, path);
  if (!v.is_number_integer()) return std::nullopt;
  return v.get<int64_t>();
}

std::string string_at(const json& j, std::initializer_list<const char*> path) {
  const json& v = at(j, path);
  return v.is_string() ? v.get<std::string>() : std::string();
}

// The first element of status.conditions whose type is `type`, or null.
const json* condition(const json& obj, const std::string& type) {
  const json& conditions = at(obj, {"status", "conditions"});
  if (!conditions.is_array()) return nullptr;
  for (const json& c : conditions)
    if (c.is_object() && string_at(c, {"type"}) == type) return &c;
  return nullptr;
}

Health healthy(std::string message = {}) { return {HealthStatus::kHealthy, std::move(message)}; }
Health progressing(std::string message = {}) { return {HealthStatus::kProgressing, std::move(message)}; }
Health degraded(std::string message = {}) { return {HealthStatus::kDegraded, std::move(message)}; }

Health deployment(const json& d) {
  if (at(d, {"spec", "paused"}) == true) return {HealthStatus::kSuspended, "Deployment is paused"};
  if (int_at(d, {"metadata", "generation"}) > int_at(d, {"status", "observedGeneration"}))
    return progressing("Waiting for rollout to finish: observed deployment generation less than desired generation");
  const json* cond = condition(d, "Progressing");
  if (cond && string_at(*cond, {"reason"}) == "ProgressDeadlineExceeded")
    return degraded(fmt::format("Deployment \"{}\" exceeded its progress deadline", string_at(d, {"metadata", "name"})));
  std::optional<int64_t> wanted = optional_int_at(d, {"spec", "replicas"});
  int64_t updated = int_at(d, {"status", "updatedReplicas"});
  int64_t replicas = int_at(d, {"status", "replicas"});
  int64_t available = int_at(d, {"status", "availableReplicas"});
  if (wanted && updated < *wanted)
    return progressing(fmt::format("Waiting for rollout to finish: {} out of {} new replicas have been updated...",
                                   updated, *wanted));
  if (replicas > updated)
    return progressing(
        fmt::format("Waiting for rollout to finish: {} old replicas are pending termination...", replicas - updated));
  if (available < updated)
    return progressing(
        fmt::format("Waiting for rollout to finish: {} of {} updated replicas are available...", available, updated));
  return healthy();
}

Health stateful_set(const json& s) {
  int64_t observed = int_at(s, {"status", "observedGeneration"});
  if (observed == 0 || int_at(s, {"metadata", "generation"}) > observed)
    return progressing("Waiting for statefulset spec update to be observed...");
  std::optional<int64_t> wanted = optional_int_at(s, {"spec", "replicas"});
  int64_t ready = int_at(s, {"status", "readyReplicas"});
  int64_t updated = int_at(s, {"status", "updatedReplicas"});
  if (wanted && ready < *wanted) return progressing(fmt::format("Waiting for {} pods to be ready...", *wanted - ready));
  std::string strategy = string_at(s, {"spec", "updateStrategy", "type"});
  const json& rolling = at(s, {"spec", "updateStrategy", "rollingUpdate"});
  if (strategy == "RollingUpdate" && rolling.is_object()) {
    std::optional<int64_t> partition = optional_int_at(rolling, {"partition"});
    if (wanted && partition && updated < *wanted - *partition)
      return progressing(fmt::format(
          "Waiting for partitioned roll out to finish: {} out of {} new pods have been updated...", updated,
          *wanted - *partition));
    return healthy(fmt::format("partitioned roll out complete: {} new pods have been updated...", updated));
  }
  if (strategy == "OnDelete") return healthy(fmt::format("statefulset has {} ready pods", ready));
  std::string update_revision = string_at(s, {"status", "updateRevision"});
  std::string current_revision = string_at(s, {"status", "currentRevision"});
  if (update_revision != current_revision)
    return progressing(fmt::format("waiting for statefulset rolling update to complete {} pods at revision {}...",
                                   updated, update_revision));
  return healthy(fmt::format("statefulset rolling update complete {} pods at revision {}...",
                             int_at(s, {"status", "currentReplicas"}), current_revision));
}

Health daemon_set(const json& d) {
  if (int_at(d, {"metadata", "generation"}) > int_at(d, {"status", "observedGeneration"}))
    return progressing("Waiting for rollout to finish: observed daemon set generation less than desired generation");
  int64_t updated = int_at(d, {"status", "updatedNumberScheduled"});
  int64_t desired = int_at(d, {"status", "desiredNumberScheduled"});
  int64_t available = int_at(d, {"status", "numberAvailable"});
  std::string name = string_at(d, {"metadata", "name"});
  if (string_at(d, {"spec", "updateStrategy", "type"}) == "OnDelete")
    return healthy(fmt::format("daemon set {} out of {} new pods have been updated", updated, desired));
  if (updated < desired)
    return progressing(fmt::format("Waiting for daemon set \"{}\" rollout to finish: {} out of {} new pods have been updated...",
                                   name, updated, desired));
  if (available < desired)
    return progressing(fmt::format("Waiting for daemon set \"{}\" rollout to finish: {} of {} updated pods are available...",
                                   name, available, desired));
  return healthy();
}

Health replica_set(const json& r) {
  if (int_at(r, {"metadata", "generation"}) > int_at(r, {"status", "observedGeneration"}))
    return progressing("Waiting for rollout to finish: observed replica set generation less than desired generation");
  const json* failure = condition(r, "ReplicaFailure");
  if (failure && string_at(*failure, {"status"}) == "True") return degraded(string_at(*failure, {"message"}));
  std::optional<int64_t> wanted = optional_int_at(r, {"spec", "replicas"});
  int64_t available = int_at(r, {"status", "availableReplicas"});
  if (wanted && available < *wanted)
    return progressing(fmt::format("Waiting for rollout to finish: {} out of {} new replicas are available...",
                                   available, *wanted));
  return healthy();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Why a terminated container failed, or "" (it did not terminate, or exited 0).
std::string container_failure(const json& status) {
  const json& terminated = at(status, {"state", "terminated"});
  if (!terminated.is_object()) return "";
  std::string message = string_at(terminated, {"message"});
  if (!message.empty()) return message;
  if (string_at(terminated, {"reason"}) == "OOMKilled") return "OOMKilled";
  int64_t code = int_at(terminated, {"exitCode"});
  if (code != 0) return fmt::format("container \"{}\" failed with exit code {}", string_at(status, {"name"}), code);
  return "";
}

Health pod(const json& p) {
  std::string restart_policy = string_at(p, {"spec", "restartPolicy"});
  if (restart_policy.empty()) restart_policy = "Always";  // the API server's default
  const json& statuses = at(p, {"status", "containerStatuses"});
  std::string message = string_at(p, {"status", "message"});
  // A container waiting on an error (ErrImagePull, CrashLoopBackOff, ImagePullBackOff,
  // CreateContainerConfigError) makes a restarting pod Degraded whatever its phase.
  if (restart_policy == "Always" && statuses.is_array()) {
    std::string messages;
    bool failing = false;
    for (const json& s : statuses) {
      std::string reason = string_at(s, {"state", "waiting", "reason"});
      if (reason.rfind("Err", 0) == 0 || ends_with(reason, "Error") || ends_with(reason, "BackOff")) {
        if (failing) messages += ", ";
        messages += string_at(s, {"state", "waiting", "message"});
        failing = true;
      }
    }
    if (failing) return degraded(messages);
  }
  std::string phase = string_at(p, {"status", "phase"});
  if (phase == "Pending") return progressing(message);
  if (phase == "Succeeded") return healthy(message);
  if (phase == "Failed") {
    if (!message.empty()) return degraded(message);
    for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
      const json& all = at(p, {"status", list});
      if (!all.is_array()) continue;
      for (const json& s : all)
        if (std::string why = container_failure(s); !why.empty()) return degraded(why);
    }
    return degraded();
  }
  if (phase == "Running") {
    if (restart_policy != "Always") return progressing(message);
    const json* ready = condition(p, "Ready");
    if (ready && string_at(*ready, {"status"}) == "True") return healthy(message);
    if (statuses.is_array())
      for (const json& s : statuses)
        if (at(s, {"lastState", "terminated"}).is_object()) return degraded(message);
    return progressing(message);
  }
  return {HealthStatus::kUnknown, message};
}

// An Ingress, or a Service of type LoadBalancer, waits for the load balancer's address.
Health load_balanced(const json& obj) {
  const json& ingress = at(obj, {"status", "loadBalancer", "ingress"});
  return ingress.is_array() && !ingress.empty() ? healthy() : progressing();
}

Health service(const json& s) {
  return string_at(s, {"spec", "type"}) == "LoadBalancer" ? load_balanced(s) : healthy();
}

Health pvc(const json& c) {
  std::string phase = string_at(c, {"status", "phase"});
  if (phase == "Lost") return degraded();
  if (phase == "Pending") return progressing();
  if (phase == "Bound") return healthy();
  return {HealthStatus::kUnknown, ""};
}

Health job(const json& j) {
  bool failed = false, complete = false, suspended = false;
  std::string message, fail_message;
  const json& conditions = at(j, {"status", "conditions"});
  if (conditions.is_array()) {
    for (const json& c : conditions) {
      std::string type = string_at(c, {"type"});
      if (type == "Failed") {
        failed = complete = true;
        fail_message = string_at(c, {"message"});
      } else if (type == "Complete") {
        complete = true;
        message = string_at(c, {"message"});
      } else if (type == "Suspended") {
        complete = true;
        message = string_at(c, {"message"});
        suspended = string_at(c, {"status"}) == "True";
      }
    }
  }
  if (!complete) return progressing(message);
  if (failed) return degraded(fail_message);
  // Argo CD reports the (empty) failure message for a suspended Job, not the condition's.
  if (suspended) return {HealthStatus::kSuspended, fail_message};
  return healthy(message);
}

// Argo CD's resource_customizations/batch/CronJob/health.lua. Times are RFC 3339 in UTC,
// so comparing the strings compares the times (as the Lua check does).
Health cron_job(const json& c) {
  if (at(c, {"spec", "suspend"}) == true) return {HealthStatus::kSuspended, "CronJob is Suspended"};
  const json& status = at(c, {"status"});
  if (!status.is_object()) return progressing("Waiting for CronJob");
  std::string scheduled = string_at(status, {"lastScheduleTime"});
  if (scheduled.empty()) return healthy("CronJob has not been scheduled yet");
  std::string succeeded = string_at(status, {"lastSuccessfulTime"});
  if (succeeded.empty()) return healthy("The Cronjob never completed succesfully. It may not be healthy");
  const json& active = at(status, {"active"});
  if (active.is_array() && !active.empty()) return healthy("The job is running. Its last execution may not have been successful");
  if (succeeded < scheduled) return degraded("CronJob has not completed its last execution successfully");
  return healthy("CronJob has completed its last execution successfully");
}

Health hpa_from_conditions(const json& conditions) {
  const Health waiting = progressing("Waiting to Autoscale");
  if (!conditions.is_array()) return waiting;
  for (const json& c : conditions) {
    std::string type = string_at(c, {"type"});
    std::string reason = string_at(c, {"reason"});
    bool failed = (type == "AbleToScale" && (reason == "FailedGetScale" || reason == "FailedUpdateScale")) ||
                  (type == "ScalingActive" && (reason == "FailedGetResourceMetric" || reason == "InvalidSelector"));
    if (failed) return degraded(string_at(c, {"message"}));
    if ((type == "AbleToScale" || type == "ScalingLimited") && string_at(c, {"status"}) == "True")
      return healthy(string_at(c, {"message"}));
  }
  return waiting;
}

Health hpa(const json& h) {
  if (string_at(h, {"apiVersion"}) != "autoscaling/v1") return hpa_from_conditions(at(h, {"status", "conditions"}));
  // autoscaling/v1 has no conditions field; the API server puts them in an annotation.
  std::string annotation = string_at(h, {"metadata", "annotations", "autoscaling.alpha.kubernetes.io/conditions"});
  if (annotation.empty()) return progressing("Waiting to Autoscale");
  json conditions = parse_json_or_discarded<json>(annotation);
  if (conditions.is_discarded())
    return {HealthStatus::kUnknown, "failed to convert conditions annotation to typed: the annotation is not JSON"};
  return hpa_from_conditions(conditions);
}

Health api_service(const json& a) {
  const json* available = condition(a, "Available");
  if (!available) return progressing("Waiting to be processed");
  std::string message = fmt::format("{}: {}", string_at(*available, {"reason"}), string_at(*available, {"message"}));
  return string_at(*available, {"status"}) == "True" ? healthy(message) : progressing(message);
}

Health workflow(const json& w) {
  std::string phase = string_at(w, {"status", "phase"});
  std::string message = string_at(w, {"status", "message"});
  if (phase.empty() || phase == "Pending" || phase == "Running") return progressing(message);
  if (phase == "Succeeded") return healthy(message);
  if (phase == "Failed" || phase == "Error") return degraded(message);
  return {HealthStatus::kUnknown, message};
}

// Argo CD's resource_customizations/argoproj.io/CronWorkflow/health.lua.
Health cron_workflow(const json& c) {
  const json& conditions = at(c, {"status", "conditions"});
  if (conditions.is_array()) {
    for (const json& cond : conditions) {
      if (string_at(cond, {"status"}) != "True") continue;
      std::string type = string_at(cond, {"type"});
      if (type == "SpecError" || type == "SubmissionError") return degraded(string_at(cond, {"message"}));
      if (type == "Completed") return healthy(string_at(cond, {"message"}));
    }
  }
  return healthy("CronWorkflow is healthy.");
}

// Argo CD's resource_customizations/argoproj.io/Application/health.lua (app of apps).
Health application(const json& a) {
  const json& status = at(a, {"status", "health", "status"});
  if (!status.is_string()) return progressing("Waiting for application to be reconciled");
  return {health_from_name(status.get<std::string>()), string_at(a, {"status", "health", "message"})};
}

}  // namespace

const char* health_name(HealthStatus s) {
  switch (s) {
    case HealthStatus::kHealthy: return "Healthy";
    case HealthStatus::kProgressing: return "Progressing";
    case HealthStatus::kDegraded: return "Degraded";
    case HealthStatus::kSuspended: return "Suspended";
    case HealthStatus::kMissing: return "Missing";
    case HealthStatus::kUnknown: return "Unknown";
  }
  return "Unknown";
}

HealthStatus health_from_name(const std::string& name) {
  for (HealthStatus s : {HealthStatus::kHealthy, HealthStatus::kProgressing, HealthStatus::kDegraded,
                         HealthStatus::kSuspended, HealthStatus::kMissing})
    if (name == health_name(s)) return s;
  return HealthStatus::kUnknown;
}

std::optional<Health> assess_health(const json& live) {
  struct Check {
    const char* group;
    const char* kind;
    Health (*assess)(const json&);
  };
  static const Check kChecks[] = {
      {"apps", "Deployment", deployment},     {"apps", "StatefulSet", stateful_set},
      {"apps", "DaemonSet", daemon_set},      {"apps", "ReplicaSet", replica_set},
      {"", "Pod", pod},                       {"", "Service", service},
      {"", "PersistentVolumeClaim", pvc},     {"networking.k8s.io", "Ingress", load_balanced},
      {"extensions", "Ingress", load_balanced}, {"batch", "Job", job},
      {"batch", "CronJob", cron_job},         {"autoscaling", "HorizontalPodAutoscaler", hpa},
      {"apiregistration.k8s.io", "APIService", api_service}, {"argoproj.io", "Workflow", workflow},
      {"argoproj.io", "CronWorkflow", cron_workflow},        {"argoproj.io", "Application", application},
  };
  if (!live.is_object()) return std::nullopt;
  std::string api_version = string_at(live, {"apiVersion"});
  std::string kind = string_at(live, {"kind"});
  size_t slash = api_version.find('/');
  std::string group = slash == std::string::npos ? "" : api_version.substr(0, slash);
  const Check* check = nullptr;
  for (const Check& c : kChecks)
    if (group == c.group && kind == c.kind) check = &c;
  if (!check) return std::nullopt;

  // Deleting: the object goes away soon, whatever it says (unless a hook's finalizer holds it).
  const json& finalizers = at(live, {"metadata", "finalizers"});
  bool hook_finalizer = finalizers.is_array() &&
                        std::find(finalizers.begin(), finalizers.end(), json("argocd.argoproj.io/hook-finalizer")) !=
                            finalizers.end();
  if (!at(live, {"metadata", "deletionTimestamp"}).is_null() && !hook_finalizer)
    return progressing("Pending deletion");
  return check->assess(live);
}

bool is_worse(HealthStatus current, HealthStatus candidate) {
  auto rank = [](HealthStatus s) {
    switch (s) {
      case HealthStatus::kHealthy: return 0;
      case HealthStatus::kSuspended: return 1;
      case HealthStatus::kProgressing: return 2;
      case HealthStatus::kMissing: return 3;
      case HealthStatus::kDegraded: return 4;
      case HealthStatus::kUnknown: return 5;
    }
    return 5;
  };
  return rank(candidate) > rank(current);
}

HealthStatus aggregate_health(const std::vector<HealthStatus>& statuses) {
  HealthStatus app = HealthStatus::kHealthy;
  bool any_live = false;
  for (HealthStatus s : statuses) {
    if (s == HealthStatus::kMissing) continue;
    any_live = true;
    if (is_worse(app, s)) app = s;
  }
  if (!statuses.empty() && !any_live) return HealthStatus::kMissing;
  return app;
}

}  // namespace skiff::cd
