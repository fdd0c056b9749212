#include "cd/diff.h"

#include <gtest/gtest.h>

#include "cd/diff_text.h"

namespace skiff::cd {
namespace {

using nlohmann::json;

json desired_deployment() {
  return json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web"}},
    "spec": {
      "replicas": 2,
      "selector": {"matchLabels": {"app": "web"}},
      "template": {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{
          "name": "web", "image": "nginx:1.27",
          "ports": [{"containerPort": 80}],
          "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
          "resources": {"requests": {"cpu": "0.5", "memory": "64Mi"}, "limits": {"cpu": 1}}
        }]}
      }
    }
  })");
}

// The same Deployment as the API server returns it: defaults filled, server metadata,
// status, the tools' annotations, env reordered by a patch.
json live_deployment() {
  return json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web"},
      "uid": "5a9c", "resourceVersion": "812", "generation": 1, "creationTimestamp": "2026-12-01T03:00:00Z",
      "annotations": {"deployment.kubernetes.io/revision": "1"},
      "managedFields": [{"manager": "skiff", "operation": "Apply", "apiVersion": "apps/v1",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}},
          "f:spec": {"f:replicas": {}}}}]},
    "spec": {
      "replicas": 2, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
      "selector": {"matchLabels": {"app": "web"}},
      "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
      "template": {
        "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
        "spec": {
          "containers": [{
            "name": "web", "image": "nginx:1.27",
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
            "resources": {"requests": {"cpu": "500m", "memory": "64Mi"}, "limits": {"cpu": "1"}},
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent"
          }],
          "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
          "securityContext": {}, "schedulerName": "default-scheduler"
        }
      }
    },
    "status": {"observedGeneration": 1, "replicas": 2, "readyReplicas": 2}
  })");
}

TEST(Diff, DefaultsAndServerFieldsDoNotDrift) {
  Diff d = diff(desired_deployment(), live_deployment());
  EXPECT_FALSE(d.modified) << d.text;
  EXPECT_TRUE(d.paths.empty());
  EXPECT_EQ(d.text, "");
  EXPECT_EQ(d.normalized_live, d.normalized_target);
  EXPECT_FALSE(d.normalized_live["spec"].contains("revisionHistoryLimit"));
}

TEST(Diff, ChangedReplicasAndImageDrift) {
  json live = live_deployment();
  live["spec"]["replicas"] = 5;
  live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.25";
  Diff d = diff(desired_deployment(), live);
  EXPECT_TRUE(d.modified);
  EXPECT_EQ(d.paths, (std::vector<std::string>{"/spec/replicas", "/spec/template/spec/containers/0/image"}));
  EXPECT_NE(d.text.find("-  replicas: 5\n+  replicas: 2\n"), std::string::npos) << d.text;
  EXPECT_NE(d.text.find("-        image: nginx:1.25\n+        image: nginx:1.27\n"), std::string::npos) << d.text;
  EXPECT_EQ(d.text.rfind("--- live\n+++ desired\n@@ ", 0), 0u) << d.text;
}

