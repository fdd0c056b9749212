#include "server/cluster_watch.h"

#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cd/sync.h"
#include "kube/client.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {

struct WatchedKind {
  const char* api_version;
  const char* kind;
};

constexpr WatchedKind kWatched[] = {
    {"apps/v1", "Deployment"}, {"apps/v1", "StatefulSet"}, {"apps/v1", "DaemonSet"}, {"apps/v1", "ReplicaSet"},
    {"batch/v1", "Job"},       {"v1", "Service"},          {"v1", "PersistentVolumeClaim"},
};

constexpr int kRetryPauseS = 30;  // after a watch that failed

}  // namespace

std::string app_of_tracking_id(const std::string& tracking_id) {
  size_t colon = tracking_id.find(':');
  if (colon == 0 || colon == std::string::npos || tracking_id.find(':', colon + 1) == std::string::npos) return "";
  std::string app = tracking_id.substr(0, colon);
  // Apps outside the controller's namespace are tracked as "<namespace>_<app>".
  size_t under = app.find('_');
  return under == std::string::npos ? app : app.substr(under + 1);
}

ClusterWatch::ClusterWatch(std::shared_ptr<kube::Client> cluster, std::function<void(const std::string&)> on_change)
    : cluster_(std::move(cluster)), on_change_(std::move(on_change)) {
  for (const auto& w : kWatched) threads_.emplace_back([this, w] { watch_kind(w.api_version, w.kind); });
}

ClusterWatch::~ClusterWatch() {
  stopping_ = true;
  for (auto& t : threads_) t.join();
}

void ClusterWatch::watch_kind(const std::string& api_version, const std::string& kind) {
  kube::WatchOptions options;
  options.cancelled = [this] { return stopping_.load(); };
  bool said = false;
  while (!stopping_) {
    // Each (re)start lists first: every tracked object comes as ADDED, so a change missed
    // while the watch was down still reaches its app.
    options.resource_version.clear();
    Status s = cluster_->watch(api_version, kind, "", options, [this](const std::string&, const nlohmann::json& object) {
      // What the cluster sends is read without trusting its shape.
      const nlohmann::json annotations = object_member(object_member(object, "metadata"), "annotations");
      auto it = annotations.find(cd::kTrackingAnnotation);
      if (it != annotations.end() && it->is_string()) {
        std::string app = app_of_tracking_id(it->get<std::string>());
        if (!app.empty()) on_change_(app);
      }
      return !stopping_.load();
    });
    if (stopping_) break;
    if (s) {  // the server ended the watch (its timeout): start again, listing first
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    if (!said) {
      std::fprintf(stderr, "skiff server: watching %s on %s: %s (Applications then see its changes at their resync; "
                   "tried again every %d s)\n", kind.c_str(), cluster_->config().server.c_str(), s.message().c_str(),
                   kRetryPauseS);
      said = true;
    }
    for (int i = 0; i < kRetryPauseS * 10 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace skiff::server
