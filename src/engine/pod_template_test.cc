// What a Pod node's step is given: pod-level fields merged and every {{...}} resolved.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/test_harness.h"
#include "engine/workflow_json.h"

namespace skiff::engine {

namespace {

using Json = nlohmann::json;

const char kWorkflow[] = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: subst}
spec:
  entrypoint: main
  arguments: {parameters: [{name: zone, value: eu-1}]}
  nodeSelector: {zone: "{{workflow.parameters.zone}}"}
  volumes:
    - {name: shared, hostPath: {path: "/srv/{{workflow.parameters.zone}}"}}
  templates:
    - name: main
      steps:
        - - name: s
            template: t
            arguments: {parameters: [{name: dir, value: "{{item}}"}]}
            withItems: [a]
    - name: t
      inputs: {parameters: [{name: dir}]}
      metadata:
        labels: {dir: "{{inputs.parameters.dir}}"}
        annotations: {vault: "{{ .Data.token }}"}
      tolerations: [{key: "{{inputs.parameters.dir}}", operator: Exists}]
      securityContext: {runAsUser: 1000, fsGroup: "{{inputs.parameters.dir}}"}
      volumes:
        - {name: scratch, hostPath: {path: "/tmp/{{inputs.parameters.dir}}"}}
      initContainers:
        - {name: init, image: "busybox:{{inputs.parameters.dir}}"}
      sidecars:
        - name: side
          image: busybox
          env: [{name: DIR, value: "{{inputs.parameters.dir}}"}]
          resources: {limits: {memory: "{{inputs.parameters.dir}}Mi"}}
      container:
        image: busybox
        command: [sh]
        env:
          - name: FROM
            valueFrom: {secretKeyRef: {name: "creds-{{inputs.parameters.dir}}", key: k}}
        resources: {limits: {cpu: "{{inputs.parameters.dir}}"}}
        securityContext: {runAsGroup: "{{inputs.parameters.dir}}"}
        volumeMounts: [{name: scratch, mountPath: "/data/{{inputs.parameters.dir}}"}]
)";

StartStep run_one(Harness& h) {
  StartStep seen;
  h.run([&](const StartStep& s) {
    seen = s;
    return ok(s);
  });
  EXPECT_EQ(h.op->status().phase, WorkflowPhase::kSucceeded) << h.op->status().message;
  return seen;
}

}  // namespace

TEST(PodTemplate, ReferencesResolveInEveryPartOfTheStep) {
  Harness h(kWorkflow);
  StartStep s = run_one(h);
  const spec::Template& t = s.tmpl;
  EXPECT_EQ(Json::parse(t.pod.json)["tolerations"][0]["key"], "a");
  EXPECT_EQ(Json::parse(t.pod.json)["nodeSelector"]["zone"], "eu-1");  // the workflow's, resolved too
  EXPECT_EQ(Json::parse(t.pod.security_context_json)["fsGroup"], "a");
  EXPECT_EQ(t.metadata.labels.at("dir"), "a");
  EXPECT_EQ(t.metadata.annotations.at("vault"), "{{ .Data.token }}");  // not skiff's: left as written
  EXPECT_EQ(t.init_containers[0].image, "busybox:a");
  EXPECT_EQ(t.sidecars[0].env[0].value, "a");
  EXPECT_EQ(Json::parse(t.sidecars[0].resources_json)["limits"]["memory"], "aMi");
  const spec::Container& c = *t.container;
  EXPECT_EQ(Json::parse(c.env[0].value_from_json)["secretKeyRef"]["name"], "creds-a");
  EXPECT_EQ(Json::parse(c.resources_json)["limits"]["cpu"], "a");
  EXPECT_EQ(Json::parse(c.security_context_json)["runAsGroup"], "a");
  EXPECT_EQ(c.volume_mounts[0].mount_path, "/data/a");
  ASSERT_EQ(s.volumes.size(), 2u);  // the workflow's, then the template's
  EXPECT_EQ(Json::parse(s.volumes[0].source_json)["hostPath"]["path"], "/srv/eu-1");
  EXPECT_EQ(Json::parse(s.volumes[1].source_json)["hostPath"]["path"], "/tmp/a");
}

TEST(PodTemplate, AnUnknownReferenceInASidecarEndsTheNodeInError) {
  Harness h(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: bad}
spec:
  entrypoint: t
  templates:
    - name: t
      sidecars: [{name: side, image: busybox, args: ["{{inputs.parameters.nope}}"]}]
      container: {image: busybox}
)");
  h.run([](const StartStep& s) { return ok(s); });
  EXPECT_EQ(h.node("bad").phase, NodePhase::kError);
  EXPECT_EQ(h.node("bad").message, "unresolved reference \"{{inputs.parameters.nope}}\"");
}

TEST(PodTemplate, SpecWarningsBecomeOneConditionAsArgosDo) {
  RunOptions options;
  options.spec_warnings = {"spec.nodeSelector: ignored", "spec.tolerations: ignored"};
  Harness h(kWorkflow, options);
  run_one(h);
  ASSERT_EQ(h.op->status().conditions.size(), 1u);
  Json wf = Json::parse(workflow_json(h.decoded.objects[0], *h.op));
  EXPECT_EQ(wf["status"]["conditions"],
            Json::parse(R"([{"type": "SpecWarning", "status": "True",
                             "message": "spec.nodeSelector: ignored, spec.tolerations: ignored"}])"));
}

}  // namespace skiff::engine
