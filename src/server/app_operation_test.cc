#include "server/app_operation.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/secret_store.h"

namespace skiff::server {
namespace {

using Json = nlohmann::json;

TEST(AppOperation, StoredStateContinuesWhereItWas) {
  cd::SyncOutcome step;
  step.phase = "Running";
  step.message = "waiting for completion of hook argoproj.io/Workflow/pre";
  cd::ResourceResult hook{.key = {"argoproj.io", "v1alpha1", "Workflow", "ns", "pre"}, .status = "Synced",
                          .message = "workflow.argoproj.io/pre created", .wave = -1, .phase = cd::SyncPhase::kPreSync,
                          .hook_type = "PreSync", .hook_phase = "Running"};
  step.results = {hook};
  Json op = {{"sync", {{"prune", true}}}};
  Json state = operation_state(op, step, Json(), "2026-12-01T05:00:00Z", {{"revision", "abc1234567"}});
  EXPECT_FALSE(state.contains("finishedAt"));  // still running
  EXPECT_TRUE(operation_running({{"operationState", state}}));
  const Json& r = state["syncResult"]["resources"][0];
  EXPECT_EQ(r["hookType"], "PreSync");
  EXPECT_EQ(r["syncPhase"], "PreSync");
  EXPECT_EQ(r["hookPhase"], "Running");

  cd::SyncProgress progress = sync_progress(state, "ignored: the stored revision wins", 0);
  EXPECT_EQ(progress.revision, "abc1234567");
  EXPECT_EQ(progress.started_unix, 1796101200);  // 2026-12-01T05:00:00Z
  EXPECT_FALSE(progress.terminating);
  ASSERT_EQ(progress.results.size(), 1u);
  EXPECT_EQ(progress.results[0].key, hook.key);
  EXPECT_EQ(progress.results[0].phase, cd::SyncPhase::kPreSync);
  EXPECT_EQ(progress.results[0].hook_phase, "Running");
  EXPECT_EQ(progress.results[0].wave, -1);

  state["phase"] = "Terminating";
  state["retryCount"] = 2;
  EXPECT_TRUE(sync_progress(state, "", 0).terminating);
  step.phase = "Failed";
  Json ended = operation_state(op, step, state, "2026-12-01T05:01:00Z", {{"revision", "abc1234567"}});
  EXPECT_EQ(ended["startedAt"], "2026-12-01T05:00:00Z");  // the operation's, not this step's
  EXPECT_EQ(ended["finishedAt"], "2026-12-01T05:01:00Z");
  EXPECT_EQ(ended["retryCount"], 2);
  EXPECT_FALSE(operation_running({{"operationState", ended}}));
}

TEST(AppOperation, ANewOperationStartsNow) {
  cd::SyncProgress p = sync_progress(Json(), "abc", 1700000000123);
  EXPECT_EQ(p.revision, "abc");
  EXPECT_EQ(p.started_unix, 1700000000);
  EXPECT_TRUE(p.results.empty());
}

TEST(AppOperation, SyncRequestFromTheOperationAndTheApp) {
  spec::ApplicationSpec app;
  app.destination.namespace_ = "prod";
  app.sync_policy.sync_options = {"CreateNamespace=true"};
  Json op = {{"sync", {{"prune", true}, {"syncOptions", {"PruneLast=true"}},
                       {"resources", {{{"kind", "ConfigMap"}, {"name", "a"}, {"group", 7}}}}}}};
  cd::SyncRequest req = sync_request(app, op);
  EXPECT_TRUE(req.prune && req.create_namespace && req.prune_last);
  EXPECT_EQ(req.destination_namespace, "prod");
  ASSERT_EQ(req.only.size(), 1u);
  EXPECT_EQ(req.only[0].group, "");  // not a string: ignored, no exception
  EXPECT_EQ(sync_request(app, Json()).prune, false);
}

TEST(AppOperation, ApplicationHealthFromArgoCdCm) {
  std::string dir = testing::TempDir() + "/skiff-app-operation-test";
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(application_health_enabled(dir));
  runtime::ConfigObject cm;
  cm.data["resource.customizations.health.argoproj.io_Application"] = "hs = {}\nreturn hs\n";
  ASSERT_TRUE(runtime::write_config_object(dir, runtime::ConfigKind::kConfigMap, "argocd", "argocd-cm", cm, false));
  EXPECT_TRUE(application_health_enabled(dir));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace skiff::server
