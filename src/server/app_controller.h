// AppController: Argo CD's application controller, in skiff. For every stored Application
// it fetches the source (cd/git.h, cached), renders it (cd/render.h), compares it with what
// is live at the destination (cd/sync.h: skiff's own kinds in skiff, the rest on the
// destination cluster, or on this machine when there is none: machine/objects.h) and
// writes Argo CD's status: sync (status, revision, comparedTo), health, resources[],
// sourceType, reconciledAt, conditions. It starts a sync operation when one is stored (the
// API's sync and rollback: operationState, history) and, with syncPolicy.automated, when
// the app is OutOfSync (once per revision; again on drift with selfHeal when the last sync
// at that revision succeeded), and continues one that is Running (hooks, waves waiting for health:
// server/app_operation.h); deletes an app's resources before the app when its finalizer
// says so (resources-finalizer.argocd.argoproj.io).
//
// When: every resync period after the last reconcile (Argo CD's 3 minutes by default), every
// second while an operation runs, and at once when poked (the API changed an app, asked a
// refresh, an operation or its termination).
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

class MetricsRegistry;

struct AppControllerOptions {
  std::string cache_dir;          // git checkouts (<data>/cd/git); Helm charts beside it (<data>/cd/charts)
  int64_t resync_ms = 180'000;    // --app-resync
  cd::RenderOptions render;
  // With no cluster: this machine (machine/objects.h) takes the kinds skiff does not keep
  // itself; null when it cannot run containers, `no_cluster_hint` then says why.
  std::shared_ptr<kube::ObjectApi> machine;
  std::string no_cluster_hint;
  MetricsRegistry* metrics = nullptr;  // argocd_app_reconcile, _sync_total, argocd_git_request_total (app_metrics.h)
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
  // The last sync operation's hooks that still exist at their destination, as resource-tree nodes.
  Result<Json> live_hooks(const std::string& namespace_, const std::string& name);

  // Reconciles the apps named `name` (in any app namespace) soon: a live object whose
  // tracking id names it changed (Argo CD's controller watches its apps' resources). Any thread.
  void refresh(const std::string& name);

  // Reconciles one app now, on the calling thread (tests).
  void reconcile(const std::string& namespace_, const std::string& name);

  // The next reconcile of an app of that repository fetches (a push webhook's; any thread).
  void invalidate_repo(const std::string& url);

 private:
  struct Rendered;
  struct Due {
    int64_t version = 0;  // the stored version `when` was read from
    int64_t when = 0;     // epoch ms, or kAskedNow
  };
  static constexpr int64_t kAskedNow = INT64_MIN;
  void schedule();  // tick()'s work: queue the apps that are due
  int64_t due_ms(const nlohmann::json& app, const std::string& namespace_) const;
  void work();
  // queued_ms: when the app was found due (a fetch begun after it serves an asked refresh).
  void reconcile(const std::string& namespace_, const std::string& name, int64_t queued_ms);
  int64_t fetched_since(const nlohmann::json& app, int64_t queued_ms) const;
  // Git is fetched unless a fetch of the repository began at `fetched_since` or later.
  Result<Rendered> render_app(const std::string& namespace_, const std::string& name, const spec::Object& app,
                              const std::string& revision, int64_t fetched_since);
  // The cluster a destination names: the server's own for in-cluster (null: none), else
  // one of the cluster secrets (app_clusters.h).
  // The AppProject `name` (its JSON in *json); nullopt for the implicit default project, or
  // with *error set when it does not exist.
  std::optional<spec::AppProjectSpec> load_project(const std::string& name, nlohmann::json* json, std::string* error) const;
  Result<std::shared_ptr<kube::Client>> cluster_for(const std::string& server, const std::string& name);
  cd::Destinations destinations(const std::shared_ptr<kube::Client>& cluster) const;
  // Writes the app's status (compare-and-swap); drops the operation it ran and the refresh
  // annotation, or sets the annotation again with `refresh_again`.
  Status write_status(const std::string& namespace_, const std::string& name, const nlohmann::json& status,
                      const nlohmann::json& ran_operation, bool refresh_again = false);
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
  struct Queued {
    int64_t at = 0;       // when it was found due
    int64_t version = 0;  // the stored version it was found due in
  };
  std::map<std::pair<std::string, std::string>, Queued> queued_;  // what queue_ holds
  std::pair<std::string, std::string> in_flight_;                 // what the worker reconciles
  int64_t in_flight_version_ = 0;
  bool stopping_ = false;
  int64_t next_wakeup_ = -1;  // loop thread only
  std::map<std::pair<std::string, std::string>, Due> due_index_;  // loop thread only
  std::string last_destination_;  // the destination server of the app reconciled last (worker thread)
  std::thread worker_;
};

}  // namespace skiff::server
