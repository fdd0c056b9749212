#include "kube/object_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace skiff::kube {
namespace {

TEST(ObjectApi, DescribeNamesTheObjectAsMessagesDo) {
  EXPECT_EQ(describe({"v1", "ConfigMap", "default", "x"}), "ConfigMap default/x");
  EXPECT_EQ(describe({"v1", "Namespace", "", "y"}), "Namespace y");
  EXPECT_EQ(describe({"v1", "ConfigMap", "ci", ""}), "ConfigMap in namespace ci");
  EXPECT_EQ(describe({"v1", "Node", "", ""}), "Node");
}

TEST(ObjectApi, RefOfReadsWhatIsThereAndToleratesTheRest) {
  ObjectRef r = ref_of(nlohmann::json::parse(
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"prod"}})"));
  EXPECT_EQ(r.api_version, "apps/v1");
  EXPECT_EQ(r.kind, "Deployment");
  EXPECT_EQ(r.namespace_, "prod");
  EXPECT_EQ(r.name, "web");
  for (const char* text : {"[]", "3", "null", R"({"kind":7,"metadata":[]})", R"({"metadata":{"name":{}}})"}) {
    ObjectRef empty = ref_of(nlohmann::json::parse(text));
    EXPECT_EQ(empty.api_version + empty.kind + empty.namespace_ + empty.name, "") << text;
  }
}

}  // namespace
}  // namespace skiff::kube
