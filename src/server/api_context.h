// ApiContext: what the route families (workflow_routes.h, template_routes.h, ...) share,
// handed to them by the assembly (api.cc), which owns the threads behind it. Route
// handlers run on the HTTP library's threads; everything here may be used from any of them.
#pragma once

#include <functional>

#include "engine/operator.h"
#include "runtime/executor.h"
#include "server/api.h"
#include "server/events.h"
#include "server/http_util.h"
#include "store/store.h"
#include "util/status.h"

namespace skiff::machine {
class MachineObjects;
class WorkloadController;
}  // namespace skiff::machine

namespace skiff::server {

class Runner;

// How often a server-side read-modify-write of an object that met a concurrent write
// (Code::kConflict) reads again and retries.
constexpr int kWriteAttempts = 5;

struct ApiContext {
  const ServerOptions& options;
  store::Store& store;
  const engine::Clock& clock;
  EventLog& events;
  // Only for reading steps' logs (read_log() is safe on any thread); everything else goes
  // through on_runner.
  const runtime::Executor& executor;
  // Runs `fn` on the runner thread (the Runner's only user) and waits for its answer;
  // kUnavailable once the server is shutting down.
  std::function<Status(std::function<Status(Runner&)> fn)> on_runner;
  // Tells the controller loop that an object a controller watches changed (a CronWorkflow).
  std::function<void()> poke_controllers;
  // Argo CD's views of an Application that need its live objects or a fresh render, from
  // the application controller (app_controller.h); unset: the routes answer 503.
  //   managed-resources: {"items": [{group, kind, namespace, name, targetState, liveState,
  //                       normalizedLiveState, diff}]} (states as JSON text, as Argo CD's)
  //   manifests:         {"manifests": ["<json>", ...], "revision": "<sha>", "sourceType": ...}
  std::function<Result<Json>(const std::string& namespace_, const std::string& name)> app_managed_resources;
  std::function<Result<Json>(const std::string& namespace_, const std::string& name, const std::string& revision)>
      app_manifests;
  //   live hooks:        [{group, version, kind, namespace, name, health}]: the last sync
  //                       operation's hooks that exist at their destination (resource-tree)
  std::function<Result<Json>(const std::string& namespace_, const std::string& name)> app_live_hooks;
  // Drops the application controller's cached resolution of a repository (any URL naming
  // it, cd/repo_url.h), so that the next reconcile fetches: a push webhook's. Unset: no-op.
  std::function<void(const std::string& repo_url)> app_invalidate_repo;

  // This machine as the Applications' destination (machine/controller.h); null when a
  // cluster is configured or containers cannot run here.
  machine::MachineObjects* machine_objects = nullptr;
  machine::WorkloadController* workloads = nullptr;

  // Deletes a workflow with its logs (see Runner::remove), and the objects it owns
  // (LocalObjects::remove_owned).
  Status remove_workflow(const std::string& namespace_, const std::string& name);
};

}  // namespace skiff::server
