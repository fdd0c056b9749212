#include "spec/decode.h"

#include <gtest/gtest.h>

namespace skiff::spec {

TEST(Decode, WorkflowWithDagAndScript) {
  auto d = decode_documents(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: ci-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: n, value: 3}, {name: obj, value: {a: 1}}]
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: s, withItems: [x, 2, {k: v}]}
          - {name: b, depends: a, templateRef: {name: lib, template: t}}
    - name: s
      retryStrategy: {limit: 2, backoff: {duration: 1s, factor: 2}}
      script: {image: alpine, command: [sh], source: echo hi}
---
)", "wf.yaml");
  ASSERT_TRUE(d.diagnostics.empty()) << format_all(d.diagnostics);
  ASSERT_EQ(d.objects.size(), 1u);
  const Object& o = d.objects[0];
  EXPECT_EQ(o.kind, Kind::kWorkflow);
  EXPECT_EQ(o.metadata.generate_name, "ci-");
  EXPECT_EQ(*o.spec.arguments.parameters[0].value, "3");
  EXPECT_EQ(*o.spec.arguments.parameters[1].value, R"({"a":1})");
  const Template& main = o.spec.templates[0];
  EXPECT_EQ(main.type, TemplateType::kDag);
  ASSERT_EQ(main.dag->tasks[0].with_items->size(), 3u);
  EXPECT_EQ((*main.dag->tasks[0].with_items)[0].json, "\"x\"");
  EXPECT_EQ((*main.dag->tasks[0].with_items)[2].json, R"({"k":"v"})");
  EXPECT_EQ(main.dag->tasks[1].template_ref->template_name, "t");
  EXPECT_EQ(main.dag->tasks[1].pos.line, 13);
  const Template& s = o.spec.templates[1];
  EXPECT_EQ(s.type, TemplateType::kScript);
  EXPECT_EQ(s.container->source, "echo hi");
  EXPECT_EQ(s.retry_strategy->limit, "2");
  EXPECT_EQ(s.retry_strategy->backoff->duration, "1s");
}

TEST(Decode, UnknownFieldNamesPathLineAndHint) {
  auto d = decode_documents("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: x}\nspec:\n  entrypont: main\n", "f.yaml");
  ASSERT_EQ(d.diagnostics.size(), 1u);
  EXPECT_EQ(d.diagnostics[0].format(), "f.yaml:5:3: spec.entrypont: unknown field \"entrypont\"; did you mean \"entrypoint\"?");
}

TEST(Decode, WrongTypesAndDuplicateKeys) {
  auto d = decode_documents(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: x}
spec:
  entrypoint: [a]
  parallelism: lots
  templates:
    - name: a
      name: b
      container: {image: x, command: echo}
)", "f.yaml");
  std::string all = format_all(d.diagnostics);
  EXPECT_NE(all.find("f.yaml:5:15: spec.entrypoint: must be a string, not a list"), std::string::npos) << all;
  EXPECT_NE(all.find("spec.parallelism: must be an integer"), std::string::npos) << all;
  EXPECT_NE(all.find("duplicate field \"name\""), std::string::npos) << all;
  EXPECT_NE(all.find("spec.templates[0].container.command: must be a list"), std::string::npos) << all;
}

TEST(Decode, TerminationMessageFieldsAreChecked) {
  auto d = decode_documents(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: x}
spec:
  entrypoint: a
  templates:
    - name: a
      container: {image: x, terminationMessagePath: /tmp/why, terminationMessagePolicy: FallbackToLogsOnError}
    - name: b
      script: {image: x, source: x, terminationMessagePath: "{{inputs.parameters.p}}", terminationMessagePolicy: File}
    - name: c
      container: {image: x, terminationMessagePath: why, terminationMessagePolicy: Logs}
)", "f.yaml");
  ASSERT_EQ(d.diagnostics.size(), 2u) << format_all(d.diagnostics);
  EXPECT_EQ(d.diagnostics[0].format(),
            "f.yaml:12:53: spec.templates[2].container.terminationMessagePath: \"why\" must be an absolute path, e.g. "
            "/dev/termination-log");
  EXPECT_EQ(d.diagnostics[1].format(),
            "f.yaml:12:84: spec.templates[2].container.terminationMessagePolicy: \"Logs\" is not one of File, "
            "FallbackToLogsOnError");
}

TEST(Decode, TerminationMessageFieldsDecode) {
  auto d = decode_documents(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: x}
spec:
  entrypoint: a
  templates:
    - name: a
      container: {image: x, terminationMessagePath: /tmp/why, terminationMessagePolicy: FallbackToLogsOnError}
)", "f.yaml");
  ASSERT_TRUE(d.diagnostics.empty()) << format_all(d.diagnostics);
  const Container& c = *d.objects[0].spec.templates[0].container;
  EXPECT_EQ(c.termination_message_path, "/tmp/why");
  EXPECT_EQ(c.termination_message_policy, "FallbackToLogsOnError");
}

