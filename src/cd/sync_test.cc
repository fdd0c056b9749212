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

}  // namespace
}  // namespace skiff::cd
