// An Application's sync operation as the controller stores it between reconciles: Argo CD's
// status.operationState (operation, phase Running|Terminating|Succeeded|Failed, message,
// startedAt, finishedAt, syncResult{resources, revision, source}, retryCount). cd::sync runs
// one step of it per reconcile; these functions read what the last step stored and write
// what this one did, so that reconcile() only says when.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "cd/sync.h"
#include "spec/application.h"

namespace skiff::server {

// A resource as status.resources and syncResult.resources name it: {group, version, kind,
// namespace (when set), name}.
nlohmann::json key_json(const cd::ResourceKey& key);
cd::ResourceKey key_from(const nlohmann::json& j);  // missing or non-string fields: ""

// How often a reconcile continues a Running operation (it waits for hooks and health).
inline constexpr int64_t kOperationPollMs = 1000;

// Whether status.operationState is an operation under way (Running, or Terminating after
// DELETE .../operation), which the next reconcile continues.
bool operation_running(const nlohmann::json& status);

// The SyncRequest of an operation record (Argo CD's Operation: {sync: {prune, dryRun,
// syncOptions, resources, ...}}) for the app: its syncOptions and the operation's.
cd::SyncRequest sync_request(const spec::ApplicationSpec& spec, const nlohmann::json& operation);

// What the stored operationState did so far; for a new operation (null), one started at `now_ms`
// at `revision`.
cd::SyncProgress sync_progress(const nlohmann::json& operation_state, const std::string& revision, int64_t now_ms);

// operationState after a step: `previous` (null for a new operation) carries startedAt and
// retryCount; finishedAt once it is no longer Running.
nlohmann::json operation_state(const nlohmann::json& operation, const cd::SyncOutcome& outcome,
                               const nlohmann::json& previous, const std::string& now, const nlohmann::json& sync_result);

// Whether argocd-cm (in the data directory, namespace argocd) restores Argo CD's pre-1.8
// health of child Applications: resource.customizations.health.argoproj.io_Application, or
// the argoproj.io/Application entry of resource.customizations. skiff does not run the Lua:
// a child's own status.health counts.
bool application_health_enabled(const std::string& data_dir);

}  // namespace skiff::server
