#include "runtime/resource_action.h"

#include <gtest/gtest.h>

namespace skiff::runtime::detail {
namespace {

using Json = nlohmann::json;

spec::Resource resource(const std::string& action, const std::string& manifest, std::vector<std::string> flags = {}) {
  spec::Resource r;
  r.action = action;
  r.manifest = manifest;
  r.flags = std::move(flags);
  return r;
}

TEST(ResourceAction, TheManifestNamesTheObject) {
  auto a = plan_resource_action(resource("apply", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\n"
                                                  "spec: {replicas: 2}\n"),
                                "default", Json());
  ASSERT_TRUE(a) << a.status().message();
  EXPECT_EQ(a->ref.api_version, "apps/v1");
  EXPECT_EQ(a->ref.kind, "Deployment");
  EXPECT_EQ(a->ref.namespace_, "prod");
  EXPECT_EQ(a->ref.name, "web");
  EXPECT_EQ(a->object["spec"]["replicas"], 2);  // YAML's numbers stay numbers
  EXPECT_TRUE(a->apply.force);                  // as kubectl apply overwrites
}

TEST(ResourceAction, FlagsNameTheObjectOfAJsonPatch) {
  spec::Resource r = resource("patch", "- {op: add, path: /metadata/labels/x, value: y}\n", {"wf", "my-wf"});
  r.merge_strategy = "json";
  auto a = plan_resource_action(r, "team", Json());
  ASSERT_TRUE(a) << a.status().message();
  EXPECT_EQ(a->ref.kind, "Workflow");
  EXPECT_EQ(a->ref.api_version, "argoproj.io/v1alpha1");
  EXPECT_EQ(a->ref.name, "my-wf");
  EXPECT_EQ(a->default_namespace, "team");
  EXPECT_EQ(a->patch_type, kube::PatchType::kJson);
  EXPECT_TRUE(a->object.is_array());
}

TEST(ResourceAction, KindSlashNameAndNamespaceFlags) {
  auto a = plan_resource_action(resource("delete", "", {"deployment.apps/web", "-n", "prod", "--cascade=foreground",
                                                        "--grace-period=5", "--ignore-not-found"}),
                                "default", Json());
  ASSERT_TRUE(a) << a.status().message();
  EXPECT_EQ(a->ref.kind, "Deployment");
  EXPECT_EQ(a->default_namespace, "prod");
  EXPECT_EQ(a->remove.propagation, kube::Propagation::kForeground);
  EXPECT_EQ(a->remove.grace_period_seconds, 5);
}

TEST(ResourceAction, ServerSideApplyTakesOverOnlyWhenForced) {
  const std::string cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
  auto plain = plan_resource_action(resource("apply", cm, {"--server-side", "--field-manager=ci"}), "default", Json());
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->apply.force);
  EXPECT_EQ(plain->apply.field_manager, "ci");
  auto forced = plan_resource_action(resource("apply", cm, {"--server-side", "--force-conflicts"}), "default", Json());
  ASSERT_TRUE(forced);
  EXPECT_TRUE(forced->apply.force);
}

TEST(ResourceAction, TheOwnerIsAddedToTheManifest) {
  Json owner = {{"kind", "Workflow"}, {"name", "w"}, {"uid", "u-1"}};
  auto a = plan_resource_action(
      resource("create", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  ownerReferences: [{kind: X, name: x, uid: x}]\n"),
      "default", owner);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->object["metadata"]["ownerReferences"].size(), 2u);
  EXPECT_EQ(a->object["metadata"]["ownerReferences"][1]["uid"], "u-1");
}

TEST(ResourceAction, MistakesSayWhatIsWrong) {
  auto unknown_flag = plan_resource_action(resource("get", "", {"cm", "x", "--output=yaml"}), "d", Json());
  ASSERT_FALSE(unknown_flag);
  EXPECT_NE(unknown_flag.status().message().find("--output=yaml is not a flag"), std::string::npos);
  auto unknown_kind = plan_resource_action(resource("get", "", {"gadget", "x"}), "d", Json());
  ASSERT_FALSE(unknown_kind);
  EXPECT_NE(unknown_kind.status().message().find("kind \"gadget\""), std::string::npos);
  auto no_name = plan_resource_action(resource("apply", "apiVersion: v1\nkind: ConfigMap\n"), "d", Json());
  ASSERT_FALSE(no_name);
  EXPECT_NE(no_name.status().message().find("metadata.name"), std::string::npos);
  auto generated = plan_resource_action(resource("create", "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: c-}\n"), "d", Json());
  EXPECT_TRUE(generated) << generated.status().message();
  auto two = plan_resource_action(resource("create", "apiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\n"), "d", Json());
  ASSERT_FALSE(two);
  EXPECT_NE(two.status().message().find("more than one object"), std::string::npos);
  auto broken = plan_resource_action(resource("create", "apiVersion: [v1\n"), "d", Json());
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.status().message().find("resource.manifest"), std::string::npos);
  spec::Resource json_patch = resource("patch", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", {"cm", "c"});
  json_patch.merge_strategy = "json";
  auto not_a_list = plan_resource_action(json_patch, "d", Json());
  ASSERT_FALSE(not_a_list);
  EXPECT_NE(not_a_list.status().message().find("list of operations"), std::string::npos);
}

}  // namespace
}  // namespace skiff::runtime::detail