TEST(Diff, LabelsOnlyLiveHasAreIgnoredButOnesRemovedFromGitDrift) {
  json live = live_deployment();
  live["metadata"]["labels"]["added-by-hand"] = "x";  // nobody applied it: ignored
  EXPECT_FALSE(diff(desired_deployment(), live).modified);

  // skiff applied label "tier" before (its managedFields entry says so); git dropped it.
  live["metadata"]["labels"]["tier"] = "front";
  live["metadata"]["managedFields"][0]["fieldsV1"]["f:metadata"]["f:labels"]["f:tier"] = json::object();
  Diff d = diff(desired_deployment(), live);
  EXPECT_TRUE(d.modified);
  EXPECT_EQ(d.paths, std::vector<std::string>{"/metadata/labels/tier"});
  EXPECT_EQ(d.normalized_live["metadata"]["labels"]["tier"], "front");
  // Another applier's name: not skiff's field.
  EXPECT_FALSE(diff(desired_deployment(), live, {{}, {}, {}, "argocd-controller"}).modified);

  // kubectl's last-applied-configuration says the same for client-side applies.
  json by_kubectl = live_deployment();
  by_kubectl["metadata"].erase("managedFields");
  by_kubectl["metadata"]["labels"]["tier"] = "front";
  json last = desired_deployment();
  last["metadata"]["labels"]["tier"] = "front";
  by_kubectl["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = last.dump();
  d = diff(desired_deployment(), by_kubectl);
  EXPECT_EQ(d.paths, std::vector<std::string>{"/metadata/labels/tier"});
}

TEST(Diff, IgnoreDifferencesByPointerAndJqPath) {
  json live = live_deployment();
  live["spec"]["replicas"] = 7;  // an autoscaler's
  live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:patched";
  EXPECT_TRUE(diff(desired_deployment(), live).modified);
  DiffOptions options;
  options.json_pointers = {"/spec/replicas"};
  EXPECT_EQ(diff(desired_deployment(), live, options).paths,
            std::vector<std::string>{"/spec/template/spec/containers/0/image"});
  options.jq_path_expressions = {".spec.template.spec.containers[].image"};
  EXPECT_FALSE(diff(desired_deployment(), live, options).modified);
  // A jq program beyond a path is skipped, not an error.
  options.jq_path_expressions = {".spec.template.spec.containers[] | select(.name == \"web\") | .image"};
  EXPECT_TRUE(diff(desired_deployment(), live, options).modified);
  // A pointer to nothing, or no pointer at all, removes nothing.
  options = {};
  options.json_pointers = {"/no/such", "not-a-pointer", "", "/spec/template/spec/containers/99999999999999999999999",
                           "/spec/template/spec/containers/1/image"};
  EXPECT_TRUE(diff(desired_deployment(), live, options).modified);
}

TEST(Diff, FieldsOwnedByIgnoredManagersDoNotDrift) {
  json live = live_deployment();
  live["spec"]["replicas"] = 4;
  live["spec"]["template"]["spec"]["containers"][0]["env"][1]["value"] = "changed";  // A, at index 1 in live
  live["metadata"]["managedFields"].push_back(json::parse(R"({"manager": "kube-controller-manager", "operation": "Update",
    "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
      "k:{\"name\":\"web\"}": {".": {}, "f:env": {"k:{\"name\":\"A\"}": {".": {}, "f:value": {}}}}}}}}}})"));
  EXPECT_EQ(diff(desired_deployment(), live).paths,
            (std::vector<std::string>{"/spec/replicas", "/spec/template/spec/containers/0/env/1/value"}));
  DiffOptions options;
  options.managed_fields_managers = {"kube-controller-manager"};
  Diff d = diff(desired_deployment(), live, options);
  EXPECT_FALSE(d.modified) << d.text;
}

TEST(Diff, QuantitiesAndIntOrStringsCompareByValue) {
  json live = live_deployment();
  auto& resources = live["spec"]["template"]["spec"]["containers"][0]["resources"];
  resources["requests"]["memory"] = "67108864";  // 64Mi
  resources["limits"]["cpu"] = "1000m";
  EXPECT_FALSE(diff(desired_deployment(), live).modified);
  resources["limits"]["cpu"] = "1001m";
  EXPECT_EQ(diff(desired_deployment(), live).paths,
            std::vector<std::string>{"/spec/template/spec/containers/0/resources/limits/cpu"});

  json svc = {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", {{"name", "web"}}},
              {"spec", {{"ports", {{{"port", 80}, {"targetPort", "8080"}}}}}}};
  json svc_live = svc;
  svc_live["spec"]["ports"][0]["targetPort"] = 8080;
  svc_live["spec"]["ports"][0]["protocol"] = "TCP";
  svc_live["spec"]["clusterIP"] = "10.96.3.4";
  EXPECT_FALSE(diff(svc, svc_live).modified);
  // Outside quantity fields, "1" and "1000m" are different strings.
  json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "c"}}}, {"data", {{"cpu", "1"}}}};
  json cm_live = cm;
  cm_live["data"]["cpu"] = "1000m";
  EXPECT_TRUE(diff(cm, cm_live).modified);
}

