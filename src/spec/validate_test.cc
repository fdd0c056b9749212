#include "spec/validate.h"

#include <gtest/gtest.h>

#include "spec/decode.h"

namespace skiff::spec {

namespace {

std::string lint(const std::string& yaml, std::vector<std::string> supplied = {}) {
  auto d = decode_documents(yaml, "w.yaml");
  Library lib;
  for (const auto& o : d.objects)
    if (o.kind == Kind::kWorkflowTemplate) lib.workflow_templates.push_back(&o);
  for (const auto& o : d.objects) validate(o, lib, d.diagnostics, supplied);
  return format_all(d.diagnostics);
}

const char* kHead = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n";

}  // namespace

TEST(Validate, CleanWorkflowHasNoProblems) {
  EXPECT_EQ(lint(std::string(kHead) + R"(  entrypoint: main
  arguments: {parameters: [{name: p, value: x}]}
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: echo, arguments: {parameters: [{name: m, value: "{{workflow.parameters.p}}"}]}}
          - {name: b, depends: a.Failed, template: echo, arguments: {parameters: [{name: m, value: "{{tasks.a.outputs.result}}"}]}}
    - name: echo
      inputs: {parameters: [{name: m}]}
      container: {image: busybox, command: [echo, "{{inputs.parameters.m}}"]}
)"), "");
}

TEST(Validate, MissingEntrypointAndTemplates) {
  std::string out = lint(std::string(kHead) + "  entrypoint: mian\n  templates:\n    - name: main\n      dag: {tasks: [{name: a, template: nope}]}\n");
  EXPECT_NE(out.find("entrypoint template \"mian\" not found; did you mean \"main\"?"), std::string::npos) << out;
  EXPECT_NE(out.find("w.yaml:8:21: spec.templates[0].dag.tasks[0].template: template \"nope\" not found"), std::string::npos) << out;
}

TEST(Validate, DependsProblemsAndCycles) {
  std::string out = lint(std::string(kHead) + R"(  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: ok, depends: c}
          - {name: b, template: ok, depends: "a &&"}
          - {name: c, template: ok, depends: "a || zz"}
    - name: ok
      container: {image: busybox}
)");
  EXPECT_NE(out.find("dependency cycle: a -> c -> a"), std::string::npos) << out;
  EXPECT_NE(out.find("depends \"a &&\""), std::string::npos) << out;
  EXPECT_NE(out.find("unknown task \"zz\""), std::string::npos) << out;
}

TEST(Validate, RequiredInputsTypesAndDuplicates) {
  std::string out = lint(std::string(kHead) + R"(  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: s, template: needs}
          - {name: s, template: needs, arguments: {parameters: [{name: x, value: 1}]}}
    - name: needs
      inputs: {parameters: [{name: x}]}
      container: {image: busybox}
      script: {image: busybox, source: x}
    - name: needs
      suspend: {}
)");
  EXPECT_NE(out.find("does not pass input parameter \"x\""), std::string::npos) << out;
  EXPECT_NE(out.find("duplicate step name \"s\""), std::string::npos) << out;
  EXPECT_NE(out.find("more than one type"), std::string::npos) << out;
  EXPECT_NE(out.find("duplicate template name \"needs\""), std::string::npos) << out;
}

TEST(Validate, ReferencesEnumsAndRetry) {
  std::string out = lint(std::string(kHead) + R"(  entrypoint: main
  arguments: {parameters: [{name: env, value: prod, enum: [dev]}, {name: branch}]}
  templates:
    - name: main
      retryStrategy: {limit: many, retryPolicy: Sometimes}
      container: {image: busybox, command: [echo, "{{inputs.parameters.nope}} {{workflow.parameters.other}}"]}
)");
  EXPECT_NE(out.find("\"prod\" is not one of the enum values [dev]"), std::string::npos) << out;
  EXPECT_NE(out.find("workflow parameter \"branch\" has no value"), std::string::npos) << out;
  EXPECT_NE(out.find("{{inputs.parameters.nope}}"), std::string::npos) << out;
  EXPECT_NE(out.find("{{workflow.parameters.other}}"), std::string::npos) << out;
  EXPECT_NE(out.find("limit \"many\""), std::string::npos) << out;
  EXPECT_NE(out.find("retryPolicy \"Sometimes\""), std::string::npos) << out;
  EXPECT_EQ(lint(std::string(kHead) + "  entrypoint: m\n  arguments: {parameters: [{name: b}]}\n  templates: [{name: m, suspend: {}}]\n", {"b"}), "");
}

TEST(Validate, TemplateRefsResolveThroughTheLibrary) {
  std::string yaml = std::string(kHead) + R"(  workflowTemplateRef: {name: lib}
---
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: lib}
spec:
  entrypoint: main
  templates:
    - name: main
      steps: [[{name: a, templateRef: {name: lib, template: main2}}, {name: b, templateRef: {name: other, template: x}}]]
)";
  std::string out = lint(yaml);
  EXPECT_NE(out.find("template \"main2\" not found in WorkflowTemplate \"lib\"; did you mean \"main\"?"), std::string::npos) << out;
  EXPECT_NE(out.find("WorkflowTemplate \"other\" not found"), std::string::npos) << out;
}

