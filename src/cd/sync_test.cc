#include "cd/sync.h"

#include <gtest/gtest.h>

#include <map>

namespace skiff::cd {
namespace {

using Json = nlohmann::json;

// An API server in memory: objects by "kind/namespace/name", apply merges as a merge patch.
class MemoryApi : public kube::ObjectApi {
 public:
  std::map<std::string, Json> objects;
  std::vector<std::string> calls;
  bool slow_delete = false;  // a delete marks the object (deletionTimestamp) and leaves it

  static std::string id(const kube::ObjectRef& r, const std::string& ns) {
    return r.kind + "/" + (r.namespace_.empty() ? ns : r.namespace_) + "/" + r.name;
  }
  Result<Json> get(const kube::ObjectRef& ref, const std::string& ns) override {
    auto it = objects.find(id(ref, ns));
    if (it == objects.end()) return not_found(ref.kind + " " + ref.name + " not found");
    return it->second;
  }
  Result<Json> create(const Json& object, const std::string& ns) override {
    calls.push_back("create " + kube::ref_of(object).name);
    std::string key = id(kube::ref_of(object), ns);
    if (objects.count(key)) return Status(Code::kAlreadyExists, "exists");
    return objects[key] = object;
  }
  Result<Json> replace(const Json& object, const std::string& ns) override {
    calls.push_back("replace " + kube::ref_of(object).name);
    return objects[id(kube::ref_of(object), ns)] = object;
  }
  Result<Json> apply(const Json& object, const std::string& ns, const kube::ApplyOptions&) override {
    calls.push_back("apply " + kube::ref_of(object).name);
    Json& live = objects[id(kube::ref_of(object), ns)];
    if (live.is_null()) live = Json::object();
    live.merge_patch(object);
    live["status"] = {{"defaulted", true}};  // what a server adds
    return live;
  }
  Result<Json> patch(const kube::ObjectRef&, const std::string&, kube::PatchType, const std::string&) override {
    return Status(Code::kInvalid, "unused");
  }
  Status remove(const kube::ObjectRef& ref, const std::string& ns, const kube::DeleteOptions&) override {
    calls.push_back("delete " + ref.name);
    if (slow_delete && objects.count(id(ref, ns))) {
      objects[id(ref, ns)]["metadata"]["deletionTimestamp"] = "2026-12-01T00:00:00Z";
      return Status::ok();
    }
    return objects.erase(id(ref, ns)) ? Status::ok() : not_found(ref.name);
  }
};

Json config_map(const std::string& name, const std::string& value, int wave = 0) {
  Json j = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}, {"data", {{"v", value}}}};
  if (wave) j["metadata"]["annotations"][kSyncWaveAnnotation] = std::to_string(wave);
  return j;
}

struct SyncTest : ::testing::Test {
  MemoryApi cluster, local;
  Destinations dest{&local, &cluster};
  CompareRequest request(std::vector<Json> manifests, std::vector<ResourceKey> previous = {}) {
    CompareRequest r;
    r.app_name = "app";
    r.destination_namespace = "prod";
    r.manifests = std::move(manifests);
    r.previous = std::move(previous);
    return r;
  }
};

TEST_F(SyncTest, MissingObjectsAreOutOfSyncThenSynced) {
  Comparison before = compare(request({config_map("a", "1")}), dest);
  ASSERT_EQ(before.resources.size(), 1u);
  EXPECT_EQ(before.resources[0].status, "OutOfSync");
  EXPECT_EQ(before.resources[0].key.namespace_, "prod");  // the destination's namespace
  EXPECT_EQ(before.sync_status, "OutOfSync");
  SyncOutcome outcome = sync("app", before, {}, dest);
  EXPECT_TRUE(outcome.ok) << outcome.message;
  const Json& live = cluster.objects.at("ConfigMap/prod/a");
  EXPECT_EQ(live["metadata"]["annotations"][kTrackingAnnotation], "app:/ConfigMap:prod/a");
  Comparison after = compare(request({config_map("a", "1")}), dest);
  EXPECT_EQ(after.sync_status, "Synced");  // what the server added is no drift
}

TEST_F(SyncTest, DriftIsOutOfSync) {
  sync("app", compare(request({config_map("a", "1")}), dest), {}, dest);
  cluster.objects.at("ConfigMap/prod/a")["data"]["v"] = "changed by hand";
  EXPECT_EQ(compare(request({config_map("a", "1")}), dest).sync_status, "OutOfSync");
}

