#include "server/routes.h"

#include <gtest/gtest.h>

#include <string>

namespace skiff::server {

TEST(Routes, PathsBecomeTheirPatternNeverThemselves) {
  EXPECT_STREQ(route_of("/api/v1/workflows/argo/wf-1").pattern, "/api/v1/workflows/{namespace}/{name}");
  EXPECT_STREQ(route_of("/api/v1/workflows/ns-9/wf-9").pattern, "/api/v1/workflows/{namespace}/{name}");
  EXPECT_STREQ(route_of("/api/v1/workflows/argo").pattern, "/api/v1/workflows/{namespace}");
  EXPECT_STREQ(route_of("/api/v1/workflows/").pattern, "/api/v1/workflows");
  EXPECT_STREQ(route_of("/api/v1/workflows/argo/wf-1/terminate").pattern,
               "/api/v1/workflows/{namespace}/{name}/terminate");
  EXPECT_STREQ(route_of("/api/v1/cluster-workflow-templates/t").pattern,
               "/api/v1/cluster-workflow-templates/{name}");
  EXPECT_STREQ(route_of("/api/v1/version").pattern, "/api/v1/version");
  EXPECT_STREQ(route_of("/metrics").pattern, "/metrics");
  EXPECT_STREQ(route_of("/api/webhook").pattern, "/api/webhook");
  EXPECT_STREQ(route_of("/api/v1/applications/web/sync").pattern, "/api/v1/applications/{name}/sync");
  EXPECT_STREQ(route_of("/api/v1/projects/team").pattern, "/api/v1/projects/{name}");
}

TEST(Routes, LiteralSegmentsWinOverNames) {
  EXPECT_STREQ(route_of("/api/v1/workflows/argo/lint").pattern, "/api/v1/workflows/{namespace}/lint");
  EXPECT_STREQ(route_of("/api/v1/workflows/argo/submit").pattern, "/api/v1/workflows/{namespace}/submit");
  EXPECT_STREQ(route_of("/api/v1/cron-workflows/argo/c/suspend").pattern,
               "/api/v1/cron-workflows/{namespace}/{name}/suspend");
}

TEST(Routes, AnythingElseHasOneLabel) {
  EXPECT_STREQ(route_of("/api/v1/workflows/a/b/c/d").pattern, "unmatched");
  EXPECT_STREQ(route_of("/api/v1/workflows/a/b/no-such-verb").pattern, "unmatched");
  EXPECT_STREQ(route_of("/api/v2/anything-" + std::string(100, 'x')).pattern, "unmatched");
  EXPECT_STREQ(route_of("/workflows/argo/wf-1").pattern, "/*");  // the web UI's deep links
  EXPECT_STREQ(route_of("/assets/index-abc123.js").pattern, "/*");
}

TEST(Routes, StreamsAreKnown) {
  EXPECT_TRUE(route_of("/api/v1/workflows/argo/wf/log").stream);
  EXPECT_TRUE(route_of("/api/v1/workflow-events/argo").stream);
  EXPECT_TRUE(route_of("/api/v1/stream/events/argo").stream);
  EXPECT_TRUE(route_of("/api/v1/stream/applications").stream);
  EXPECT_FALSE(route_of("/api/v1/applications/web").stream);
  EXPECT_FALSE(route_of("/api/v1/workflows/argo/wf").stream);
  EXPECT_FALSE(route_of("/api/v1/version").stream);
}

}  // namespace skiff::server
