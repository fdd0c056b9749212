// AppController: Argo CD's application controller, in skiff. For every stored Application
// it fetches the source (cd/git.h, cached), renders it (cd/render.h), compares it with what
// is live at the destination (cd/sync.h: skiff's own kinds in skiff, the rest on the
// destination cluster, or on this machine when there is none: machine/objects.h) and writes Argo CD's status: sync (status, revision, comparedTo),
// health, resources[], sourceType, reconciledAt, conditions. It syncs when an operation is
// stored (the API's sync and rollback: operationState, history) and, with
// syncPolicy.automated, when the app is OutOfSync (once per revision; again on drift with
// selfHeal); deletes an app's resources before the app when its finalizer says so
// (resources-finalizer.argocd.argoproj.io).
//
// When: every resync period after the last reconcile (Argo CD's 3 minutes by default), and
// at once when poked (the API changed an app, asked a refresh or an operation).
//
// Threads: tick() and next_wakeup_ms() on the controller loop's thread pick what is due;
// reconciles run on the controller's own worker thread (git fetches and renders take
// seconds, which the cron controller must not wait for). Status is written with the
// store's compare-and-swap: a concurrent API write makes it read again.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "cd/chart.h"
#include "cd/git.h"
#include "cd/render.h"
#include "cd/sync.h"
#include "kube/client.h"
#include "server/api_context.h"
#include "server/app_clusters.h"
#include "server/controller.h"

namespace skiff::server {

struct AppControllerOptions {
  std::string cache_dir;          // git checkouts (<data>/cd/git); Helm charts beside it (<data>/cd/charts)
  int64_t resync_ms = 180'000;    // --app-resync
  cd::RenderOptions render;
  // With no cluster: this machine (machine/objects.h) takes the kinds skiff does not keep
  // itself; null when it cannot run containers, `no_cluster_hint` then says why.
  std::shared_ptr<kube::ObjectApi> machine;
  std::string no_cluster_hint;
};

class AppController final : public Controller {
 public:
  // `local` serves skiff's own kinds (LocalObjects); `cluster` is the configured cluster
  // (null: none).
  AppController(ApiContext& ctx, std::shared_ptr<kube::ObjectApi> local, std::shared_ptr<kube::Client> cluster,
                AppControllerOptions options);
  ~AppController() override;  // stops the worker after the reconcile under way

  void tick() override;
  int64_t next_wakeup_ms() const override;

  // The API's views (api_context.h): what the app renders against what is live, and what
  // it renders at a revision.
  Result<Json> managed_resources(const std::string& namespace_, const std::string& name);
  Result<Json> manifests(const std::string& namespace_, const std::string& name, const std::string& revision);

  // Reconciles the apps named `name` (in any app namespace) soon: a live object whose
  // tracking id names it changed (Argo CD's controller watches its apps' resources). Any thread.
  void refresh(const std::string& name);

  // Reconciles one app now, on the calling thread (tests).
  void reconcile(const std::string& namespace_, const std::string& name);

 private:
  struct Rendered;
  void schedule();  // tick()'s work: queue the apps that are due
  void work();
  Result<Rendered> render_app(const std::string& namespace_, const std::string& name, const spec::Object& app,
                              const std::string& revision);
  // The cluster a destination names: the server's own for in-cluster (null: none), else
  // one of the cluster secrets (app_clusters.h).
  Result<std::shared_ptr<kube::Client>> cluster_for(const std::string& server, const std::string& name);
  cd::Destinations destinations(const std::shared_ptr<kube::Client>& cluster) const;
  Status write_status(const std::string& namespace_, const std::string& name, const nlohmann::json& status,
                      const nlohmann::json& ran_operation);
  void finalize(const std::string& namespace_, const std::string& name, const nlohmann::json& app);

  ApiContext& ctx_;
  std::shared_ptr<kube::ObjectApi> local_;
  std::shared_ptr<kube::Client> cluster_;
  AppControllerOptions options_;
  cd::GitCache git_;
  cd::ChartCache charts_;
  ClusterSecrets clusters_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::pair<std::string, std::string>> queue_;  // (namespace, name) due
  std::set<std::pair<std::string, std::string>> queued_;
  bool stopping_ = false;
  int64_t next_wakeup_ = -1;  // loop thread only
  std::thread worker_;
};

}  // namespace skiff::server