TEST_F(SyncTest, PruneOnlyWhatThisAppApplied) {
  sync("app", compare(request({config_map("a", "1"), config_map("b", "1")}), dest), {}, dest);
  cluster.objects["ConfigMap/prod/other"] = config_map("other", "x");  // not ours
  std::vector<ResourceKey> previous = {{"", "v1", "ConfigMap", "prod", "a"}, {"", "v1", "ConfigMap", "prod", "b"},
                                       {"", "v1", "ConfigMap", "prod", "other"}};
  Comparison c = compare(request({config_map("a", "1")}, previous), dest);
  ASSERT_EQ(c.resources.size(), 2u);  // a, and b to prune; `other` is not this app's
  EXPECT_TRUE(c.resources[1].requires_pruning);
  EXPECT_EQ(c.sync_status, "OutOfSync");
  SyncOutcome without = sync("app", c, {}, dest);
  EXPECT_EQ(without.results.back().status, "PruneSkipped");
  EXPECT_TRUE(cluster.objects.count("ConfigMap/prod/b"));
  SyncRequest prune;
  prune.prune = true;
  SyncOutcome with = sync("app", c, prune, dest);
  EXPECT_EQ(with.results.back().status, "Pruned");
  EXPECT_FALSE(cluster.objects.count("ConfigMap/prod/b"));
  EXPECT_TRUE(cluster.objects.count("ConfigMap/prod/other"));
}

TEST_F(SyncTest, WavesAndKindsInOrder) {
  Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "prod"}}}};
  Comparison c = compare(request({config_map("late", "1", 5), config_map("early", "1", -1), ns}), dest);
  EXPECT_FALSE(c.resources[2].target["metadata"].contains("namespace"));  // cluster-scoped
  sync("app", c, {}, dest);
  EXPECT_EQ(cluster.calls, (std::vector<std::string>{"apply early", "apply prod", "apply late"}));
}

TEST_F(SyncTest, SkiffKindsGoToSkiffAndOthersNeedACluster) {
  Json wf = {{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "WorkflowTemplate"}, {"metadata", {{"name", "t"}}}};
  Destinations no_cluster{&local, nullptr};
  Comparison c = compare(request({wf, config_map("a", "1")}), no_cluster);
  EXPECT_EQ(c.sync_status, "Unknown");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_NE(c.errors[0].find("no cluster to deploy ConfigMap a"), std::string::npos);
  SyncOutcome outcome = sync("app", c, {}, no_cluster);
  EXPECT_TRUE(local.objects.count("WorkflowTemplate/prod/t"));
  EXPECT_FALSE(outcome.ok);
}

TEST_F(SyncTest, DryRunChangesNothing) {
  SyncRequest dry;
  dry.dry_run = true;
  SyncOutcome outcome = sync("app", compare(request({config_map("a", "1")}), dest), dry, dest);
  EXPECT_TRUE(outcome.ok);
  EXPECT_TRUE(cluster.objects.empty());
}

// A skiff Workflow as a hook (it runs in skiff, no cluster needed): Running until its phase ends.
Json workflow_hook(const std::string& name, const std::string& hook, Json more_annotations = Json::object()) {
  Json w = {{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "Workflow"}, {"metadata", {{"annotations", more_annotations}}}};
  w["metadata"]["annotations"][kHookAnnotation] = hook;
  if (name.back() == '-') w["metadata"]["generateName"] = name;
  else w["metadata"]["name"] = name;
  return w;
}

struct OperationTest : SyncTest {
  SyncProgress progress{{}, "0123456789abcdef", 1700000000};
  SyncOutcome step(const std::vector<Json>& manifests, const SyncRequest& req = {}) {
    SyncOutcome out = sync("app", compare(request(manifests), dest), req, dest, progress);
    progress.results = out.results;
    return out;
  }
  void finish_workflow(const std::string& name, const std::string& phase) {
    local.objects.at("Workflow/prod/" + name)["status"] = {{"phase", phase}, {"message", "exit code 3"}};
  }
  std::vector<std::string> done() {
    std::vector<std::string> out;
    for (const auto& r : progress.results) out.push_back(std::string(phase_name(r.phase)) + " " + r.key.name + " " + r.hook_phase);
    return out;
  }
};

