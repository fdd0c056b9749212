#include "machine/objects.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace skiff::machine {
namespace {

using Json = nlohmann::json;

class ObjectsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "machine-objects-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    auto opened = MachineObjects::open(dir_, nullptr);
    ASSERT_TRUE(opened) << opened.status().message();
    objects_ = std::move(*opened);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static Json deployment(const std::string& image = "busybox", int replicas = 2) {
    return {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", {{"name", "web"}}},
            {"spec",
             {{"replicas", replicas},
              {"selector", {{"matchLabels", {{"app", "web"}}}}},
              {"template",
               {{"metadata", {{"labels", {{"app", "web"}}}}},
                {"spec", {{"containers", Json::array({{{"name", "c"}, {"image", image}}})}}}}}}}};
  }

  std::string dir_;
  std::unique_ptr<MachineObjects> objects_;
};

TEST_F(ObjectsTest, CreateGetApplyAsTheApiServer) {
  auto made = objects_->create(deployment(), "default");
  ASSERT_TRUE(made) << made.status().message();
  EXPECT_EQ((*made)["metadata"]["namespace"], "default");
  EXPECT_EQ((*made)["metadata"]["generation"], 1);
  EXPECT_FALSE((*made)["metadata"].value("uid", "").empty());
  EXPECT_FALSE((*made)["metadata"].value("creationTimestamp", "").empty());
  auto again = objects_->create(deployment(), "default");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "deployments.apps \"web\" already exists");

  auto missing = objects_->get({"apps/v1", "Deployment", "default", "nope"}, "default");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().message(), "deployments.apps \"nope\" not found");

  // Apply is kubectl's client-side apply: it merges, and removes what the last apply set and
  // this one leaves out, while what others set stays. A spec change bumps the generation, a
  // label change does not.
  Json labelled = deployment();
  labelled["metadata"]["labels"] = {{"team", "a"}};
  labelled["spec"]["paused"] = true;
  auto applied = objects_->apply(labelled, "default", {});
  ASSERT_TRUE(applied);
  EXPECT_EQ((*applied)["metadata"]["generation"], 2);
  EXPECT_EQ((*applied)["metadata"]["uid"], (*made)["metadata"]["uid"]);
  ASSERT_TRUE(objects_->patch({"apps/v1", "Deployment", "", "web"}, "default", kube::PatchType::kMerge,
                              R"({"metadata":{"labels":{"owner":"ops"}}})"));
  Json relabelled = deployment("nginx");
  relabelled["metadata"]["labels"] = {{"tier", "web"}};
  auto changed = objects_->apply(relabelled, "default", {});
  ASSERT_TRUE(changed);
  EXPECT_EQ((*changed)["metadata"]["generation"], 3);
  EXPECT_FALSE((*changed)["metadata"]["labels"].contains("team")) << (*changed)["metadata"].dump();
  EXPECT_EQ((*changed)["metadata"]["labels"]["owner"], "ops");
  EXPECT_FALSE((*changed)["spec"].contains("paused"));
  Json last = Json::parse((*changed)["metadata"]["annotations"].value("kubectl.kubernetes.io/last-applied-configuration", "{}"));
  EXPECT_EQ(last["spec"], deployment("nginx")["spec"]);
  // A field the last apply set is dropped with all it holds: kubectl's `labels: null`.
  Json bare = deployment("nginx");
  auto unlabelled = objects_->apply(bare, "default", {});
  ASSERT_TRUE(unlabelled);
  EXPECT_FALSE((*unlabelled)["metadata"].contains("labels")) << (*unlabelled)["metadata"].dump();
  EXPECT_NE((*changed)["metadata"]["resourceVersion"], (*applied)["metadata"]["resourceVersion"]);

  // A replace on a stale resourceVersion is a conflict.
  Json stale = deployment();
  stale["metadata"]["resourceVersion"] = (*made)["metadata"]["resourceVersion"];
  auto conflict = objects_->replace(stale, "default");
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.status().code(), Code::kConflict);

  // Status is the controller's: a write keeps it, set_status changes it.
  ASSERT_TRUE(objects_->set_status({"apps/v1", "Deployment", "default", "web"}, {{"replicas", 2}}));
  auto patched = objects_->patch({"apps/v1", "Deployment", "", "web"}, "default", kube::PatchType::kMerge,
                                 R"({"spec":{"replicas":3},"status":{"replicas":9}})");
  ASSERT_TRUE(patched) << patched.status().message();
  EXPECT_EQ((*patched)["spec"]["replicas"], 3);
  EXPECT_EQ((*patched)["status"]["replicas"], 2);
}