TEST(Diff, SecretStringDataIsFoldedIntoData) {
  json desired = {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "s"}}}, {"type", "Opaque"},
                  {"stringData", {{"password", "hunter2"}}}, {"data", {{"user", "YWRtaW4="}}}};
  json live = {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "s"}, {"uid", "1"}}}, {"type", "Opaque"},
               {"data", {{"user", "YWRtaW4="}, {"password", "aHVudGVyMg=="}}}};
  Diff d = diff(desired, live);
  EXPECT_FALSE(d.modified) << d.text;
  EXPECT_FALSE(d.normalized_target.contains("stringData"));
  live["data"]["password"] = "b3RoZXI=";
  EXPECT_EQ(diff(desired, live).paths, std::vector<std::string>{"/data/password"});
}

TEST(Diff, ListsByMergeKeyAndByPosition) {
  json live = live_deployment();
  auto& env = live["spec"]["template"]["spec"]["containers"][0]["env"];
  env.push_back({{"name", "INJECTED"}, {"value", "by a webhook"}});  // live-only element: ignored
  EXPECT_FALSE(diff(desired_deployment(), live).modified);
  env.erase(1);  // "A" gone from live
  EXPECT_EQ(diff(desired_deployment(), live).paths,
            std::vector<std::string>{"/spec/template/spec/containers/0/env/0"});

  // args are a plain list: order and length count.
  json desired = desired_deployment();
  desired["spec"]["template"]["spec"]["containers"][0]["args"] = {"--a", "--b"};
  json live2 = live_deployment();
  live2["spec"]["template"]["spec"]["containers"][0]["args"] = {"--b", "--a"};
  EXPECT_EQ(diff(desired, live2).paths,
            (std::vector<std::string>{"/spec/template/spec/containers/0/args/0", "/spec/template/spec/containers/0/args/1"}));
  live2["spec"]["template"]["spec"]["containers"][0]["args"] = {"--a"};
  EXPECT_EQ(diff(desired, live2).paths, std::vector<std::string>{"/spec/template/spec/containers/0/args"});
  live2["spec"]["template"]["spec"]["containers"][0]["args"] = {"--a", "--b"};
  EXPECT_FALSE(diff(desired, live2).modified);
}

TEST(Diff, EmptyDesiredValuesTheServerDropsDoNotDrift) {
  json desired = desired_deployment();
  desired["metadata"]["annotations"] = json::object();
  desired["metadata"]["creationTimestamp"] = nullptr;
  desired["spec"]["template"]["spec"]["volumes"] = json::array();
  desired["status"] = json::object();
  EXPECT_FALSE(diff(desired, live_deployment()).modified);
}

TEST(Diff, AMissingLiveObjectIsModified) {
  Diff d = diff(desired_deployment(), nullptr);
  EXPECT_TRUE(d.modified);
  EXPECT_EQ(d.paths, std::vector<std::string>{""});
  EXPECT_TRUE(d.normalized_live.is_null());
  EXPECT_NE(d.text.find("+kind: Deployment\n"), std::string::npos) << d.text;
}

TEST(Diff, OddShapesNeitherThrowNorPass) {
  const char* shapes[] = {"null", "[]", "3", "\"x\"", "{}", R"({"metadata": 3, "kind": "Secret", "apiVersion": "v1", "stringData": 1})",
                          R"({"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "[1"}}})",
                          R"({"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "[1,2]"}}})",
                          R"({"metadata": {"annotations": 5, "managedFields": [1, {"manager": 2}, {"manager": "skiff",
                              "operation": "Apply", "fieldsV1": {"f:metadata": {"f:annotations": {}, "f:x": {"k:nope": {}, "i:z": {}}},
                              "f:spec": {"f:a": {"v:[": {}, "i:0": {}, "i:99": {}}, "x": {}, "f:": {}}}}]}, "spec": {"a": [1]}})"};
  DiffOptions options;
  options.json_pointers = {"/spec/a/0", "/metadata/~2"};
  options.jq_path_expressions = {".spec.a[", ".spec.a[\"x\"]", "..", ".", "[]", ".spec.a[0]"};
  options.managed_fields_managers = {"skiff"};
  for (const char* d : shapes) {
    for (const char* l : shapes) {
      json desired = json::parse(d), live = json::parse(l);
      EXPECT_NO_THROW(diff(desired, live)) << d << " vs " << l;
      EXPECT_NO_THROW(diff(desired, live, options)) << d << " vs " << l;
    }
  }
  EXPECT_TRUE(diff(json::parse(R"({"spec": {"a": 1}})"), json::parse(R"({"spec": [1]})")).modified);
}

