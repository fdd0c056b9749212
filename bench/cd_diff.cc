// The pure part of an Application reconcile round, the issue's shape: 1,000 applications
// of 10 resources (a Deployment as the API server returns it, with its managedFields),
// each diffed against its manifest and assessed for health. Prints the time per round,
// per object, and the ratio to a floor: copying every live object once (what any diff
// must at least do to normalise). Nothing asserts a timing.
//   build/src/cd/cd_bench [apps]        (default 1000)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cd/diff.h"
#include "cd/health.h"

using nlohmann::json;

namespace {

json manifest(int i) {
  json m = json::parse(R"({"apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web", "tier": "front"}},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
      "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
        "name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}],
        "resources": {"requests": {"cpu": "0.5", "memory": "64Mi"}, "limits": {"cpu": 1}}}]}}}})");
  m["metadata"]["name"] = "web-" + std::to_string(i);
  return m;
}

json live_of(const json& m) {
  json l = m;
  l["metadata"].update(json::parse(R"({"uid": "5a9c", "resourceVersion": "812", "generation": 1,
    "creationTimestamp": "2026-12-01T03:00:00Z", "annotations": {"deployment.kubernetes.io/revision": "1"},
    "managedFields": [{"manager": "skiff", "operation": "Apply", "fieldsV1": {
      "f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}}, "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {
        "f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}}]})"));
  auto& c = l["spec"]["template"]["spec"]["containers"][0];
  c["resources"]["requests"]["cpu"] = "500m";
  c["resources"]["limits"]["cpu"] = "1";
  c["ports"][0]["protocol"] = "TCP";
  c["imagePullPolicy"] = "IfNotPresent";
  c["terminationMessagePath"] = "/dev/termination-log";
  l["spec"]["template"]["spec"].update({{"restartPolicy", "Always"}, {"dnsPolicy", "ClusterFirst"}, {"schedulerName", "default-scheduler"}});
  l["spec"].update({{"revisionHistoryLimit", 10}, {"progressDeadlineSeconds", 600}});
  l["status"] = {{"observedGeneration", 1}, {"replicas", 2}, {"updatedReplicas", 2}, {"availableReplicas", 2}};
  return l;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  int apps = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int per_app = 10;
  std::vector<json> manifests, lives;
  for (int i = 0; i < per_app; ++i) {
    manifests.push_back(manifest(i));
    lives.push_back(live_of(manifests.back()));
  }
  size_t copied = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int a = 0; a < apps; ++a)
    for (int i = 0; i < per_app; ++i) copied += json(lives[i]).size();
  double floor = seconds_since(t0);

  size_t drifted = 0, healthy = 0;
  t0 = std::chrono::steady_clock::now();
  for (int a = 0; a < apps; ++a) {
    std::vector<skiff::cd::HealthStatus> statuses;
    for (int i = 0; i < per_app; ++i) {
      drifted += skiff::cd::diff(manifests[i], lives[i]).modified;
      std::optional<skiff::cd::Health> h = skiff::cd::assess_health(lives[i]);
      statuses.push_back(h ? h->status : skiff::cd::HealthStatus::kHealthy);
    }
    healthy += skiff::cd::aggregate_health(statuses) == skiff::cd::HealthStatus::kHealthy;
  }
  double round = seconds_since(t0);
  int objects = apps * per_app;
  std::printf("cd diff+health: %d apps x %d Deployments: %.3f s per round, %.1f us per object "
              "(floor, one copy per object: %.3f s; ratio %.1fx); drifted %zu, healthy apps %zu (%zu)\n",
              apps, per_app, round, round * 1e6 / objects, floor, floor > 0 ? round / floor : 0.0, drifted, healthy,
              copied);
  return drifted == 0 && healthy == static_cast<size_t>(apps) ? 0 : 1;
}
