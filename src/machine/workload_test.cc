#include "machine/workload.h"

#include <gtest/gtest.h>

#include "cd/health.h"

namespace skiff::machine {
namespace {

using Json = nlohmann::json;

Json deployment(int replicas) {
  return Json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"web","namespace":"default","uid":"u-1","generation":2},
    "spec":{"replicas":)" + std::to_string(replicas) + R"(,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}}})");
}

TEST(WorkloadTest, PodTemplateHashIsStableAndFollowsTheTemplate) {
  Json t = deployment(1)["spec"]["template"];
  std::string h = pod_template_hash(t);
  EXPECT_EQ(h, pod_template_hash(Json::parse(t.dump())));
  EXPECT_LE(h.size(), 10u);
  EXPECT_EQ(h.find_first_not_of("bcdfghjklmnpqrstvwxz2456789"), std::string::npos) << h;
  t["spec"]["containers"][0]["env"] = Json::array({{{"name", "PAGE"}, {"value", "v2"}}});
  EXPECT_NE(h, pod_template_hash(t));
}

TEST(WorkloadTest, ReplicaSetAndPodAreOwnedAndLabelled) {
  Json d = deployment(2);
  Json rs = make_replica_set(d, "abc");
  EXPECT_EQ(rs["metadata"]["name"], "web-abc");
  EXPECT_EQ(rs["spec"]["selector"]["matchLabels"]["pod-template-hash"], "abc");
  EXPECT_TRUE(owned_by(rs, "u-1"));
  rs["metadata"]["uid"] = "u-2";
  Json pod = make_pod(rs, rs["spec"]["template"], "web-abc-xyz12");
  EXPECT_TRUE(owned_by(pod, "u-2"));
  EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
  EXPECT_TRUE(labels_match(Json{{"app", "web"}}, pod["metadata"]["labels"]));
  EXPECT_TRUE(selector_matches(rs["spec"]["selector"], pod["metadata"]["labels"]));
  EXPECT_FALSE(selector_matches(Json::parse(R"({"matchExpressions":[{"key":"app","operator":"NotIn","values":["web"]}]})"),
                                pod["metadata"]["labels"]));
  EXPECT_EQ(random_suffix().size(), 5u);
}

TEST(WorkloadTest, SurgeAndUnavailableRoundAsKubernetes) {
  EXPECT_EQ(surge_and_unavailable(Json(), 4), std::make_pair(1, 1));
  EXPECT_EQ(surge_and_unavailable(Json(), 2), std::make_pair(1, 0));
  EXPECT_EQ(surge_and_unavailable(Json{{"maxSurge", 0}, {"maxUnavailable", 0}}, 3), std::make_pair(0, 1));
  EXPECT_EQ(surge_and_unavailable(Json{{"maxSurge", "50%"}, {"maxUnavailable", 2}}, 3), std::make_pair(2, 2));
}

// Two replicas, defaults (surge 1, unavailable 0): one new pod at a time, an old one goes
// only when the new one is ready.
TEST(WorkloadTest, RollingUpdateStepsKeepTheReadyCount) {
  RolloutInput in;
  in.desired = 2;
  in.current = {"web-new", 0, 0, 0};
  in.old = {{"web-old", 2, 2, 2}};
  auto plan = plan_rollout(in);
  EXPECT_EQ(plan["web-new"], 1);
  EXPECT_EQ(plan["web-old"], 2);  // the new pod is not ready yet
  in.current = {"web-new", 1, 1, 1};
  plan = plan_rollout(in);
  EXPECT_EQ(plan["web-old"], 1);
  EXPECT_EQ(plan["web-new"], 1);  // 3 pods exist: no room to surge again
  in.old = {{"web-old", 1, 1, 1}};
  plan = plan_rollout(in);
  EXPECT_EQ(plan["web-new"], 2);
  in.current = {"web-new", 2, 2, 2};
  plan = plan_rollout(in);
  EXPECT_EQ(plan["web-old"], 0);
  EXPECT_EQ(plan["web-new"], 2);
}

