#include "cd/health.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace skiff::cd {
namespace {

using nlohmann::json;

// Objects as the API server returns them, trimmed to the fields health reads.
json deployment(int generation, const json& status, const json& spec = {{"replicas", 2}}) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", "web"}, {"namespace", "prod"}, {"generation", generation}}},
          {"spec", spec},
          {"status", status}};
}

std::string name_of(const std::optional<Health>& h) { return h ? health_name(h->status) : "none"; }

TEST(Health, NamesAreArgoCdsWords) {
  EXPECT_STREQ(health_name(HealthStatus::kHealthy), "Healthy");
  EXPECT_STREQ(health_name(HealthStatus::kProgressing), "Progressing");
  EXPECT_STREQ(health_name(HealthStatus::kDegraded), "Degraded");
  EXPECT_STREQ(health_name(HealthStatus::kSuspended), "Suspended");
  EXPECT_STREQ(health_name(HealthStatus::kMissing), "Missing");
  EXPECT_STREQ(health_name(HealthStatus::kUnknown), "Unknown");
  EXPECT_EQ(health_from_name("Degraded"), HealthStatus::kDegraded);
  EXPECT_EQ(health_from_name("degraded"), HealthStatus::kUnknown);
}

TEST(Health, KindsWithoutACheckHaveNoHealth) {
  for (const char* kind : {"ConfigMap", "Secret", "ServiceAccount", "Namespace"})
    EXPECT_FALSE(assess_health({{"apiVersion", "v1"}, {"kind", kind}, {"metadata", {{"name", "x"}}}})) << kind;
  EXPECT_FALSE(assess_health({{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "WorkflowTemplate"}}));
  EXPECT_FALSE(assess_health(json()));
  EXPECT_FALSE(assess_health(json::array()));
  // A Deployment in another group is not apps' Deployment.
  EXPECT_FALSE(assess_health({{"apiVersion", "example.com/v1"}, {"kind", "Deployment"}}));
}

TEST(Health, DeploymentFollowsItsRollout) {
  // Just created: the controller has not seen generation 1 yet.
  std::optional<Health> h = assess_health(deployment(1, json::object()));
  EXPECT_EQ(name_of(h), "Progressing");
  EXPECT_EQ(h->message, "Waiting for rollout to finish: observed deployment generation less than desired generation");

  h = assess_health(deployment(1, {{"observedGeneration", 1}, {"replicas", 2}, {"updatedReplicas", 1}}));
  EXPECT_EQ(name_of(h), "Progressing");
  EXPECT_EQ(h->message, "Waiting for rollout to finish: 1 out of 2 new replicas have been updated...");

  h = assess_health(deployment(2, {{"observedGeneration", 2}, {"replicas", 3}, {"updatedReplicas", 2}}));
  EXPECT_EQ(h->message, "Waiting for rollout to finish: 1 old replicas are pending termination...");

  h = assess_health(
      deployment(2, {{"observedGeneration", 2}, {"replicas", 2}, {"updatedReplicas", 2}, {"availableReplicas", 1}}));
  EXPECT_EQ(name_of(h), "Progressing");
  EXPECT_EQ(h->message, "Waiting for rollout to finish: 1 of 2 updated replicas are available...");

  h = assess_health(deployment(2, {{"observedGeneration", 2},
                                   {"replicas", 2},
                                   {"updatedReplicas", 2},
                                   {"readyReplicas", 2},
                                   {"availableReplicas", 2},
                                   {"conditions",
                                    {{{"type", "Available"}, {"status", "True"}, {"reason", "MinimumReplicasAvailable"}},
                                     {{"type", "Progressing"}, {"status", "True"}, {"reason", "NewReplicaSetAvailable"}}}}}));
  EXPECT_EQ(name_of(h), "Healthy");
  EXPECT_EQ(h->message, "");
}

