// cd's diff and health against the real test cluster (scripts/k8s-up; ctest cd/diff-k8s):
// manifests applied with server-side apply and read back must show no drift — the API
// server's real defaulting is the test — and a change by another manager must. Every run
// works in a namespace of its own and deletes it. Exits 77 (skipped) when the cluster is not up.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cd/diff.h"
#include "cd/health.h"
#include "kube/client.h"
#include "util/json_text.h"

namespace skiff::cd {
namespace {

using nlohmann::json;

std::string g_kubeconfig;
std::string g_kubectl;

// kubectl's stdout for `args` (shell words), or "" when it fails.
std::string kubectl(const std::string& args) {
  std::string command = g_kubectl + " --kubeconfig " + g_kubeconfig + " " + args;
  FILE* out = ::popen(command.c_str(), "r");
  if (!out) return "";
  std::string text;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, out)) > 0;) text.append(buffer, n);
  return ::pclose(out) == 0 ? text : "";
}

class ClusterDiffTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<kube::ClusterConfig> config = kube::load_kubeconfig(g_kubeconfig);
    ASSERT_TRUE(config) << config.status().message();
    client_ = new kube::Client(*config);
    ns_ = "skiff-cd-diff-" + std::to_string(::getpid()) + "-" + std::to_string(std::time(nullptr) % 100000);
    Result<json> created = client_->create({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns_}}}}, "");
    ASSERT_TRUE(created) << created.status().message();
  }
  static void TearDownTestSuite() {
    if (!client_) return;
    Status s = client_->remove({"v1", "Namespace", "", ns_}, "", {kube::Propagation::kBackground});
    EXPECT_TRUE(s) << s.message();
    delete client_;
    client_ = nullptr;
  }

  // Applies `manifest` as the sync does and returns the object as the API server keeps it.
  static json apply(const json& manifest) {
    // Forced: take back fields a hand edit took over, as a sync does.
    Result<json> applied = client_->apply(manifest, ns_, {"skiff", true});
    EXPECT_TRUE(applied) << applied.status().message();
    return applied ? *applied : json();
  }

  template <class F>
  static bool eventually(F predicate, int seconds = 120) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < end) {
      if (predicate()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return false;
  }

  static kube::Client* client_;
  static std::string ns_;
};

kube::Client* ClusterDiffTest::client_ = nullptr;
std::string ClusterDiffTest::ns_;

json deployment() {
  return json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
      "replicas": 1,
      "selector": {"matchLabels": {"app": "web"}},
      "template": {
        "metadata": {"labels": {"app": "web"}},
        "spec": {
          "terminationGracePeriodSeconds": 1,
          "containers": [{
            "name": "web", "image": "busybox:1.36", "command": ["sleep", "3600"],
            "ports": [{"containerPort": 8080, "name": "http"}],
            "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
            "resources": {"requests": {"cpu": "0.05", "memory": "16Mi"}, "limits": {"cpu": 1, "memory": "0.0625Gi"}},
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]
          }],
          "volumes": [{"name": "data", "emptyDir": {}}]
        }
      }
    }
  })");
}

TEST_F(ClusterDiffTest, AppliedManifestsShowNoDrift) {
  std::vector<json> manifests = {
      deployment(),
      json::parse(R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "web", "port": 80, "targetPort": "http"}, {"name": "alt", "port": 81, "targetPort": 8081}]}})"),
      json::parse(R"({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf", "annotations": {}},
        "data": {"a": "1"}})"),
      json::parse(R"({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
        "stringData": {"password": "hunter2"}})"),
      json::parse(R"({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
        "spec": {"serviceName": "db", "replicas": 0, "selector": {"matchLabels": {"app": "db"}},
          "template": {"metadata": {"labels": {"app": "db"}},
            "spec": {"containers": [{"name": "db", "image": "busybox:1.36", "args": ["sleep", "3600"]}]}}}})"),
      json::parse(R"({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 3 * * *", "suspend": true, "jobTemplate": {"spec": {"template": {
          "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36"}]}}}}}})"),
  };
  for (const json& manifest : manifests) {
    json live = apply(manifest);
    ASSERT_TRUE(live.is_object());
    Diff d = diff(manifest, live);
    EXPECT_FALSE(d.modified) << manifest["kind"] << ":\n" << d.text;
  }
}