TEST(WorkloadTest, UnreadyOldPodsGoFirstAndScalingIsDirect) {
  RolloutInput in;
  in.desired = 2;
  in.current = {"web-new", 1, 1, 0};
  in.old = {{"web-old", 2, 2, 0}};  // crash-looping: nothing to keep
  EXPECT_EQ(plan_rollout(in)["web-old"], 0);
  RolloutInput scale;
  scale.desired = 5;
  scale.current = {"web-a", 2, 2, 2};
  EXPECT_EQ(plan_rollout(scale)["web-a"], 5);
  scale.desired = 1;
  EXPECT_EQ(plan_rollout(scale)["web-a"], 1);
}

TEST(WorkloadTest, RecreateEmptiesTheOldFirst) {
  RolloutInput in;
  in.desired = 2;
  in.recreate = true;
  in.current = {"web-new", 0, 0, 0};
  in.old = {{"web-old", 2, 2, 2}};
  auto plan = plan_rollout(in);
  EXPECT_EQ(plan["web-old"], 0);
  EXPECT_EQ(plan["web-new"], 0);
  in.old = {{"web-old", 0, 0, 0}};
  EXPECT_EQ(plan_rollout(in)["web-new"], 2);
}

TEST(WorkloadTest, RestartBackOffDoublesFrom10sTo5min) {
  EXPECT_EQ(restart_backoff_ms(0), 10'000);
  EXPECT_EQ(restart_backoff_ms(1), 20'000);
  EXPECT_EQ(restart_backoff_ms(4), 160'000);
  EXPECT_EQ(restart_backoff_ms(5), 300'000);
  EXPECT_EQ(restart_backoff_ms(50), 300'000);
}

// The status shapes are what Argo CD's health checks read.
TEST(WorkloadTest, StatusesReadAsArgoCdHealth) {
  Json d = deployment(2);
  d["status"] = deployment_status(d, {2, 2, 2, 2}, "web-abc", 0);
  EXPECT_EQ(cd::assess_health(d)->status, cd::HealthStatus::kHealthy) << d["status"].dump();
  d["status"] = deployment_status(d, {3, 1, 2, 2}, "web-abc", 0);
  EXPECT_EQ(cd::assess_health(d)->status, cd::HealthStatus::kProgressing);
  d["status"] = deployment_status(d, {2, 2, 1, 1}, "web-abc", 0);
  EXPECT_EQ(cd::assess_health(d)->status, cd::HealthStatus::kProgressing);

  PodState state;
  state.phase = "Running";
  state.ip = "10.89.0.5";
  ContainerState c;
  c.name = "c";
  c.running = true;
  c.ready = true;
  c.restart_count = 2;
  state.containers.push_back(c);
  Json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "p"}}}, {"status", pod_status(state)}};
  EXPECT_EQ(pod["status"]["containerStatuses"][0]["restartCount"], 2);
  EXPECT_EQ(pod["status"]["podIP"], "10.89.0.5");
  EXPECT_EQ(cd::assess_health(pod)->status, cd::HealthStatus::kHealthy) << pod.dump();
  state.containers[0].running = false;
  state.containers[0].ready = false;
  state.containers[0].terminated = true;
  state.containers[0].exit_code = 1;
  state.containers[0].waiting_reason = "CrashLoopBackOff";
  pod["status"] = pod_status(state);
  EXPECT_EQ(pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"], 1);
  EXPECT_EQ(cd::assess_health(pod)->status, cd::HealthStatus::kDegraded) << pod.dump();
}

const Json* condition_of(const Json& object, const std::string& type) {
  for (const Json& c : object["status"]["conditions"])
    if (c["type"] == type) return &c;
  return nullptr;
}

// One turn of the controller at `now_s`: the status written over the one before.
void turn(Json& d, DeploymentCounts counts, int64_t now_s) {
  d["status"] = deployment_status(d, counts, "web-abc", now_s * 1000);
}

// Kubernetes' Failed Deployment: no progress for progressDeadlineSeconds after the last
// one -> Progressing False ProgressDeadlineExceeded, which Argo CD reads as Degraded.
TEST(WorkloadTest, ProgressDeadlineCountsFromTheLastProgress) {
  Json d = deployment(2);
  d["spec"]["progressDeadlineSeconds"] = 3;
  const int64_t t0 = 1'800'000'000;  // the clock, in seconds
  turn(d, {0, 0, 0, 0, true}, t0);
  const Json* p = condition_of(d, "Progressing");
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)["status"], "True");
  EXPECT_EQ((*p)["reason"], "NewReplicaSetCreated");
  EXPECT_EQ((*p)["message"], "Created new replica set \"web-abc\"");
  EXPECT_EQ((*condition_of(d, "Available"))["reason"], "MinimumReplicasUnavailable");

  turn(d, {1, 1, 0, 0}, t0 + 1);  // a pod of the new ReplicaSet: progress
  p = condition_of(d, "Progressing");
  EXPECT_EQ((*p)["reason"], "ReplicaSetUpdated");
  EXPECT_EQ((*p)["message"], "ReplicaSet \"web-abc\" is progressing.");
  EXPECT_EQ((*p)["lastUpdateTime"], rfc3339((t0 + 1) * 1000));
  EXPECT_EQ((*p)["lastTransitionTime"], rfc3339(t0 * 1000));  // True all along

  turn(d, {2, 2, 0, 0}, t0 + 2);  // the second pod: progress again, the deadline moves
  EXPECT_EQ((*condition_of(d, "Progressing"))["lastUpdateTime"], rfc3339((t0 + 2) * 1000));
  for (int64_t t = t0 + 3; t <= t0 + 5; ++t) {  // no progress, 3 s not yet passed
    turn(d, {2, 2, 0, 0}, t);
    EXPECT_EQ((*condition_of(d, "Progressing"))["reason"], "ReplicaSetUpdated") << t - t0;
    EXPECT_EQ(cd::assess_health(d)->status, cd::HealthStatus::kProgressing);
  }
  turn(d, {2, 2, 0, 0}, t0 + 6);
  p = condition_of(d, "Progressing");
  EXPECT_EQ((*p)["status"], "False");
  EXPECT_EQ((*p)["reason"], "ProgressDeadlineExceeded");
  EXPECT_EQ((*p)["message"], "ReplicaSet \"web-abc\" has timed out progressing.");
  EXPECT_EQ((*p)["lastTransitionTime"], rfc3339((t0 + 6) * 1000));
  auto health = cd::assess_health(d);
  EXPECT_EQ(health->status, cd::HealthStatus::kDegraded);
  EXPECT_EQ(health->message, "Deployment \"web\" exceeded its progress deadline");
  Json timed_out = d["status"];
  turn(d, {2, 2, 0, 0}, t0 + 60);  // it stays so, times and all
  EXPECT_EQ(d["status"], timed_out);

  turn(d, {2, 2, 1, 1}, t0 + 61);  // a pod gets ready after all: progressing again
  p = condition_of(d, "Progressing");
  EXPECT_EQ((*p)["status"], "True");
  EXPECT_EQ((*p)["reason"], "ReplicaSetUpdated");
  EXPECT_EQ((*p)["lastTransitionTime"], rfc3339((t0 + 61) * 1000));
  EXPECT_EQ((*condition_of(d, "Available"))["reason"], "MinimumReplicasUnavailable");  // 25% of 2 is 0
  turn(d, {2, 2, 2, 2}, t0 + 62);
  EXPECT_EQ((*condition_of(d, "Available"))["reason"], "MinimumReplicasAvailable");
  p = condition_of(d, "Progressing");
  EXPECT_EQ((*p)["reason"], "NewReplicaSetAvailable");
  EXPECT_EQ((*p)["message"], "ReplicaSet \"web-abc\" has successfully progressed.");
  EXPECT_EQ(cd::assess_health(d)->status, cd::HealthStatus::kHealthy);
  // Complete: a pod that stops being ready later is not a rollout that can time out.
  turn(d, {2, 2, 1, 1}, t0 + 63);
  turn(d, {2, 2, 1, 1}, t0 + 100);
  EXPECT_EQ((*condition_of(d, "Progressing"))["reason"], "NewReplicaSetAvailable");
  EXPECT_EQ((*condition_of(d, "Progressing"))["lastUpdateTime"], rfc3339((t0 + 62) * 1000));
}