TEST(Health, DeploymentPausedIsSuspendedAndAMissedDeadlineIsDegraded) {
  std::optional<Health> h = assess_health(deployment(3, json::object(), {{"replicas", 1}, {"paused", true}}));
  EXPECT_EQ(name_of(h), "Suspended");
  EXPECT_EQ(h->message, "Deployment is paused");
  h = assess_health(deployment(
      1, {{"observedGeneration", 1},
          {"replicas", 1},
          {"updatedReplicas", 1},
          {"unavailableReplicas", 1},
          {"conditions", {{{"type", "Progressing"}, {"status", "False"}, {"reason", "ProgressDeadlineExceeded"}}}}}));
  EXPECT_EQ(name_of(h), "Degraded");
  EXPECT_EQ(h->message, "Deployment \"web\" exceeded its progress deadline");
  // Scaled to zero is healthy.
  h = assess_health(deployment(4, {{"observedGeneration", 4}}, {{"replicas", 0}}));
  EXPECT_EQ(name_of(h), "Healthy");
}

json stateful_set(const json& spec, const json& status, int generation = 1) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "StatefulSet"},
          {"metadata", {{"name", "db"}, {"generation", generation}}},
          {"spec", spec},
          {"status", status}};
}

TEST(Health, StatefulSetRollingUpdateOnDeleteAndPartitions) {
  json rolling = {{"replicas", 2}, {"updateStrategy", {{"type", "RollingUpdate"}}}};
  std::optional<Health> h = assess_health(stateful_set(rolling, {{"replicas", 0}}));
  EXPECT_EQ(name_of(h), "Progressing");
  EXPECT_EQ(h->message, "Waiting for statefulset spec update to be observed...");
  h = assess_health(stateful_set(rolling, {{"observedGeneration", 1}, {"readyReplicas", 1}}));
  EXPECT_EQ(h->message, "Waiting for 1 pods to be ready...");
  h = assess_health(stateful_set(rolling, {{"observedGeneration", 1},
                                           {"readyReplicas", 2},
                                           {"updatedReplicas", 1},
                                           {"currentRevision", "db-1"},
                                           {"updateRevision", "db-2"}}));
  EXPECT_EQ(name_of(h), "Progressing");
  EXPECT_EQ(h->message, "waiting for statefulset rolling update to complete 1 pods at revision db-2...");
  h = assess_health(stateful_set(rolling, {{"observedGeneration", 1},
                                           {"readyReplicas", 2},
                                           {"currentReplicas", 2},
                                           {"updatedReplicas", 2},
                                           {"currentRevision", "db-2"},
                                           {"updateRevision", "db-2"}}));
  EXPECT_EQ(name_of(h), "Healthy");
  EXPECT_EQ(h->message, "statefulset rolling update complete 2 pods at revision db-2...");

  json partitioned = {{"replicas", 3}, {"updateStrategy", {{"type", "RollingUpdate"}, {"rollingUpdate", {{"partition", 1}}}}}};
  h = assess_health(stateful_set(partitioned, {{"observedGeneration", 1}, {"readyReplicas", 3}, {"updatedReplicas", 1}}));
  EXPECT_EQ(name_of(h), "Progressing");
  EXPECT_EQ(h->message, "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...");
  h = assess_health(stateful_set(partitioned, {{"observedGeneration", 1}, {"readyReplicas", 3}, {"updatedReplicas", 2}}));
  EXPECT_EQ(name_of(h), "Healthy");
  EXPECT_EQ(h->message, "partitioned roll out complete: 2 new pods have been updated...");

  json on_delete = {{"replicas", 1}, {"updateStrategy", {{"type", "OnDelete"}}}};
  h = assess_health(stateful_set(on_delete, {{"observedGeneration", 1}, {"readyReplicas", 1}, {"updateRevision", "x"}}));
  EXPECT_EQ(name_of(h), "Healthy");
  EXPECT_EQ(h->message, "statefulset has 1 ready pods");
}