TEST_F(ClusterDiffTest, ChangesByAnotherManagerDriftUnlessIgnored) {
  json manifest = deployment();
  manifest["metadata"]["name"] = "scaled";
  manifest["spec"]["replicas"] = 0;
  apply(manifest);
  // A hand edit (kubectl's own field manager) scales it and adds a label.
  ASSERT_NE(kubectl("-n " + ns_ + " patch deployment scaled --type merge --field-manager hand -p "
                    "'{\"spec\":{\"replicas\":2},\"metadata\":{\"labels\":{\"by-hand\":\"x\"}}}'"),
            "");
  Result<json> read = client_->get({"apps/v1", "Deployment", ns_, "scaled"}, ns_);  // with its managedFields
  ASSERT_TRUE(read) << read.status().message();
  const json& patched = *read;
  Diff d = diff(manifest, patched);
  EXPECT_EQ(d.paths, std::vector<std::string>{"/spec/replicas"}) << d.text;
  DiffOptions options;
  options.managed_fields_managers = {"hand"};
  d = diff(manifest, patched, options);
  EXPECT_FALSE(d.modified) << d.text;

  // A label skiff applied and git dropped drifts until the next apply removes it.
  json labelled = manifest;
  labelled["metadata"]["labels"]["tier"] = "front";
  json live = apply(labelled);
  d = diff(manifest, live);
  EXPECT_NE(std::find(d.paths.begin(), d.paths.end(), "/metadata/labels/tier"), d.paths.end()) << d.text;
  live = apply(manifest);
  EXPECT_FALSE(live["metadata"]["labels"].contains("tier"));
}

TEST_F(ClusterDiffTest, DeploymentRollsOutToHealthy) {
  json manifest = deployment();
  manifest["metadata"]["name"] = "rolling";
  json live = apply(manifest);
  std::optional<Health> first = assess_health(live);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, HealthStatus::kProgressing) << first->message;
  std::string last_message;
  bool healthy = eventually([&] {
    Result<json> now = client_->get({"apps/v1", "Deployment", ns_, "rolling"}, ns_);
    if (!now) return false;
    std::optional<Health> h = assess_health(*now);
    last_message = h ? h->message : "";
    return h && h->status == HealthStatus::kHealthy;
  });
  EXPECT_TRUE(healthy) << last_message;

  // Its pod, as the kubelet reports it, is Healthy too; the ConfigMap has no health.
  Result<json> pods = client_->list("v1", "Pod", ns_, {"app=web", ""});
  ASSERT_TRUE(pods) << pods.status().message();
  bool any_healthy = false;
  for (const json& pod : (*pods)["items"]) {
    std::optional<Health> h = assess_health(pod);
    any_healthy = any_healthy || (h && h->status == HealthStatus::kHealthy);
  }
  EXPECT_TRUE(any_healthy) << pods->dump();
  Result<json> cm = client_->apply(json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"plain"}})"), ns_, {});
  ASSERT_TRUE(cm);
  EXPECT_FALSE(assess_health(*cm));
}

}  // namespace
}  // namespace skiff::cd

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* state = std::getenv("SKIFF_K8S_STATE");
  std::string env_path = std::string(state && *state ? state : "/var/tmp/skiff-k8s") + "/env.json";
  std::ifstream in(env_path);
  if (!in) {
    std::fprintf(stderr, "the test cluster is not up (no %s): run scripts/k8s-up\n", env_path.c_str());
    return 77;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto env = skiff::parse_json_or_discarded<nlohmann::json>(text);
  if (!env.is_object() || !env.contains("kubeconfig") || !env["kubeconfig"].is_string()) {
    std::fprintf(stderr, "%s names no kubeconfig\n", env_path.c_str());
    return 1;
  }
  skiff::cd::g_kubeconfig = env["kubeconfig"];
  skiff::cd::g_kubectl = env.value("bin", "") + "/kubectl";
  return RUN_ALL_TESTS();
}
