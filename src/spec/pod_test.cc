#include "spec/pod.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "spec/decode.h"

namespace skiff::spec {

namespace {

using Json = nlohmann::json;

const char kWorkflow[] = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: pods}
spec:
  entrypoint: main
  serviceAccountName: ci
  nodeSelector: {disk: ssd}
  tolerations: [{key: a, operator: Exists}]
  podPriorityClassName: low
  hostAliases: [{ip: 10.0.0.1, hostnames: [wf]}]
  podSpecPatch: '{"containers":[{"name":"main"}]}'
  dnsPolicy: None
  securityContext: {runAsUser: 1000}
  podMetadata: {labels: {team: a, tier: wf}, annotations: {note: wf}}
  templates:
    - name: main
      nodeSelector: {disk: hdd}
      priorityClassName: high
      hostAliases: [{ip: 10.0.0.2, hostnames: [t]}]
      podSpecPatch: '{"containers":[{"name":"main","resources":{}}]}'
      securityContext: {runAsUser: 2000}
      metadata: {labels: {tier: t}}
      container: {image: busybox}
    - name: plain
      container: {image: busybox}
)";

Object decode_one(const std::string& yaml) {
  auto d = decode_documents(yaml, "pods.yaml");
  EXPECT_TRUE(d.diagnostics.empty()) << format_all(d.diagnostics);
  return d.objects.empty() ? Object{} : d.objects[0];
}

}  // namespace

TEST(PodFields, DecodedUnderThePodsNamesWithWhereEachWasWritten) {
  Object o = decode_one(kWorkflow);
  Json wf = Json::parse(o.spec.pod.json);
  EXPECT_EQ(wf["nodeSelector"], Json({{"disk", "ssd"}}));
  EXPECT_EQ(wf["priorityClassName"], "low");  // podPriorityClassName on the workflow
  EXPECT_EQ(wf["serviceAccountName"], "ci");
  EXPECT_EQ(wf["dnsPolicy"], "None");
  EXPECT_FALSE(wf.contains("securityContext"));  // typed
  EXPECT_EQ(o.spec.pod.security_context_json, R"({"runAsUser":1000})");
  EXPECT_EQ(o.spec.service_account_name, "ci");
  EXPECT_EQ(o.spec.pod_metadata.labels.at("team"), "a");
  EXPECT_EQ(o.spec.pod.written.at("podPriorityClassName").line, 9);
  EXPECT_EQ(o.spec.pod.written.at("podMetadata").line, 14);
  const Template& t = o.spec.templates[0];
  EXPECT_EQ(Json::parse(t.pod.json)["priorityClassName"], "high");
  EXPECT_EQ(t.pod.written.at("nodeSelector").line, 17);
  EXPECT_EQ(t.pod.written.count("metadata"), 1u);
  EXPECT_TRUE(o.spec.templates[1].pod.json.empty());
  EXPECT_TRUE(o.spec.templates[1].pod.written.empty());
}

TEST(PodFields, WrongShapesAreDiagnostics) {
  auto d = decode_documents(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: x}
spec:
  entrypoint: main
  tolerations: {key: a}
  templates:
    - name: main
      nodeSelector: [a]
      container: {image: busybox}
)", "x.yaml");
  ASSERT_EQ(d.diagnostics.size(), 2u) << format_all(d.diagnostics);
  EXPECT_EQ(d.diagnostics[0].format(), "x.yaml:9:21: spec.templates[0].nodeSelector: must be a map (key: value pairs)");
  EXPECT_EQ(d.diagnostics[1].format(), "x.yaml:6:16: spec.tolerations: must be a list");
}

TEST(PodFields, TemplateWinsOverWorkflowAsArgoMergesThem) {
  Object o = decode_one(kWorkflow);
  Template t = o.spec.templates[0];
  apply_pod_defaults(t, o.spec);
  Json pod = Json::parse(t.pod.json);
  EXPECT_EQ(pod["nodeSelector"], Json({{"disk", "hdd"}}));
  EXPECT_EQ(pod["priorityClassName"], "high");
  EXPECT_EQ(pod["tolerations"].size(), 1u);  // from the workflow
  EXPECT_EQ(pod["serviceAccountName"], "ci");
  ASSERT_EQ(pod["hostAliases"].size(), 2u);  // they add up, the workflow's first
  EXPECT_EQ(pod["hostAliases"][0]["ip"], "10.0.0.1");
  ASSERT_TRUE(pod["podSpecPatch"].is_array());  // both apply, the workflow's first
  EXPECT_EQ(pod["podSpecPatch"][0], R"({"containers":[{"name":"main"}]})");
  EXPECT_EQ(t.pod.security_context_json, R"({"runAsUser":2000})");
  EXPECT_EQ(t.metadata.labels.at("tier"), "t");
  EXPECT_EQ(t.metadata.labels.at("team"), "a");
  EXPECT_EQ(t.metadata.annotations.at("note"), "wf");

  Template plain = o.spec.templates[1];
  apply_pod_defaults(plain, o.spec);
  EXPECT_EQ(plain.pod.json, o.spec.pod.json);
  EXPECT_EQ(plain.pod.security_context_json, R"({"runAsUser":1000})");
}