TEST(Health, DaemonSetAndReplicaSet) {
  json ds = {{"apiVersion", "apps/v1"},
             {"kind", "DaemonSet"},
             {"metadata", {{"name", "agent"}, {"generation", 2}}},
             {"spec", {{"updateStrategy", {{"type", "RollingUpdate"}}}}},
             {"status", {{"observedGeneration", 1}}}};
  EXPECT_EQ(assess_health(ds)->message,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation");
  ds["status"] = {{"observedGeneration", 2}, {"desiredNumberScheduled", 3}, {"updatedNumberScheduled", 1}};
  EXPECT_EQ(assess_health(ds)->message, "Waiting for daemon set \"agent\" rollout to finish: 1 out of 3 new pods have been updated...");
  ds["status"]["updatedNumberScheduled"] = 3;
  ds["status"]["numberAvailable"] = 2;
  EXPECT_EQ(assess_health(ds)->message, "Waiting for daemon set \"agent\" rollout to finish: 2 of 3 updated pods are available...");
  ds["status"]["numberAvailable"] = 3;
  EXPECT_EQ(name_of(assess_health(ds)), "Healthy");
  ds["spec"]["updateStrategy"]["type"] = "OnDelete";
  ds["status"]["updatedNumberScheduled"] = 1;
  EXPECT_EQ(assess_health(ds)->message, "daemon set 1 out of 3 new pods have been updated");

  json rs = {{"apiVersion", "apps/v1"},
             {"kind", "ReplicaSet"},
             {"metadata", {{"name", "web-5d4f"}, {"generation", 1}}},
             {"spec", {{"replicas", 2}}},
             {"status", {{"observedGeneration", 1}, {"replicas", 2}, {"availableReplicas", 1}}}};
  EXPECT_EQ(assess_health(rs)->message, "Waiting for rollout to finish: 1 out of 2 new replicas are available...");
  rs["status"]["conditions"] = {{{"type", "ReplicaFailure"},
                                 {"status", "True"},
                                 {"reason", "FailedCreate"},
                                 {"message", "pods \"web-5d4f-\" is forbidden: exceeded quota"}}};
  EXPECT_EQ(name_of(assess_health(rs)), "Degraded");
  EXPECT_EQ(assess_health(rs)->message, "pods \"web-5d4f-\" is forbidden: exceeded quota");
  rs["status"] = {{"observedGeneration", 1}, {"availableReplicas", 2}};
  EXPECT_EQ(name_of(assess_health(rs)), "Healthy");
}

json pod(const std::string& phase, const json& container_statuses, const std::string& restart_policy = "Always",
         const json& conditions = json::array()) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", "web-5d4f-abcde"}}},
          {"spec", {{"restartPolicy", restart_policy}, {"containers", {{{"name", "web"}, {"image", "nginx"}}}}}},
          {"status", {{"phase", phase}, {"conditions", conditions}, {"containerStatuses", container_statuses}}}};
}

TEST(Health, PodPhasesAndContainerStates) {
  json ready = {{{"type", "Ready"}, {"status", "True"}}};
  json running = {{{"name", "web"}, {"ready", true}, {"restartCount", 0}, {"state", {{"running", {{"startedAt", "x"}}}}}}};
  EXPECT_EQ(name_of(assess_health(pod("Pending", json::array()))), "Progressing");
  EXPECT_EQ(name_of(assess_health(pod("Running", running, "Always", ready))), "Healthy");
  EXPECT_EQ(name_of(assess_health(pod("Running", running, "Always"))), "Progressing");  // not ready yet
  EXPECT_EQ(name_of(assess_health(pod("Running", running, "Never"))), "Progressing");   // a run to completion
  EXPECT_EQ(name_of(assess_health(pod("Succeeded", json::array(), "Never"))), "Healthy");
  EXPECT_EQ(name_of(assess_health(pod("Unknown", json::array()))), "Unknown");

  json crashing = {{{"name", "web"},
                    {"ready", false},
                    {"restartCount", 4},
                    {"lastState", {{"terminated", {{"exitCode", 1}, {"reason", "Error"}}}}},
                    {"state",
                     {{"waiting",
                       {{"reason", "CrashLoopBackOff"},
                        {"message", "back-off 1m20s restarting failed container=web pod=web-5d4f-abcde_prod(1)"}}}}}}};
  std::optional<Health> h = assess_health(pod("Running", crashing));
  EXPECT_EQ(name_of(h), "Degraded");
  EXPECT_EQ(h->message, "back-off 1m20s restarting failed container=web pod=web-5d4f-abcde_prod(1)");

  json pull = {{{"name", "web"},
                {"state", {{"waiting", {{"reason", "ImagePullBackOff"}, {"message", "Back-off pulling image \"nginx:nope\""}}}}}}};
  h = assess_health(pod("Pending", pull));
  EXPECT_EQ(name_of(h), "Degraded");
  EXPECT_EQ(h->message, "Back-off pulling image \"nginx:nope\"");
  // Restarted since (lastState terminated), running again but not ready: Degraded.
  crashing[0]["state"] = {{"running", {{"startedAt", "x"}}}};
  EXPECT_EQ(name_of(assess_health(pod("Running", crashing))), "Degraded");
  // A run-to-completion pod waiting on an image is not judged by its containers.
  EXPECT_EQ(name_of(assess_health(pod("Pending", pull, "Never"))), "Progressing");
}