TEST_F(OperationTest, HooksAreNotResourcesOfTheApp) {
  Comparison c = compare(request({workflow_hook("pre", "PreSync"), config_map("a", "1")}), dest);
  ASSERT_EQ(c.resources.size(), 1u);
  EXPECT_EQ(c.hooks.size(), 1u);
  EXPECT_TRUE(c.warnings.empty());  // no ExcludedResourceWarning any more
}

TEST_F(OperationTest, PhasesRunInOrderAndWaitForHooks) {
  std::vector<Json> m = {workflow_hook("post", "PostSync"), config_map("a", "1"), workflow_hook("pre", "PreSync")};
  SyncOutcome first = step(m);
  EXPECT_EQ(first.phase, "Running");
  EXPECT_EQ(first.message, "waiting for completion of hook argoproj.io/Workflow/pre");
  EXPECT_FALSE(cluster.objects.count("ConfigMap/prod/a"));  // the Sync phase waits for PreSync
  EXPECT_EQ(step(m).phase, "Running");                      // still running: nothing new
  finish_workflow("pre", "Succeeded");
  SyncOutcome second = step(m);
  EXPECT_EQ(second.phase, "Running");
  EXPECT_TRUE(cluster.objects.count("ConfigMap/prod/a"));
  EXPECT_EQ(second.message, "waiting for completion of hook argoproj.io/Workflow/post");
  finish_workflow("post", "Succeeded");
  SyncOutcome last = step(m);
  EXPECT_EQ(last.phase, "Succeeded") << last.message;
  EXPECT_EQ(done(), (std::vector<std::string>{"PreSync pre Succeeded", "Sync a Succeeded", "PostSync post Succeeded"}));
  EXPECT_EQ(progress.results[0].hook_type, "PreSync");
  EXPECT_EQ(progress.results[1].hook_type, "");
  EXPECT_EQ(local.objects.at("Workflow/prod/pre")["metadata"]["annotations"][kTrackingAnnotation],
            "app:argoproj.io/Workflow:prod/pre");
}

TEST_F(OperationTest, AFailedHookRunsSyncFailAndFailsTheOperation) {
  std::vector<Json> m = {workflow_hook("pre", "PreSync"), config_map("a", "1"), workflow_hook("cleanup", "SyncFail")};
  step(m);
  EXPECT_FALSE(local.objects.count("Workflow/prod/cleanup"));  // only on failure
  finish_workflow("pre", "Failed");
  SyncOutcome failing = step(m);
  EXPECT_EQ(failing.phase, "Running");
  EXPECT_EQ(failing.message, "waiting for completion of hook argoproj.io/Workflow/cleanup");
  finish_workflow("cleanup", "Succeeded");
  SyncOutcome failed = step(m);
  EXPECT_EQ(failed.phase, "Failed");
  EXPECT_FALSE(failed.ok);
  EXPECT_EQ(failed.message, "one or more synchronization tasks completed unsuccessfully, reason: exit code 3");
  EXPECT_FALSE(cluster.objects.count("ConfigMap/prod/a"));  // nothing of the Sync phase
  EXPECT_EQ(done(), (std::vector<std::string>{"PreSync pre Failed", "SyncFail cleanup Succeeded"}));
}

TEST_F(OperationTest, GenerateNameHooksAreNamedPerOperation) {
  std::vector<Json> m = {workflow_hook("migrate-", "PreSync")};
  step(m);
  EXPECT_TRUE(local.objects.count("Workflow/prod/migrate-0123456-presync-1700000000"));
  EXPECT_FALSE(local.objects.at("Workflow/prod/migrate-0123456-presync-1700000000")["metadata"].contains("generateName"));
}

TEST_F(OperationTest, DeletePolicies) {
  // HookSucceeded: gone when the operation succeeds.
  std::vector<Json> m = {workflow_hook("pre", "PreSync", {{kHookDeletePolicyAnnotation, "HookSucceeded"}})};
  step(m);
  finish_workflow("pre", "Succeeded");
  EXPECT_EQ(step(m).phase, "Succeeded");
  EXPECT_FALSE(local.objects.count("Workflow/prod/pre"));
  // BeforeHookCreation (the default): the next operation replaces the old one.
  std::vector<Json> again = {workflow_hook("again", "PreSync")};
  progress = {{}, "0123456789abcdef", 1};
  step(again);
  finish_workflow("again", "Succeeded");
  step(again);
  progress = {{}, "0123456789abcdef", 2};
  local.calls.clear();
  EXPECT_EQ(step(again).phase, "Running");
  EXPECT_EQ(local.calls, (std::vector<std::string>{"delete again", "create again"}));
  EXPECT_FALSE(local.objects.at("Workflow/prod/again").contains("status"));  // a new one
}

