// Argo CD's health assessment of live Kubernetes objects (gitops-engine's pkg/health and
// the Lua checks Argo CD ships for argoproj.io kinds), as pure functions over the objects'
// JSON: no I/O, stateless, any thread. The application controller assesses each live
// resource and folds the results into the Application's status.health.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace skiff::cd {

// Argo CD's words, as stored and sent ("Healthy", ...).
enum class HealthStatus { kHealthy, kProgressing, kDegraded, kSuspended, kMissing, kUnknown };
const char* health_name(HealthStatus s);
// The status named `name` (Argo CD's word), or kUnknown for anything else.
HealthStatus health_from_name(const std::string& name);

struct Health {
  HealthStatus status = HealthStatus::kUnknown;
  std::string message;
};

// Argo CD's assessment of one live object, or nullopt for kinds Argo CD has no health
// check for (ConfigMap, Secret, ServiceAccount, ...: they show no health). An object being
// deleted (metadata.deletionTimestamp) is Progressing "Pending deletion", whatever its kind.
// Covered: apps Deployment, StatefulSet, DaemonSet, ReplicaSet; Pod, Service,
// PersistentVolumeClaim; Ingress (networking.k8s.io, extensions); batch Job and CronJob;
// autoscaling HorizontalPodAutoscaler (v1 conditions annotation, v2 conditions);
// apiregistration.k8s.io APIService; argoproj.io Workflow, CronWorkflow, Application.
std::optional<Health> assess_health(const nlohmann::json& live);

// True when `candidate` is worse than `current` in Argo CD's order (health.IsWorse):
// Healthy < Suspended < Progressing < Missing < Degraded < Unknown.
bool is_worse(HealthStatus current, HealthStatus candidate);

// An Application's health from its resources', as Argo CD's controller folds them
// (controller/health.go): start Healthy and keep the worst by is_worse, except that
// Missing resources (no live object) do not count unless every resource is Missing, when
// the application is Missing. Callers pass kMissing for a resource with no live object
// and kHealthy for a live one with no health check (assess_health's nullopt), and leave
// out hooks, resources annotated argocd.argoproj.io/ignore-healthcheck: "true", and a
// child Application that is Missing or Unknown (Argo CD skips those too). Empty: Healthy.
HealthStatus aggregate_health(const std::vector<HealthStatus>& statuses);

}  // namespace skiff::cd