TEST(Health, FailedPodSaysWhy) {
  json failed = {{{"name", "main"}, {"state", {{"terminated", {{"exitCode", 3}, {"reason", "Error"}}}}}}};
  std::optional<Health> h = assess_health(pod("Failed", failed, "Never"));
  EXPECT_EQ(name_of(h), "Degraded");
  EXPECT_EQ(h->message, "container \"main\" failed with exit code 3");
  failed[0]["state"]["terminated"]["reason"] = "OOMKilled";
  EXPECT_EQ(assess_health(pod("Failed", failed, "Never"))->message, "OOMKilled");
  json evicted = pod("Failed", json::array(), "Never");
  evicted["status"]["message"] = "The node was low on resource: memory.";
  EXPECT_EQ(assess_health(evicted)->message, "The node was low on resource: memory.");
}

TEST(Health, ServiceAndIngressWaitForTheirLoadBalancer) {
  json svc = {{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"name", "web"}}},
              {"spec", {{"type", "ClusterIP"}, {"clusterIP", "10.96.0.10"}}},
              {"status", {{"loadBalancer", json::object()}}}};
  EXPECT_EQ(name_of(assess_health(svc)), "Healthy");
  svc["spec"]["type"] = "LoadBalancer";
  EXPECT_EQ(name_of(assess_health(svc)), "Progressing");
  svc["status"]["loadBalancer"]["ingress"] = {{{"ip", "192.0.2.7"}}};
  EXPECT_EQ(name_of(assess_health(svc)), "Healthy");

  json ing = {{"apiVersion", "networking.k8s.io/v1"}, {"kind", "Ingress"}, {"metadata", {{"name", "web"}}},
              {"status", {{"loadBalancer", json::object()}}}};
  EXPECT_EQ(name_of(assess_health(ing)), "Progressing");
  ing["status"]["loadBalancer"]["ingress"] = {{{"hostname", "lb.example.com"}}};
  EXPECT_EQ(name_of(assess_health(ing)), "Healthy");
}

TEST(Health, PersistentVolumeClaimPhases) {
  json pvc = {{"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"}, {"metadata", {{"name", "data"}}}};
  EXPECT_EQ(name_of(assess_health(pvc)), "Unknown");
  for (auto [phase, want] : {std::pair{"Pending", "Progressing"}, {"Bound", "Healthy"}, {"Lost", "Degraded"}}) {
    pvc["status"]["phase"] = phase;
    EXPECT_EQ(name_of(assess_health(pvc)), want) << phase;
  }
}

TEST(Health, JobCompleteFailedSuspended) {
  json job = {{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"metadata", {{"name", "migrate"}}}, {"status", {{"active", 1}}}};
  EXPECT_EQ(name_of(assess_health(job)), "Progressing");
  job["status"]["conditions"] = {{{"type", "Complete"}, {"status", "True"}, {"message", ""}}};
  EXPECT_EQ(name_of(assess_health(job)), "Healthy");
  job["status"]["conditions"] = {{{"type", "Failed"}, {"status", "True"}, {"reason", "BackoffLimitExceeded"},
                                  {"message", "Job has reached the specified backoff limit"}}};
  EXPECT_EQ(name_of(assess_health(job)), "Degraded");
  EXPECT_EQ(assess_health(job)->message, "Job has reached the specified backoff limit");
  job["status"]["conditions"] = {{{"type", "Suspended"}, {"status", "True"}, {"message", "Job suspended"}}};
  EXPECT_EQ(name_of(assess_health(job)), "Suspended");
  job["status"]["conditions"][0]["status"] = "False";  // resumed
  EXPECT_EQ(name_of(assess_health(job)), "Healthy");
}

