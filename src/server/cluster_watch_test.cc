#include "server/cluster_watch.h"

#include <gtest/gtest.h>

namespace skiff::server {
namespace {

TEST(ClusterWatch, AppOfTrackingId) {
  EXPECT_EQ(app_of_tracking_id("web:apps/Deployment:shop/web"), "web");
  EXPECT_EQ(app_of_tracking_id("web:/Service:shop/web"), "web");
  EXPECT_EQ(app_of_tracking_id("team-a_web:apps/Deployment:shop/web"), "web");
  EXPECT_EQ(app_of_tracking_id("web"), "");
  EXPECT_EQ(app_of_tracking_id(":apps/Deployment:shop/web"), "");
  EXPECT_EQ(app_of_tracking_id("web:apps/Deployment"), "");
  EXPECT_EQ(app_of_tracking_id(""), "");
}

}  // namespace
}  // namespace skiff::server
