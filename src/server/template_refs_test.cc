// Which templates a workflow gets: only those it refers to, transitively, over a real
// SQLite store.
#include "server/template_refs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace skiff::server {
namespace {

class TemplateRefsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("skiff-refs-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    auto s = store::Store::open("sqlite:" + (dir_ / "db").string());
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    store_ = std::move(*s);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A template whose only entry runs `ref` (a WorkflowTemplate, or cluster-scoped).
  void put(spec::Kind kind, const std::string& ns, const std::string& name, const std::string& spec) {
    std::string body = R"({"metadata": {"name": ")" + name + R"("}, "spec": )" + spec + "}";
    ASSERT_TRUE(store_->create_object(kind, {ns, name, body, 1, 1}).is_ok());
  }
  static std::string calling(const std::string& ref, bool cluster) {
    return R"({"entrypoint": "main", "templates": [{"name": "main", "steps": [[{"name": "s", "templateRef": {"name": ")" +
           ref + R"(", "template": "main")" + (cluster ? R"(, "clusterScope": true)" : "") + "}}]]}]}";
  }
  static constexpr char kLeaf[] = R"({"templates": [{"name": "main", "container": {"image": "alpine"}}]})";

  std::vector<std::string> names(const std::string& workflow_json) {
    auto got = referenced_templates(*store_, workflow_json, "argo");
    EXPECT_TRUE(got.is_ok()) << got.status().message();
    std::vector<std::string> out;
    if (got.is_ok()) {
      for (const auto& t : *got) out.push_back(t.metadata.name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(TemplateRefsTest, OnlyTheTemplatesReferredToTransitively) {
  put(spec::Kind::kWorkflowTemplate, "argo", "pipeline", calling("step", false));
  put(spec::Kind::kWorkflowTemplate, "argo", "step", calling("leaf", true));
  put(spec::Kind::kClusterWorkflowTemplate, "", "leaf", kLeaf);
  put(spec::Kind::kWorkflowTemplate, "argo", "unrelated", kLeaf);
  put(spec::Kind::kWorkflowTemplate, "other", "step", kLeaf);  // another namespace's
  EXPECT_EQ(names(R"({"metadata": {"name": "w"}, "spec": {"workflowTemplateRef": {"name": "pipeline"}}})"),
            (std::vector<std::string>{"leaf", "pipeline", "step"}));
  EXPECT_EQ(names(R"({"metadata": {"name": "w"}, "spec": )" + std::string(kLeaf) + "}"), std::vector<std::string>{});
  // A missing one is left for the validator to name.
  EXPECT_EQ(names(R"({"spec": {"workflowTemplateRef": {"name": "gone"}}})"), std::vector<std::string>{});
}

TEST_F(TemplateRefsTest, AStoredTemplateThatNoLongerDecodesBreaksOnlyItsUsers) {
  put(spec::Kind::kWorkflowTemplate, "argo", "good", kLeaf);
  put(spec::Kind::kWorkflowTemplate, "argo", "broken",
      R"({"templates": [{"name": "main", "container": {"image": "alpine", "imagePullPolicyy": "Always"}}]})");
  EXPECT_EQ(names(R"({"spec": {"workflowTemplateRef": {"name": "good"}}})"), std::vector<std::string>{"good"});
  auto got = referenced_templates(*store_, R"({"spec": {"workflowTemplateRef": {"name": "broken"}}})", "argo");
  ASSERT_FALSE(got.is_ok());
  EXPECT_EQ(got.status().code(), Code::kInvalid);
  EXPECT_NE(got.status().message().find("WorkflowTemplate argo/broken"), std::string::npos) << got.status().message();
  EXPECT_NE(got.status().message().find("imagePullPolicyy"), std::string::npos) << got.status().message();
}

TEST_F(TemplateRefsTest, ANameKnownOnlyAtRunTimeReadsItsWholeScope) {
  put(spec::Kind::kWorkflowTemplate, "argo", "a", kLeaf);
  put(spec::Kind::kWorkflowTemplate, "argo", "b", kLeaf);
  put(spec::Kind::kClusterWorkflowTemplate, "", "c", kLeaf);
  EXPECT_EQ(names(R"({"spec": {"templates": [{"name": "main", "steps": [[{"name": "s", "templateRef":
               {"name": "{{workflow.parameters.t}}", "template": "main"}}]]}]}})"),
            (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace skiff::server
