#include "server/http_util.h"

#include <gtest/gtest.h>

namespace skiff::server {

TEST(Fields, KeepOnlyOrDropWhatArgosFieldsName) {
  Json wf = Json::parse(R"({"metadata": {"name": "a", "uid": "u"}, "status": {"phase": "Running", "nodes": {"n": {}}}})");
  EXPECT_EQ(select_fields(wf, "", "items."), wf);
  EXPECT_EQ(select_fields(wf, "items.metadata.name,items.status.phase", "items.").dump(),
            R"({"metadata":{"name":"a"},"status":{"phase":"Running"}})");
  EXPECT_EQ(select_fields(wf, "-result.object.status.nodes", "result.object.").dump(),
            R"({"metadata":{"name":"a","uid":"u"},"status":{"phase":"Running"}})");
  EXPECT_EQ(select_fields(wf, "metadata,items.nothing.here", "items.").dump(), "{}");

  EXPECT_TRUE(fields_keep("", "items.", "status.nodes"));
  EXPECT_FALSE(fields_keep("-result.object.status.nodes", "result.object.", "status.nodes"));
  EXPECT_FALSE(fields_keep("-result.object.status", "result.object.", "status.nodes"));
  EXPECT_TRUE(fields_keep("-result.object.status.nodes.x", "result.object.", "status.nodes"));
  EXPECT_TRUE(fields_keep("result.object.status", "result.object.", "status.nodes"));
  EXPECT_FALSE(fields_keep("result.object.metadata.name", "result.object.", "status.nodes"));
}

TEST(GeneratedName, CutsTheSuffixesPrefixAsKubernetesDoes) {
  EXPECT_EQ(generated_name("wf-").size(), 8u);
  std::string name = generated_name(std::string(70, 'a'));
  EXPECT_EQ(name.size(), 63u);
  EXPECT_EQ(name.substr(0, 58), std::string(58, 'a'));
}

}  // namespace skiff::server