TEST(Health, CronJobLastRuns) {
  json cron = {{"apiVersion", "batch/v1"}, {"kind", "CronJob"}, {"metadata", {{"name", "nightly"}}},
               {"spec", {{"schedule", "0 3 * * *"}}}};
  EXPECT_EQ(assess_health(cron)->message, "Waiting for CronJob");
  cron["status"] = json::object();
  EXPECT_EQ(name_of(assess_health(cron)), "Healthy");
  EXPECT_EQ(assess_health(cron)->message, "CronJob has not been scheduled yet");
  cron["status"]["lastScheduleTime"] = "2026-12-01T03:00:00Z";
  EXPECT_EQ(assess_health(cron)->message, "The Cronjob never completed succesfully. It may not be healthy");
  cron["status"]["lastSuccessfulTime"] = "2026-11-30T03:00:09Z";
  EXPECT_EQ(name_of(assess_health(cron)), "Degraded");
  EXPECT_EQ(assess_health(cron)->message, "CronJob has not completed its last execution successfully");
  cron["status"]["active"] = {{{"name", "nightly-29410"}}};
  EXPECT_EQ(name_of(assess_health(cron)), "Healthy");
  cron["status"].erase("active");
  cron["status"]["lastSuccessfulTime"] = "2026-12-01T03:00:09Z";
  EXPECT_EQ(assess_health(cron)->message, "CronJob has completed its last execution successfully");
  cron["spec"]["suspend"] = true;
  EXPECT_EQ(name_of(assess_health(cron)), "Suspended");
}

TEST(Health, HorizontalPodAutoscalerConditions) {
  json hpa = {{"apiVersion", "autoscaling/v2"}, {"kind", "HorizontalPodAutoscaler"}, {"metadata", {{"name", "web"}}}};
  std::optional<Health> h = assess_health(hpa);
  EXPECT_EQ(name_of(h), "Progressing");
  EXPECT_EQ(h->message, "Waiting to Autoscale");
  hpa["status"]["conditions"] = {
      {{"type", "AbleToScale"}, {"status", "True"}, {"reason", "ReadyForNewScale"}, {"message", "recommended size matches current size"}}};
  EXPECT_EQ(name_of(assess_health(hpa)), "Healthy");
  EXPECT_EQ(assess_health(hpa)->message, "recommended size matches current size");
  hpa["status"]["conditions"] = {{{"type", "ScalingActive"}, {"status", "False"}, {"reason", "FailedGetResourceMetric"},
                                  {"message", "unable to get metrics"}}};
  EXPECT_EQ(name_of(assess_health(hpa)), "Degraded");

  json v1 = {{"apiVersion", "autoscaling/v1"},
             {"kind", "HorizontalPodAutoscaler"},
             {"metadata",
              {{"name", "web"},
               {"annotations",
                {{"autoscaling.alpha.kubernetes.io/conditions",
                  R"([{"type":"AbleToScale","status":"False","reason":"FailedGetScale","message":"no scale"}])"}}}}}};
  EXPECT_EQ(name_of(assess_health(v1)), "Degraded");
  EXPECT_EQ(assess_health(v1)->message, "no scale");
  v1["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/conditions"] = "not json";
  EXPECT_EQ(name_of(assess_health(v1)), "Unknown");
}

TEST(Health, APIServiceAvailability) {
  json api = {{"apiVersion", "apiregistration.k8s.io/v1"}, {"kind", "APIService"}, {"metadata", {{"name", "v1beta1.metrics.k8s.io"}}}};
  EXPECT_EQ(assess_health(api)->message, "Waiting to be processed");
  api["status"]["conditions"] = {{{"type", "Available"}, {"status", "False"}, {"reason", "MissingEndpoints"},
                                  {"message", "endpoints for service/metrics-server have no addresses"}}};
  EXPECT_EQ(name_of(assess_health(api)), "Progressing");
  EXPECT_EQ(assess_health(api)->message, "MissingEndpoints: endpoints for service/metrics-server have no addresses");
  api["status"]["conditions"][0]["status"] = "True";
  EXPECT_EQ(name_of(assess_health(api)), "Healthy");
}