TEST(Validate, MetricsBlocks) {
  const char* reference = R"(
          - {name: exec_duration_gauge, labels: [{key: name, value: "{{inputs.parameters.m}}"}], help: "Duration gauge by name", gauge: {value: "{{duration}}", realtime: false}}
          - {name: result_counter, help: "Count of step execution by result status", labels: [{key: status, value: Failed}], when: "{{status}} == Failed", counter: {value: "1"}}
          - {name: result_counter, help: "Count of step execution by result status", labels: [{key: status, value: Succeeded}], when: "{{status}} == Succeeded", counter: {value: "1"}}
          - {name: sizes, help: "h", histogram: {value: "{{outputs.result}}", buckets: [1, 2.5, "10"]}}
)";
  std::string body = std::string(kHead) + R"(  entrypoint: echo
  arguments: {parameters: [{name: m, value: x}]}
  metrics:
    prometheus:
      - {name: wf_runs, help: "runs", labels: [{key: status, value: "{{workflow.status}}"}], counter: {value: "1"}}
  templates:
    - name: echo
      inputs: {parameters: [{name: m}]}
      container: {image: busybox}
      metrics:
        prometheus:)";
  EXPECT_EQ(lint(body + reference), "");

  std::string out = lint(body + R"(
          - {name: 1bad-name, help: "h", counter: {value: "1"}}
          - {name: no_help, counter: {value: "1"}}
          - {help: "no name", counter: {value: "1"}}
          - {name: two, help: "h", counter: {value: "1"}, gauge: {value: "1"}}
          - {name: none, help: "h"}
          - {name: hist, help: "h", histogram: {value: "1"}}
          - {name: labels, help: "h", labels: [{key: bad-key, value: x}, {key: ok, value: ""}, {key: k, value: "{{inputs.parameters.nope}}"}], gauge: {value: "1", realtim: true}}
)");
  EXPECT_NE(out.find("w.yaml:11:7: spec.templates[0].metrics.prometheus[0].name: metric name \"1bad-name\" is invalid"), std::string::npos) << out;
  EXPECT_NE(out.find("prometheus[1].help: metric \"no_help\" needs a help string"), std::string::npos) << out;
  EXPECT_NE(out.find("prometheus[2].name: a metric needs a name"), std::string::npos) << out;
  EXPECT_NE(out.find("prometheus[3]: metric \"two\" has more than one type (gauge, counter); keep exactly one"), std::string::npos) << out;
  EXPECT_NE(out.find("prometheus[4]: metric \"none\" has no type"), std::string::npos) << out;
  EXPECT_NE(out.find("prometheus[5].histogram.buckets: histogram metric \"hist\" needs buckets"), std::string::npos) << out;
  EXPECT_NE(out.find("prometheus[6].labels[0].key: label key \"bad-key\" of metric \"labels\" is invalid"), std::string::npos) << out;
  EXPECT_NE(out.find("prometheus[6].labels[1].value: label \"ok\" of metric \"labels\" needs a value"), std::string::npos) << out;
  EXPECT_NE(out.find("prometheus[6].labels[2].value: {{inputs.parameters.nope}}"), std::string::npos) << out;
  EXPECT_NE(out.find("prometheus[6].gauge.realtim: unknown field \"realtim\"; did you mean \"realtime\"?"), std::string::npos) << out;
}

}  // namespace skiff::spec