TEST(DiffText, YamlQuotesWhatYamlWouldMisread) {
  json v = {{"a", "plain"}, {"b", "1"}, {"c", "true"}, {"d", ""}, {"e", "x: y"}, {"i", "nginx:1.27"}, {"f", 3}, {"g", json::array()},
            {"h", {{"k", {1, {{"x", "v"}, {"z", 2}}}}}}};
  EXPECT_EQ(to_yaml(v),
            "a: plain\nb: \"1\"\nc: \"true\"\nd: \"\"\ne: \"x: y\"\nf: 3\ng: []\nh:\n  k:\n  - 1\n  - x: v\n    z: 2\ni: nginx:1.27\n");
}

TEST(DiffText, UnifiedDiffHunks) {
  EXPECT_EQ(unified_diff("a\nb\n", "a\nb\n"), "");
  std::string live, desired;
  for (int i = 0; i < 20; ++i) {
    live += "l" + std::to_string(i) + "\n";
    desired += (i == 10 ? std::string("changed") : "l" + std::to_string(i)) + "\n";
  }
  EXPECT_EQ(unified_diff(live, desired),
            "--- live\n+++ desired\n@@ -8,7 +8,7 @@\n l7\n l8\n l9\n-l10\n+changed\n l11\n l12\n l13\n");
}


// RespectIgnoreDifferences=true: what sync applies keeps the live values of ignored fields.
TEST(RespectIgnored, KeepsLiveValuesOfIgnoredFields) {
  json desired = desired_deployment();
  json live = live_deployment();
  live["spec"]["replicas"] = 7;                                                    // scaled by an autoscaler
  live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28";       // set by hand
  DiffOptions options;
  options.json_pointers = {"/spec/replicas", "/metadata/labels/missing"};
  options.jq_path_expressions = {".spec.template.spec.containers[].image"};
  json applied = respect_ignored(desired, live, options);
  EXPECT_EQ(applied["spec"]["replicas"], 7);
  EXPECT_EQ(applied["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.28");
  EXPECT_EQ(applied["spec"]["template"]["spec"]["containers"][0]["name"], "web");  // the rest as desired
  EXPECT_FALSE(applied["metadata"]["labels"].contains("missing"));

  // A field the desired object sets and live lacks is left out (not forced onto live).
  json no_replicas = live;
  no_replicas["spec"].erase("replicas");
  EXPECT_FALSE(respect_ignored(desired, no_replicas, options)["spec"].contains("replicas"));
  // A missing live object: applied as desired.
  EXPECT_EQ(respect_ignored(desired, nullptr, options), desired);
  // A field desired lacks and live has is carried over.
  json fewer = desired;
  fewer["spec"].erase("replicas");
  EXPECT_EQ(respect_ignored(fewer, live, options)["spec"]["replicas"], 7);
}

TEST(RespectIgnored, ManagedFieldsManagersKeepTheirValues) {
  json desired = desired_deployment();
  json live = live_deployment();
  live["spec"]["replicas"] = 5;
  live["metadata"]["managedFields"].push_back(json::parse(R"({"manager": "kube-controller-manager", "operation": "Update",
      "apiVersion": "apps/v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}})"));
  DiffOptions options;
  options.managed_fields_managers = {"kube-controller-manager"};
  EXPECT_EQ(respect_ignored(desired, live, options)["spec"]["replicas"], 5);
}

}  // namespace
}  // namespace skiff::cd
