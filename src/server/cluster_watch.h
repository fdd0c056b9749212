// ClusterWatch: what Argo CD's controller does with its watches on a cluster, for skiff's
// application controller: when an object on the configured cluster that carries an app's
// tracking annotation (cd/sync.h) changes — a Deployment turning ready, a Job failing — the
// app is reconciled at once instead of at its next resync (180 s apart by default). This
// machine's objects tell the controller themselves (machine/objects.h); this is the same
// for a cluster given with --kubeconfig. Clusters named by cluster secrets are not watched.
//
// It watches, in all namespaces, the kinds whose status makes an app's health:
// Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, Service, PersistentVolumeClaim.
// A kind the cluster refuses (not served, forbidden) or a watch that gives up is said on
// stderr once and tried again after a pause.
//
// Threads: one per watched kind, started by the constructor; `on_change` is called on them
// (AppController::refresh is safe from any thread). The destructor stops and joins them
// (each notices within about a second).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace skiff::kube {
class Client;
}

namespace skiff::server {

class ClusterWatch {
 public:
  // on_change(app name) for each change to a tracked object.
  ClusterWatch(std::shared_ptr<kube::Client> cluster, std::function<void(const std::string&)> on_change);
  ~ClusterWatch();
  ClusterWatch(const ClusterWatch&) = delete;
  ClusterWatch& operator=(const ClusterWatch&) = delete;

 private:
  void watch_kind(const std::string& api_version, const std::string& kind);

  std::shared_ptr<kube::Client> cluster_;
  std::function<void(const std::string&)> on_change_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

// The app a tracking id ("<app>:<group>/<kind>:<namespace>/<name>") names, or "" when it
// is not one.
std::string app_of_tracking_id(const std::string& tracking_id);

}  // namespace skiff::server