TEST(Health, ArgoprojKinds) {
  json wf = {{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "Workflow"}, {"metadata", {{"name", "ci-x"}}}};
  EXPECT_EQ(name_of(assess_health(wf)), "Progressing");
  for (auto [phase, want] : {std::pair{"Pending", "Progressing"}, {"Running", "Progressing"}, {"Succeeded", "Healthy"},
                             {"Failed", "Degraded"}, {"Error", "Degraded"}}) {
    wf["status"] = {{"phase", phase}, {"message", "m"}};
    EXPECT_EQ(name_of(assess_health(wf)), want) << phase;
    EXPECT_EQ(assess_health(wf)->message, "m");
  }

  json cron = {{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "CronWorkflow"}, {"metadata", {{"name", "nightly"}}}};
  EXPECT_EQ(name_of(assess_health(cron)), "Healthy");
  EXPECT_EQ(assess_health(cron)->message, "CronWorkflow is healthy.");
  cron["status"]["conditions"] = {{{"type", "SubmissionError"}, {"status", "True"}, {"message", "Failed to submit Workflow"}}};
  EXPECT_EQ(name_of(assess_health(cron)), "Degraded");
  EXPECT_EQ(assess_health(cron)->message, "Failed to submit Workflow");

  json app = {{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "Application"}, {"metadata", {{"name", "child"}}}};
  EXPECT_EQ(name_of(assess_health(app)), "Progressing");
  EXPECT_EQ(assess_health(app)->message, "Waiting for application to be reconciled");
  app["status"]["health"] = {{"status", "Degraded"}, {"message", "a pod crashes"}};
  EXPECT_EQ(name_of(assess_health(app)), "Degraded");
  EXPECT_EQ(assess_health(app)->message, "a pod crashes");
}

TEST(Health, AnObjectBeingDeletedIsPendingDeletion) {
  json d = deployment(1, {{"observedGeneration", 1}, {"updatedReplicas", 2}, {"availableReplicas", 2}, {"replicas", 2}});
  d["metadata"]["deletionTimestamp"] = "2026-12-01T03:00:00Z";
  std::optional<Health> h = assess_health(d);
  EXPECT_EQ(name_of(h), "Progressing");
  EXPECT_EQ(h->message, "Pending deletion");
  d["metadata"]["finalizers"] = {"argocd.argoproj.io/hook-finalizer"};
  EXPECT_EQ(name_of(assess_health(d)), "Healthy");
}

TEST(Health, MalformedFieldsDoNotThrow) {
  json d = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"metadata", "x"}, {"spec", 3}, {"status", {{"conditions", "x"}}}};
  EXPECT_NO_THROW(assess_health(d));
  json p = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"status", {{"containerStatuses", {1, "x", json::object()}}}}};
  EXPECT_EQ(name_of(assess_health(p)), "Unknown");
}

TEST(Health, AggregateKeepsTheWorstInArgoCdsOrder) {
  using S = HealthStatus;
  EXPECT_EQ(aggregate_health({}), S::kHealthy);
  EXPECT_EQ(aggregate_health({S::kHealthy, S::kSuspended}), S::kSuspended);
  EXPECT_EQ(aggregate_health({S::kSuspended, S::kProgressing, S::kHealthy}), S::kProgressing);
  EXPECT_EQ(aggregate_health({S::kProgressing, S::kDegraded}), S::kDegraded);
  EXPECT_EQ(aggregate_health({S::kDegraded, S::kUnknown}), S::kUnknown);
  // Missing resources leave the health to the live ones (OutOfSync says they are missing) ...
  EXPECT_EQ(aggregate_health({S::kMissing, S::kHealthy}), S::kHealthy);
  EXPECT_EQ(aggregate_health({S::kMissing, S::kProgressing}), S::kProgressing);
  // ... unless nothing is live.
  EXPECT_EQ(aggregate_health({S::kMissing, S::kMissing}), S::kMissing);
  EXPECT_TRUE(is_worse(S::kProgressing, S::kMissing));
  EXPECT_TRUE(is_worse(S::kMissing, S::kDegraded));
  EXPECT_FALSE(is_worse(S::kDegraded, S::kProgressing));
}

}  // namespace
}  // namespace skiff::cd
