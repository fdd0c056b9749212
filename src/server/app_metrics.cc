#include "server/app_metrics.h"

#include <map>
#include <nlohmann/json.hpp>

#include "util/json_text.h"

namespace skiff::server {
namespace {

using KJson = nlohmann::json;

constexpr const char* kInCluster = "https://kubernetes.default.svc";

std::string text(const KJson& object, const char* key) {
  return object.contains(key) && object[key].is_string() ? object[key].get<std::string>() : "";
}

std::string dest_server(const KJson& spec) {
  const KJson dest = object_member(spec, "destination");
  std::string server = text(dest, "server");
  return server.empty() && text(dest, "name") == "in-cluster" ? kInCluster : server;
}

// The first source's repository, without credentials.
std::string repo(const KJson& spec) {
  KJson source = object_member(spec, "source");
  if (source.empty()) {
    KJson sources = array_member(spec, "sources");
    if (!sources.empty()) source = sources[0];
  }
  std::string url = text(source, "repoURL");
  size_t scheme = url.find("://");
  size_t at = scheme == std::string::npos ? std::string::npos : url.find('@', scheme);
  if (at != std::string::npos && at < url.find('/', scheme + 3)) url.erase(scheme + 3, at + 1 - (scheme + 3));
  return url;
}

}  // namespace

void observe_reconcile(MetricsRegistry& metrics, const std::string& ns, const std::string& server, double seconds) {
  metrics.observe("argocd_app_reconcile", "Application reconciliation performance in seconds.",
                  {{"namespace", ns}, {"dest_server", server}}, seconds, {0.25, 0.5, 1, 2, 4, 8, 16});
}

void count_git_fetch(MetricsRegistry& metrics, const std::string& repo) {
  metrics.add_counter("argocd_git_request_total", "Number of git requests performed by repo server",
                      {{"repo", repo}, {"request_type", "fetch"}});
}

void count_sync(MetricsRegistry& metrics, const KJson& app, const KJson& status_before) {
  const KJson state = object_member(object_member(app, "status"), "operationState");
  std::string phase = text(state, "phase");
  if (phase != "Succeeded" && phase != "Failed" && phase != "Error") return;
  const KJson before = object_member(status_before, "operationState");
  if (text(before, "finishedAt") == text(state, "finishedAt") && text(before, "phase") == phase &&
      text(before, "startedAt") == text(state, "startedAt"))
    return;  // the same operation, written again
  const KJson meta = object_member(app, "metadata"), spec = object_member(app, "spec");
  std::string project = text(spec, "project");
  metrics.add_counter("argocd_app_sync_total", "Number of application syncs.",
                      {{"name", text(meta, "name")}, {"namespace", text(meta, "namespace")},
                       {"project", project.empty() ? "default" : project}, {"dest_server", dest_server(spec)},
                       {"phase", phase}});
}

void refresh_app_info(MetricsRegistry& metrics, store::Store& store) {
  auto apps = store.list_objects(spec::Kind::kApplication, "");
  if (!apps) return;
  std::vector<std::pair<MetricsRegistry::Labels, double>> info, conditions;
  for (const auto& rec : *apps) {
    KJson app = parse_json_or_discarded<KJson>(rec.body);
    if (!app.is_object()) continue;
    const KJson spec = object_member(app, "spec"), status = object_member(app, "status");
    std::string project = text(spec, "project");
    const KJson automated = object_member(object_member(spec, "syncPolicy"), "automated");
    bool autosync = object_member(spec, "syncPolicy").contains("automated") &&
                    !(automated.contains("enabled") && automated["enabled"] == false);
    std::string sync = text(object_member(status, "sync"), "status");
    std::string health = text(object_member(status, "health"), "status");
    info.push_back({{{"name", rec.name},
                     {"namespace", rec.namespace_},
                     {"project", project.empty() ? "default" : project},
                     {"repo", repo(spec)},
                     {"dest_server", dest_server(spec)},
                     {"dest_namespace", text(object_member(spec, "destination"), "namespace")},
                     {"sync_status", sync.empty() ? "Unknown" : sync},
                     {"health_status", health.empty() ? "Unknown" : health},
                     {"operation", app.contains("operation") && app["operation"].is_object() &&
                                           app["operation"].contains("sync") ? "sync" : ""},
                     {"autosync_enabled", autosync ? "true" : "false"}},
                    1});
    std::map<std::string, int> by_type;
    for (const auto& c : array_member(status, "conditions")) ++by_type[text(c, "type")];
    for (const auto& [type, n] : by_type)
      conditions.push_back({{{"name", rec.name}, {"namespace", rec.namespace_}, {"condition", type}}, static_cast<double>(n)});
  }
  metrics.replace_gauges("argocd_app_info", "Information about application.", std::move(info));
  metrics.replace_gauges("argocd_app_condition", "Report application conditions.", std::move(conditions));
}

}  // namespace skiff::server