TEST(PodFields, AWorkflowsOwnFieldsWinOverItsWorkflowTemplates) {
  Object tmpl = decode_one(R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: base}
spec:
  nodeSelector: {disk: ssd}
  schedulerName: base
  hostNetwork: true
  securityContext: {runAsUser: 1}
  templates: [{name: main, container: {image: busybox}}]
)");
  Object wf = decode_one(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: w}
spec:
  workflowTemplateRef: {name: base}
  schedulerName: own
  hostNetwork: false
)");
  WorkflowSpec merged = tmpl.spec;
  override_pod_fields(merged, wf.spec);
  Json pod = Json::parse(merged.pod.json);
  EXPECT_EQ(pod["schedulerName"], "own");
  EXPECT_EQ(pod["nodeSelector"], Json({{"disk", "ssd"}}));
  EXPECT_FALSE(merged.host_network);
  EXPECT_EQ(merged.pod.security_context_json, R"({"runAsUser":1})");
}

TEST(PodFields, LintWarnsAboutIgnoredFieldsAndRefusesPodSpecPatch) {
  Object o = decode_one(kWorkflow);
  PodFieldSupport host{"host", {"hostNetwork"}, {"podSpecPatch"}};
  Diagnostics warnings, errors;
  check_pod_fields(o, nullptr, host, warnings, errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "spec.podSpecPatch");
  EXPECT_EQ(errors[0].pos.line, 11);
  EXPECT_NE(errors[0].message.find("the host executor cannot apply podSpecPatch"), std::string::npos);
  EXPECT_EQ(errors[1].path, "spec.templates[0].podSpecPatch");
  std::vector<std::string> paths;
  for (const auto& w : warnings) paths.push_back(w.format());
  EXPECT_NE(std::find(paths.begin(), paths.end(),
                      "pods.yaml:7:17: spec.nodeSelector: ignored by the host executor: steps run on this machine, "
                      "not as Kubernetes Pods, and run without it"),
            paths.end());
  for (const char* p : {"spec.securityContext", "spec.podMetadata", "spec.serviceAccountName", "spec.tolerations",
                        "spec.templates[0].metadata", "spec.templates[0].securityContext",
                        "spec.templates[0].priorityClassName"})
    EXPECT_NE(std::find_if(warnings.begin(), warnings.end(), [&](const Diagnostic& d) { return d.path == p; }),
              warnings.end())
        << p;

  // What an executor acts on is not warned about.
  PodFieldSupport container{"container", {"hostNetwork", "securityContext"}, {"podSpecPatch"}};
  Diagnostics w2, e2;
  check_pod_fields(o, nullptr, container, w2, e2);
  for (const auto& w : w2) EXPECT_EQ(w.path.find("securityContext"), std::string::npos) << w.format();
  EXPECT_EQ(w2.size() + 2, warnings.size());
}

TEST(PodFields, LintFollowsTemplateRefsIntoTheLibrary) {
  auto d = decode_documents(R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: lib}
spec:
  templates:
    - {name: unused, tolerations: [{key: a}], container: {image: busybox}}
    - {name: used, nodeSelector: {a: b}, container: {image: busybox}}
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: w}
spec:
  entrypoint: main
  templates:
    - name: main
      steps: [[{name: s, templateRef: {name: lib, template: used}}]]
)", "lib.yaml");
  ASSERT_TRUE(d.diagnostics.empty()) << format_all(d.diagnostics);
  Library lib;
  lib.workflow_templates.push_back(&d.objects[0]);
  Diagnostics warnings, errors;
  check_pod_fields(d.objects[1], &lib, PodFieldSupport{"host", {}, {}}, warnings, errors);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].format(),
            "lib.yaml:7:34: spec.templates[1].nodeSelector: ignored by the host executor: steps run on this machine, "
            "not as Kubernetes Pods, and run without it (in WorkflowTemplate lib)");
}

}  // namespace skiff::spec
