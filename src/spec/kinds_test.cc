// The registry of kinds and the phase vocabulary: what decode, the store and the routes
// look up in them.
#include "spec/kinds.h"

#include <gtest/gtest.h>

#include "spec/decode.h"
#include "spec/phase.h"

namespace skiff::spec {
namespace {

TEST(Kinds, EachKindIsRegisteredOnceInEnumOrder) {
  const auto& kinds = all_kinds();
  ASSERT_EQ(kinds.size(), 6u);
  for (size_t i = 0; i < kinds.size(); ++i) {
    EXPECT_EQ(static_cast<size_t>(kinds[i].kind), i) << kinds[i].name;
    EXPECT_EQ(&kind_info(kinds[i].kind), &kinds[i]);
    EXPECT_EQ(find_kind(kinds[i].name), &kinds[i]);
    EXPECT_STREQ(kinds[i].api_version, "argoproj.io/v1alpha1");
  }
  const KindInfo& cron = kind_info(Kind::kCronWorkflow);
  EXPECT_STREQ(cron.plural, "cron-workflows");
  EXPECT_STREQ(cron.body_field, "cronWorkflow");
  EXPECT_TRUE(cron.namespaced);
  EXPECT_EQ(cron.storage, Storage::kObjects);
  EXPECT_FALSE(kind_info(Kind::kClusterWorkflowTemplate).namespaced);
  EXPECT_EQ(kind_info(Kind::kWorkflow).storage, Storage::kWorkflows);
}

TEST(Kinds, NamesMatchExactlyUnlessCaseIsIgnored) {
  EXPECT_EQ(find_kind("workflowtemplate"), nullptr) << "documents spell kinds exactly";
  ASSERT_NE(find_kind("workflowtemplate", true), nullptr) << "Argo's submit takes any case";
  EXPECT_EQ(find_kind("workflowtemplate", true)->kind, Kind::kWorkflowTemplate);
  EXPECT_EQ(find_kind("Workflows"), nullptr);
  EXPECT_EQ(find_kind(""), nullptr);
  EXPECT_EQ(kind_names_text(), "Workflow, WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow");
}

TEST(Kinds, TheDecoderTakesKindAndSpecFromTheRegistry) {
  auto d = decode_documents(R"(
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: nightly}
spec:
  schedule: "0 1 * * *"
  suspend: "true"
  successfulJobsHistoryLimit: "2"
  workflowMetadata: {labels: {team: web}}
  workflowSpec: {entrypoint: main, templates: [{name: main, container: {image: alpine}}]}
)",
                            "cron.yaml");
  ASSERT_TRUE(d.diagnostics.empty()) << format_all(d.diagnostics);
  ASSERT_EQ(d.objects.size(), 1u);
  const Object& o = d.objects[0];
  EXPECT_EQ(o.kind, Kind::kCronWorkflow);
  ASSERT_TRUE(o.cron);
  EXPECT_TRUE(o.cron->suspend);
  EXPECT_EQ(o.cron->successful_jobs_history_limit, 2);
  EXPECT_EQ(o.cron->workflow_metadata.labels.at("team"), "web");
  EXPECT_EQ(o.spec.entrypoint, "main");
  EXPECT_EQ(o.cron->workflow_spec_json,
            R"({"entrypoint":"main","templates":[{"container":{"image":"alpine"},"name":"main"}]})");

  auto bad = decode_documents("apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflo\nmetadata: {name: x}\nspec: {}\n", "x.yaml");
  ASSERT_FALSE(bad.diagnostics.empty());
  EXPECT_NE(bad.diagnostics[0].message.find("expected Workflow, WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow, Application or AppProject "
                                            "(did you mean \"CronWorkflow\"?)"),
            std::string::npos)
      << bad.diagnostics[0].message;
}

TEST(Phases, NamesReadBackAndUnknownTextIsPending) {
  for (WorkflowPhase p : kWorkflowPhases) EXPECT_EQ(parse_workflow_phase(workflow_phase_name(p)), p);
  for (NodePhase p : {NodePhase::kPending, NodePhase::kRunning, NodePhase::kSucceeded, NodePhase::kFailed,
                      NodePhase::kError, NodePhase::kSkipped, NodePhase::kOmitted}) {
    EXPECT_EQ(parse_node_phase(phase_name(p)), p);
  }
  EXPECT_EQ(parse_workflow_phase(""), WorkflowPhase::kPending);
  EXPECT_EQ(parse_workflow_phase("succeeded"), WorkflowPhase::kPending) << "Argo's words are case-sensitive";
  EXPECT_EQ(parse_workflow_phase("Skipped"), WorkflowPhase::kPending) << "a node phase, not a workflow's";
  EXPECT_EQ(parse_node_phase("Paused"), NodePhase::kPending);
  EXPECT_TRUE(is_finished(WorkflowPhase::kError));
  EXPECT_FALSE(is_finished(WorkflowPhase::kRunning));
  EXPECT_TRUE(is_finished(NodePhase::kOmitted));
  EXPECT_FALSE(is_finished(NodePhase::kPending));
}

}  // namespace
}  // namespace skiff::spec