TEST_F(ObjectsTest, RefusesWhatThisMachineDoesNotRun) {
  Json ds = {{"apiVersion", "apps/v1"}, {"kind", "DaemonSet"}, {"metadata", {{"name", "x"}}}};
  auto refused = objects_->apply(ds, "default", {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), Code::kInvalid);
  EXPECT_NE(refused.status().message().find("kind DaemonSet (apps/v1) is not supported on this machine"), std::string::npos);
  EXPECT_NE(refused.status().message().find("--kubeconfig"), std::string::npos);

  auto many = objects_->apply(deployment("busybox", 65), "default", {});
  ASSERT_FALSE(many);
  EXPECT_NE(many.status().message().find("spec.replicas: 65 is more than this machine runs (at most 64"), std::string::npos)
      << many.status().message();

  Json bad_name = deployment();
  bad_name["metadata"]["name"] = "../etc";
  EXPECT_FALSE(objects_->apply(bad_name, "default", {}));
  EXPECT_FALSE(objects_->apply(deployment(), "Bad_NS", {}));

  Json grpc_probe = deployment();
  grpc_probe["spec"]["template"]["spec"]["containers"][0]["livenessProbe"] = {{"grpc", {{"port", 9000}}}};
  auto grpc = objects_->apply(grpc_probe, "default", {});
  ASSERT_FALSE(grpc);
  EXPECT_NE(grpc.status().message().find("livenessProbe: not supported on this machine yet"), std::string::npos)
      << grpc.status().message();

  // progressDeadlineSeconds: a whole number above minReadySeconds, as Kubernetes validates it.
  Json deadline = deployment();
  for (Json bad : {Json(0), Json("3s"), Json(2147483648LL)}) {
    deadline["spec"]["progressDeadlineSeconds"] = bad;
    auto refused_deadline = objects_->apply(deadline, "default", {});
    ASSERT_FALSE(refused_deadline) << bad;
    EXPECT_NE(refused_deadline.status().message().find("Deployment \"web\" is invalid: spec.progressDeadlineSeconds: Invalid value: " +
                                                       bad.dump()),
              std::string::npos)
        << refused_deadline.status().message();
  }
  deadline["spec"]["progressDeadlineSeconds"] = 5;
  deadline["spec"]["minReadySeconds"] = 5;
  auto not_above = objects_->apply(deadline, "default", {});
  ASSERT_FALSE(not_above);
  EXPECT_NE(not_above.status().message().find("must be greater than minReadySeconds"), std::string::npos);

  Json svc = {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", {{"name", "s"}}},
              {"spec", {{"ports", Json::array({{{"port", 70000}}})}}}};
  EXPECT_FALSE(objects_->apply(svc, "default", {}));

  Json job = Json::parse(R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j"},
    "spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox"}]}}}})");
  auto always = objects_->apply(job, "default", {});
  ASSERT_FALSE(always);
  EXPECT_NE(always.status().message().find("spec.template.spec.restartPolicy"), std::string::npos);
  job["spec"]["template"]["spec"]["restartPolicy"] = "Never";
  ASSERT_TRUE(objects_->apply(job, "default", {}));
  job["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx";
  auto immutable = objects_->apply(job, "default", {});
  ASSERT_FALSE(immutable);
  EXPECT_NE(immutable.status().message().find("spec.template: field is immutable"), std::string::npos);

  // ConfigMaps need skiff's own store (none given here).
  Json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "c"}}}};
  EXPECT_FALSE(objects_->apply(cm, "default", {}));
}

TEST_F(ObjectsTest, KeptAcrossRestartsAndDeletedWithTheirOwners) {
  auto d = objects_->create(deployment(), "default");
  ASSERT_TRUE(d);
  Json rs = {{"apiVersion", "apps/v1"},
             {"kind", "ReplicaSet"},
             {"metadata", {{"name", "web-x"}, {"ownerReferences", Json::array({{{"uid", (*d)["metadata"]["uid"]}}})}}},
             {"spec", (*d)["spec"]}};
  auto made_rs = objects_->create(rs, "default");
  ASSERT_TRUE(made_rs) << made_rs.status().message();
  Json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", "web-x-abcde"}, {"ownerReferences", Json::array({{{"uid", (*made_rs)["metadata"]["uid"]}}})}}},
              {"spec", (*d)["spec"]["template"]["spec"]}};
  ASSERT_TRUE(objects_->create(pod, "default"));

  auto reopened = MachineObjects::open(dir_, nullptr);
  ASSERT_TRUE(reopened);
  EXPECT_EQ((*reopened)->list("Pod").size(), 1u);
  auto again = (*reopened)->get({"apps/v1", "Deployment", "default", "web"}, "default");
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)["metadata"]["uid"], (*d)["metadata"]["uid"]);
  // New versions continue past the stored ones.
  auto updated = (*reopened)->apply(deployment("nginx"), "default", {});
  ASSERT_TRUE(updated);
  EXPECT_GT(std::stoull((*updated)["metadata"]["resourceVersion"].get<std::string>()),
            std::stoull((*made_rs)["metadata"]["resourceVersion"].get<std::string>()));

  ASSERT_TRUE((*reopened)->remove({"apps/v1", "Deployment", "default", "web"}, "default", {}));
  EXPECT_TRUE((*reopened)->list("ReplicaSet").empty());
  EXPECT_TRUE((*reopened)->list("Pod").empty());
  auto gone = (*reopened)->remove({"apps/v1", "Deployment", "default", "web"}, "default", {});
  EXPECT_EQ(gone.code(), Code::kNotFound);
}

}  // namespace
}  // namespace skiff::machine
