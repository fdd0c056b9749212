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