TEST_F(OperationTest, AWaveWaitsForTheLastOneToBeHealthy) {
  Json deployment = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"metadata", {{"name", "d"}}},
                     {"spec", {{"replicas", 1}}}};
  std::vector<Json> m = {deployment, config_map("after", "1", 1)};
  SyncOutcome first = step(m);
  EXPECT_EQ(first.phase, "Running");
  EXPECT_EQ(first.message, "waiting for healthy state of apps/Deployment/d");
  EXPECT_FALSE(cluster.objects.count("ConfigMap/prod/after"));
  cluster.objects.at("Deployment/prod/d")["status"] = {{"replicas", 1}, {"updatedReplicas", 1}, {"availableReplicas", 1}};
  EXPECT_EQ(step(m).phase, "Succeeded");
  EXPECT_TRUE(cluster.objects.count("ConfigMap/prod/after"));
  // One wave only: an apply, which does not wait.
  progress = {};
  cluster.objects.erase("Deployment/prod/d");
  EXPECT_EQ(step({deployment}).phase, "Succeeded");
}

TEST_F(OperationTest, TheNextWaveWaitsForAPruneToBeGone) {
  sync("app", compare(request({config_map("old", "1"), config_map("new", "1", 1)}), dest), {}, dest);
  SyncRequest prune;
  prune.prune = true;
  cluster.slow_delete = true;
  std::vector<ResourceKey> previous = {{"", "v1", "ConfigMap", "prod", "old"}, {"", "v1", "ConfigMap", "prod", "new"}};
  auto step_with = [&](std::vector<Json> m) {
    SyncOutcome out = sync("app", compare(request(m, previous), dest), prune, dest, progress);
    progress.results = out.results;
    return out;
  };
  cluster.objects.erase("ConfigMap/prod/new");
  cluster.calls.clear();
  SyncOutcome first = step_with({config_map("new", "2", 1)});
  EXPECT_EQ(first.phase, "Running");
  EXPECT_EQ(first.message, "waiting for deletion of /ConfigMap/old");
  EXPECT_EQ(cluster.calls, std::vector<std::string>{"delete old"});
  cluster.objects.erase("ConfigMap/prod/old");  // gone now
  EXPECT_EQ(step_with({config_map("new", "2", 1)}).phase, "Succeeded");
  EXPECT_TRUE(cluster.objects.count("ConfigMap/prod/new"));
}

TEST_F(OperationTest, TerminateDeletesRunningHooks) {
  std::vector<Json> m = {workflow_hook("pre", "PreSync"), config_map("a", "1")};
  step(m);
  progress.terminating = true;
  SyncOutcome out = step(m);
  EXPECT_EQ(out.phase, "Failed");
  EXPECT_EQ(out.message, "operation terminated");
  EXPECT_FALSE(local.objects.count("Workflow/prod/pre"));
  EXPECT_FALSE(cluster.objects.count("ConfigMap/prod/a"));
}

TEST_F(OperationTest, ChildApplicationsAreHealthyOnceTheyExistUnlessAsked) {
  auto child = [](const std::string& name, int wave) {
    return Json{{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "Application"},
                {"metadata", {{"name", name}, {"annotations", {{kSyncWaveAnnotation, std::to_string(wave)}}}}}};
  };
  std::vector<Json> m = {child("one", 0), child("two", 1)};
  EXPECT_EQ(step(m).phase, "Succeeded");  // Argo CD >= 1.8: no health check for Applications
  EXPECT_TRUE(local.objects.count("Application/prod/two"));
  local.objects.clear();
  progress = {};
  SyncRequest old_behaviour;
  old_behaviour.application_health = true;
  SyncOutcome waits = step(m, old_behaviour);
  EXPECT_EQ(waits.phase, "Running");
  EXPECT_EQ(waits.message, "waiting for healthy state of argoproj.io/Application/one");
  EXPECT_FALSE(local.objects.count("Application/prod/two"));
  local.objects.at("Application/prod/one")["status"] = {{"health", {{"status", "Healthy"}}}};
  EXPECT_EQ(step(m, old_behaviour).phase, "Succeeded");
  EXPECT_TRUE(local.objects.count("Application/prod/two"));
}

}  // namespace
}  // namespace skiff::cd
