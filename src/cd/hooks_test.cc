#include "cd/hooks.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace skiff::cd {
namespace {

using Json = nlohmann::json;

Json annotated(Json annotations) {
  return {{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"metadata", {{"name", "j"}, {"annotations", annotations}}}};
}

TEST(Hooks, ArgoCdAnnotationNamesThePhases) {
  EXPECT_EQ(hook_phases(annotated({{kHookAnnotation, "PreSync"}})), std::vector<SyncPhase>{SyncPhase::kPreSync});
  EXPECT_EQ(hook_phases(annotated({{kHookAnnotation, "PreSync, PostSync"}})),
            (std::vector<SyncPhase>{SyncPhase::kPreSync, SyncPhase::kPostSync}));
  EXPECT_EQ(hook_phases(annotated({{kHookAnnotation, "SyncFail"}})), std::vector<SyncPhase>{SyncPhase::kSyncFail});
  // Skip: a hook (not a resource of the app) that never runs.
  EXPECT_TRUE(is_hook(annotated({{kHookAnnotation, "Skip"}})));
  EXPECT_TRUE(hook_phases(annotated({{kHookAnnotation, "Skip"}})).empty());
  EXPECT_FALSE(is_hook(annotated({{"other", "PreSync"}})));
}

TEST(Hooks, HelmHooksAsArgoCdMapsThem) {
  EXPECT_EQ(hook_phases(annotated({{kHelmHookAnnotation, "pre-install,pre-upgrade"}})),
            std::vector<SyncPhase>{SyncPhase::kPreSync});
  EXPECT_EQ(hook_phases(annotated({{kHelmHookAnnotation, "post-upgrade"}})), std::vector<SyncPhase>{SyncPhase::kPostSync});
  EXPECT_TRUE(is_hook(annotated({{kHelmHookAnnotation, "test"}})));
  EXPECT_TRUE(hook_phases(annotated({{kHelmHookAnnotation, "test"}})).empty());
  // Argo CD's annotation wins over Helm's.
  EXPECT_EQ(hook_phases(annotated({{kHelmHookAnnotation, "pre-install"}, {kHookAnnotation, "Sync"}})),
            std::vector<SyncPhase>{SyncPhase::kSync});
}

TEST(Hooks, DeletePolicies) {
  HookDeletePolicy none = hook_delete_policy(annotated(Json::object()));
  EXPECT_TRUE(none.before_creation);  // Argo CD's default
  EXPECT_FALSE(none.on_success || none.on_failure);
  HookDeletePolicy both = hook_delete_policy(annotated({{kHookDeletePolicyAnnotation, "HookSucceeded,HookFailed"}}));
  EXPECT_TRUE(both.on_success && both.on_failure);
  EXPECT_FALSE(both.before_creation);
  HookDeletePolicy helm = hook_delete_policy(annotated({{"helm.sh/hook-delete-policy", "hook-succeeded"}}));
  EXPECT_TRUE(helm.on_success);
  EXPECT_FALSE(helm.before_creation);
}

TEST(Hooks, WaveFromSyncWaveOrHelmWeight) {
  EXPECT_EQ(sync_wave(annotated({{"argocd.argoproj.io/sync-wave", "-2"}})), -2);
  EXPECT_EQ(sync_wave(annotated({{"helm.sh/hook-weight", "5"}})), 5);
  EXPECT_EQ(sync_wave(annotated({{"argocd.argoproj.io/sync-wave", "x"}})), 0);
}

TEST(Hooks, GenerateNameGetsRevisionPhaseAndStart) {
  EXPECT_EQ(hook_name("migrate-", "0123456789abcdef", SyncPhase::kPreSync, 1700000000), "migrate-0123456-presync-1700000000");
  EXPECT_EQ(hook_name("smoke-", "abc", SyncPhase::kPostSync, 5), "smoke-abc-postsync-5");
}

}  // namespace
}  // namespace skiff::cd