TEST(WorkloadTest, ProgressDeadlineDefaultsTo600AndANewReplicaSetStartsItAgain) {
  Json d = deployment(1);
  const int64_t t0 = 1'800'000'000;
  turn(d, {0, 0, 0, 0, true}, t0);
  turn(d, {1, 1, 0, 0}, t0 + 1);
  turn(d, {1, 1, 0, 0}, t0 + 601);
  EXPECT_EQ((*condition_of(d, "Progressing"))["reason"], "ReplicaSetUpdated");
  turn(d, {1, 1, 0, 0}, t0 + 602);
  EXPECT_EQ((*condition_of(d, "Progressing"))["reason"], "ProgressDeadlineExceeded");
  // A new template (its ReplicaSet made now) is a new rollout with its own deadline.
  turn(d, {1, 0, 0, 0, true}, t0 + 700);
  const Json* p = condition_of(d, "Progressing");
  EXPECT_EQ((*p)["status"], "True");
  EXPECT_EQ((*p)["reason"], "NewReplicaSetCreated");
  EXPECT_EQ((*p)["lastUpdateTime"], rfc3339((t0 + 700) * 1000));

  // A status written before this existed (no Progressing condition): found, then measured.
  d["status"].erase("conditions");
  turn(d, {1, 0, 0, 0}, t0 + 800);
  EXPECT_EQ((*condition_of(d, "Progressing"))["reason"], "FoundNewReplicaSet");
  EXPECT_EQ((*condition_of(d, "Progressing"))["message"], "Found new replica set \"web-abc\"");

  // 2147483647 is no deadline: no Progressing condition at all, as Kubernetes.
  d["spec"]["progressDeadlineSeconds"] = kNoProgressDeadline;
  turn(d, {1, 1, 0, 0}, t0 + 100'000);
  EXPECT_EQ(condition_of(d, "Progressing"), nullptr);
  EXPECT_EQ(cd::assess_health(d)->status, cd::HealthStatus::kProgressing);
}

TEST(WorkloadTest, APausedDeploymentDoesNotTimeOut) {
  Json d = deployment(1);
  d["spec"]["progressDeadlineSeconds"] = 3;
  d["spec"]["paused"] = true;
  const int64_t t0 = 1'800'000'000;
  turn(d, {0, 0, 0, 0, true}, t0);
  turn(d, {1, 1, 0, 0}, t0 + 1);
  turn(d, {1, 1, 0, 0}, t0 + 100);
  const Json* p = condition_of(d, "Progressing");
  EXPECT_EQ((*p)["status"], "Unknown");
  EXPECT_EQ((*p)["reason"], "DeploymentPaused");
  EXPECT_EQ((*p)["lastUpdateTime"], rfc3339(t0 * 1000));
  EXPECT_EQ(cd::assess_health(d)->status, cd::HealthStatus::kSuspended);
  // Resumed: the deadline counts from the resume.
  d["spec"].erase("paused");
  turn(d, {1, 1, 0, 0}, t0 + 200);
  EXPECT_EQ((*condition_of(d, "Progressing"))["reason"], "DeploymentResumed");
  turn(d, {1, 1, 0, 0}, t0 + 203);
  EXPECT_EQ((*condition_of(d, "Progressing"))["reason"], "DeploymentResumed");
  turn(d, {1, 1, 0, 0}, t0 + 204);
  EXPECT_EQ((*condition_of(d, "Progressing"))["reason"], "ProgressDeadlineExceeded");
  // Paused again after timing out: it stays timed out (Kubernetes does not overwrite it).
  d["spec"]["paused"] = true;
  turn(d, {1, 1, 0, 0}, t0 + 300);
  EXPECT_EQ((*condition_of(d, "Progressing"))["reason"], "ProgressDeadlineExceeded");
}

TEST(WorkloadTest, AvailableConditionAndObservedGeneration) {
  Json d = deployment(4);  // maxUnavailable 25%: 1
  turn(d, {4, 4, 3, 3}, 10);
  EXPECT_EQ((*condition_of(d, "Available"))["status"], "True");
  EXPECT_EQ((*condition_of(d, "Available"))["message"], "Deployment has minimum availability.");
  EXPECT_EQ(d["status"]["observedGeneration"], 2);
  d["spec"]["strategy"] = {{"type", "Recreate"}};  // no unavailability allowed
  turn(d, {4, 4, 3, 3}, 20);
  const Json* a = condition_of(d, "Available");
  EXPECT_EQ((*a)["status"], "False");
  EXPECT_EQ((*a)["reason"], "MinimumReplicasUnavailable");
  EXPECT_EQ((*a)["message"], "Deployment does not have minimum availability.");
  turn(d, {4, 4, 3, 3}, 30);
  EXPECT_EQ((*condition_of(d, "Available"))["lastTransitionTime"], rfc3339(20'000));  // times stay
  d["metadata"]["generation"] = 3;
  turn(d, {4, 4, 3, 3}, 40);
  EXPECT_EQ(d["status"]["observedGeneration"], 3);
  EXPECT_EQ(parse_rfc3339(rfc3339(1'800'000'000'000)), 1'800'000'000'000);
  EXPECT_EQ(parse_rfc3339("yesterday"), -1);
}

TEST(WorkloadTest, StatefulSetPodsAndClaimsAreNamedByOrdinal) {
  Json set = Json::parse(R"({"apiVersion":"apps/v1","kind":"StatefulSet",
    "metadata":{"name":"db","namespace":"shop","uid":"s-1","generation":1},
    "spec":{"replicas":2,"selector":{"matchLabels":{"app":"db"}},
      "template":{"metadata":{"labels":{"app":"db"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}},
      "volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"]}}]}})");
  Json pod = make_stateful_pod(set, 1, "db-abc");
  EXPECT_EQ(pod["metadata"]["name"], "db-1");
  EXPECT_EQ(pod["metadata"]["labels"]["controller-revision-hash"], "db-abc");
  EXPECT_EQ(pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"], "data-db-1");
  auto claims = stateful_claims(set, 1);
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0]["metadata"]["name"], "data-db-1");
  EXPECT_EQ(claims[0]["metadata"]["namespace"], "shop");

  set["status"] = stateful_set_status(set, {2, 2, 2, "db-abc", "db-abc"});
  EXPECT_EQ(cd::assess_health(set)->status, cd::HealthStatus::kHealthy) << set["status"].dump();
  set["status"] = stateful_set_status(set, {2, 2, 1, "db-old", "db-abc"});
  EXPECT_EQ(cd::assess_health(set)->status, cd::HealthStatus::kProgressing);
  set["status"] = stateful_set_status(set, {2, 1, 2, "db-abc", "db-abc"});
  EXPECT_EQ(cd::assess_health(set)->status, cd::HealthStatus::kProgressing);
}

