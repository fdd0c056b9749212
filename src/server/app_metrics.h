// Argo CD's application controller metrics (argo-cd controller/metrics), on skiff's
// MetricsRegistry:
//   argocd_app_info{name, namespace, project, repo, dest_server, dest_namespace, sync_status,
//                   health_status, operation, autosync_enabled} 1   rebuilt at each scrape
//   argocd_app_condition{name, namespace, condition}  how many conditions of that type
//   argocd_app_sync_total{name, namespace, project, dest_server, phase}  operations finished
//   argocd_app_reconcile{namespace, dest_server}  histogram of reconcile seconds, buckets
//                                                 0.25, 0.5, 1, 2, 4, 8, 16 (Argo CD's)
//   argocd_git_request_total{repo, request_type="fetch"}  git fetches (the repo server's)
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "server/metrics.h"
#include "store/store.h"

namespace skiff::server {

// One reconcile took `seconds`.
void observe_reconcile(MetricsRegistry& metrics, const std::string& namespace_, const std::string& dest_server,
                       double seconds);

// Counts the operation `app` (as written) finished, when its status.operationState ended
// since `status_before` (the stored status it replaced): Succeeded, Failed or Error.
void count_sync(MetricsRegistry& metrics, const nlohmann::json& app, const nlohmann::json& status_before);

// One git fetch of `repo` (its URL without credentials).
void count_git_fetch(MetricsRegistry& metrics, const std::string& repo);

// argocd_app_info and argocd_app_condition from the stored Applications.
void refresh_app_info(MetricsRegistry& metrics, store::Store& store);

}  // namespace skiff::server
