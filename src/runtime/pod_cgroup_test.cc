#include "runtime/pod_cgroup.h"

#include <gtest/gtest.h>

namespace skiff::runtime {

TEST(PodLimits, FromThePodsResources) {
  auto l = pod_limits(R"({"resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1500m", "memory": "64Mi"}}})");
  ASSERT_TRUE(l.is_ok()) << l.status().message();
  EXPECT_EQ(*l->memory_bytes, 64 * 1048576);
  EXPECT_EQ(*l->cpu_quota_us, 150000);  // 1.5 CPUs of each 100 ms period
}

TEST(PodLimits, NoneWithoutLimits) {
  for (const char* json : {"", "{}", R"({"resources": {"requests": {"memory": "1Gi"}}})", R"({"nodeSelector": {}})"}) {
    auto l = pod_limits(json);
    ASSERT_TRUE(l.is_ok()) << json;
    EXPECT_FALSE(l->memory_bytes || l->cpu_quota_us) << json;
  }
}

TEST(PodLimits, BadQuantitiesAreClearErrors) {
  auto bad = pod_limits(R"({"resources": {"limits": {"memory": "lots"}}})");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("podResources.limits.memory"), std::string::npos) << bad.status().message();
  auto tiny = pod_limits(R"({"resources": {"limits": {"memory": "1Mi"}}})");
  ASSERT_FALSE(tiny.is_ok());
  EXPECT_NE(tiny.status().message().find("below the 4Mi"), std::string::npos);
  EXPECT_FALSE(pod_limits(R"({"resources": {"limits": {"cpu": "0"}}})").is_ok());
}

}  // namespace skiff::runtime