TEST(WorkloadTest, JobStatusReadsAsArgoCdHealth) {
  Json job = {{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"metadata", {{"name", "j"}}}};
  JobCounts n;
  n.active = 1;
  job["status"] = job_status(n, 6);
  EXPECT_EQ(cd::assess_health(job)->status, cd::HealthStatus::kProgressing);
  n = {};
  n.succeeded = 1;
  n.complete = true;
  job["status"] = job_status(n, 6);
  EXPECT_EQ(cd::assess_health(job)->status, cd::HealthStatus::kHealthy) << job["status"].dump();
  EXPECT_TRUE(job["status"].contains("completionTime"));
  n = {};
  n.failed = 3;
  n.failed_for_good = true;
  job["status"] = job_status(n, 2);
  auto health = cd::assess_health(job);
  EXPECT_EQ(health->status, cd::HealthStatus::kDegraded);
  EXPECT_EQ(health->message, "Job has reached the specified backoff limit (2)");
}

TEST(WorkloadTest, KindsAndTimes) {
  EXPECT_STREQ(machine_kind("apps/v1", "Deployment")->resource, "deployments.apps");
  EXPECT_EQ(machine_kind("apps/v1", "DaemonSet"), nullptr);
  EXPECT_EQ(machine_kind("v1", "Deployment"), nullptr);
  EXPECT_EQ(rfc3339(0), "1970-01-01T00:00:00Z");
  std::string uid = new_uid();
  EXPECT_EQ(uid.size(), 36u);
  EXPECT_EQ(uid[14], '4');
}

}  // namespace
}  // namespace skiff::machine