TEST(Decode, BadYamlAndLimits) {
  auto d = decode_documents("a: [unclosed", "bad.yaml");
  ASSERT_EQ(d.diagnostics.size(), 1u);
  EXPECT_NE(d.diagnostics[0].format().find("bad.yaml:1:"), std::string::npos);
  auto deep = decode_documents("a:\n  " + std::string(100000, '['), "deep.yaml");
  ASSERT_EQ(deep.diagnostics.size(), 1u);
  EXPECT_EQ(deep.diagnostics[0].format(), "deep.yaml:2:259: nested more than 64 levels deep");
  // Block nesting has no brackets: yaml-cpp's own guard stops it, with the same message.
  std::string dashes;
  for (int i = 0; i < 100000; ++i) dashes += "- ";
  auto block = decode_documents(dashes + "x\n", "block.yaml");
  ASSERT_EQ(block.diagnostics.size(), 1u);
  EXPECT_EQ(block.diagnostics[0].message, "nested more than 64 levels deep");
  EXPECT_EQ(block.diagnostics[0].pos.line, 1);
  DecodeLimits small;
  small.max_bytes = 10;
  EXPECT_FALSE(decode_documents("apiVersion: argoproj.io/v1alpha1", "big.yaml", small).diagnostics.empty());
}

TEST(Decode, CronWorkflowAndJson) {
  auto d = decode_documents(R"({"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "metadata": {"name": "c"},
    "spec": {"schedule": "*/5 * * * *", "timezone": "UTC", "concurrencyPolicy": "Forbid",
             "workflowSpec": {"entrypoint": "m", "templates": [{"name": "m", "suspend": {}}]}}})", "c.json");
  ASSERT_TRUE(d.diagnostics.empty()) << format_all(d.diagnostics);
  EXPECT_EQ(d.objects[0].kind, Kind::kCronWorkflow);
  EXPECT_EQ(d.objects[0].cron->schedules[0], "*/5 * * * *");
  EXPECT_EQ(d.objects[0].spec.templates[0].type, TemplateType::kSuspend);
}

TEST(Decode, MissingFileIsADiagnostic) {
  auto d = decode_file("/nonexistent/wf.yaml");
  ASSERT_EQ(d.diagnostics.size(), 1u);
  EXPECT_NE(d.diagnostics[0].format().find("/nonexistent/wf.yaml"), std::string::npos);
}

}  // namespace skiff::spec

namespace skiff::spec {

TEST(Decode, TextThatIsNotUtf8IsRefusedWithItsPlace) {
  std::string yaml = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: x}\nspec:\n"
                     "  entrypoint: m\n  templates: [{name: m, container: {image: a, command: [\"\xff\xfe\"]}}]\n";
  auto d = decode_documents(yaml, "u.yaml");
  ASSERT_EQ(d.diagnostics.size(), 1u);
  EXPECT_EQ(d.diagnostics[0].pos.line, 6);
  EXPECT_NE(d.diagnostics[0].message.find("not UTF-8"), std::string::npos);
  EXPECT_EQ(decode_documents(std::string("a: b\0c\n", 7), "nul.yaml").diagnostics.size(), 1u);
  for (const auto& diag : decode_documents("a: \"caf\xc3\xa9 \xe2\x9c\x94\"\n", "ok.yaml").diagnostics)
    EXPECT_EQ(diag.message.find("not UTF-8"), std::string::npos);  // valid multi-byte text is fine
}

}  // namespace skiff::spec

namespace skiff::spec {

TEST(Decode, AliasBombIsRefused) {
  std::string yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'k'; ++c, ++prev)
    yaml += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
            ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n";
  auto d = decode_documents(yaml, "bomb.yaml");
  ASSERT_EQ(d.diagnostics.size(), 1u);
  EXPECT_NE(d.diagnostics[0].message.find("aliases are expanded"), std::string::npos);
}

}  // namespace skiff::spec

namespace skiff::spec {

TEST(Decode, ParserThatNeverFinishesIsCutOff) {
  DecodeLimits limits;
  limits.parse_timeout_ms = 300;
  auto d = decode_documents(", x\n", "loop.yaml", limits);  // yaml-cpp 0.7 never returns on this
  ASSERT_EQ(d.diagnostics.size(), 1u);
  EXPECT_NE(d.diagnostics[0].message.find("did not finish"), std::string::npos);
}

TEST(Decode, ManifestsToJsonReadsEveryDocument) {
  auto docs = manifests_to_json("a: 1\n---\n---\n# only a comment\n---\nb: \"2\"\nc: [yes, 010]\n", "m.yaml");
  ASSERT_TRUE(docs.is_ok()) << docs.status().message();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0], R"({"a":1})");
  EXPECT_EQ((*docs)[1], R"({"b":"2","c":["yes",10]})");
  auto bad = manifests_to_json("a: 1\n---\nb: [unclosed\n", "m.yaml");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("m.yaml:"), std::string::npos) << bad.status().message();
  DecodeLimits limits;
  limits.max_documents = 2;
  EXPECT_FALSE(manifests_to_json("a: 1\n---\nb: 2\n---\nc: 3\n", "m.yaml", limits).is_ok());
  EXPECT_FALSE(manifests_to_json("just a string\n", "m.yaml").is_ok());
}

}  // namespace skiff::spec
