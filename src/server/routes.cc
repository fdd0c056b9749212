#include "server/routes.h"

#include <vector>

#include "server/http_util.h"

namespace skiff::server {
namespace {

// Every API route; `{...}` matches any one segment. A literal segment wins over `{...}`
// only by coming first: ".../{namespace}/lint" is listed before ".../{namespace}/{name}".
constexpr Route kRoutes[] = {
    {"/metrics", false},
    {"/healthz", false},
    {"/api/v1/version", false},
    {"/api/v1/info", false},
    {"/api/v1/userinfo", false},
    {"/api/v1/workflows", false},
    {"/api/v1/workflows/{namespace}", false},
    {"/api/v1/workflows/{namespace}/lint", false},
    {"/api/v1/workflows/{namespace}/submit", false},
    {"/api/v1/workflows/{namespace}/{name}", false},
    {"/api/v1/workflows/{namespace}/{name}/log", true},
    {"/api/v1/workflows/{namespace}/{name}/stop", false},
    {"/api/v1/workflows/{namespace}/{name}/terminate", false},
    {"/api/v1/workflows/{namespace}/{name}/suspend", false},
    {"/api/v1/workflows/{namespace}/{name}/resume", false},
    {"/api/v1/workflows/{namespace}/{name}/set", false},
    {"/api/v1/workflows/{namespace}/{name}/retry", false},
    {"/api/v1/workflows/{namespace}/{name}/resubmit", false},
    {"/api/v1/workflow-events/{namespace}", true},
    {"/api/v1/stream/events/{namespace}", true},
    {"/api/v1/workflow-templates/{namespace}", false},
    {"/api/v1/workflow-templates/{namespace}/lint", false},
    {"/api/v1/workflow-templates/{namespace}/{name}", false},
    {"/api/v1/cluster-workflow-templates", false},
    {"/api/v1/cluster-workflow-templates/lint", false},
    {"/api/v1/cluster-workflow-templates/{name}", false},
    {"/api/v1/cron-workflows/{namespace}", false},
    {"/api/v1/cron-workflows/{namespace}/lint", false},
    {"/api/v1/cron-workflows/{namespace}/{name}", false},
    {"/api/v1/cron-workflows/{namespace}/{name}/suspend", false},
    {"/api/v1/cron-workflows/{namespace}/{name}/resume", false},
    {"/api/v1/secrets/{namespace}", false},
    {"/api/v1/secrets/{namespace}/{name}", false},
    {"/api/v1/configmaps/{namespace}", false},
    {"/api/v1/configmaps/{namespace}/{name}", false},
    {"/api/v1/applications", false},
    {"/api/v1/applications/{name}", false},
    {"/api/v1/applications/{name}/spec", false},
    {"/api/v1/applications/{name}/sync", false},
    {"/api/v1/applications/{name}/rollback", false},
    {"/api/v1/applications/{name}/operation", false},
    {"/api/v1/applications/{name}/resource-tree", false},
    {"/api/v1/applications/{name}/managed-resources", false},
    {"/api/v1/applications/{name}/manifests", false},
    {"/api/v1/applications/{name}/logs", true},
    {"/api/v1/applications/{name}/events", false},
    {"/api/v1/stream/applications", true},
    {"/api/v1/projects", false},
    {"/api/v1/projects/{name}", false},
    {"/api/webhook", false},
    {"/artifacts/{namespace}/{name}/{node}/{artifact}", false},
    {"/input-artifacts/{namespace}/{name}/{node}/{artifact}", false},
    {"/artifact-files/{namespace}/workflows/{name}/{node}/{direction}/{artifact}", false},
};

bool matches(const std::vector<std::string>& pattern, const std::vector<std::string>& path) {
  if (pattern.size() != path.size()) return false;
  for (size_t i = 0; i < path.size(); ++i) {
    if (pattern[i][0] != '{' && pattern[i] != path[i]) return false;
  }
  return true;
}

}  // namespace

Route route_of(const std::string& path) {
  static const std::vector<std::vector<std::string>> patterns = [] {
    std::vector<std::vector<std::string>> out;
    for (const Route& r : kRoutes) out.push_back(split_csv_by(r.pattern, '/'));
    return out;
  }();
  std::vector<std::string> segments = split_csv_by(path, '/');  // empty segments dropped
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (matches(patterns[i], segments)) return kRoutes[i];
  }
  if (path.rfind("/api/", 0) == 0) return {"unmatched", false};
  return {"/*", false};
}

}  // namespace skiff::server
