// Comparing an Application's rendered manifests with what is live at its destination, and
// syncing them as Argo CD's sync operation does: phases (PreSync, Sync, PostSync; SyncFail
// when it fails) of waves, hooks (cd/hooks.h), waiting between waves for what the last one
// applied to become healthy, over as many calls as it takes; prune what it no longer renders.
//
// Resources are tracked as Argo CD 3 tracks them: the annotation
// argocd.argoproj.io/tracking-id = "<app>:<group>/<kind>:<namespace>/<name>" on every object
// skiff applies. What the app applied last is in its status.resources; an object listed there
// that the render no longer has, and whose tracking id names this app, is pruned (with
// prune) or reported as requiring pruning. Objects are written through a kube::ObjectApi:
// skiff's own kinds (argoproj.io) into skiff (server::LocalObjects), every other kind to the
// destination cluster, or to this machine (machine/objects.h) when there is none, or refused
// when containers cannot run here either. Pure logic over the ObjectApi; any thread; one call per app at a time.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cd/diff.h"
#include "cd/health.h"
#include "cd/hooks.h"
#include "kube/object_api.h"
#include "spec/application.h"
#include "util/status.h"

namespace skiff::cd {

inline constexpr const char* kTrackingAnnotation = "argocd.argoproj.io/tracking-id";
inline constexpr const char* kSyncWaveAnnotation = "argocd.argoproj.io/sync-wave";
inline constexpr const char* kSyncOptionsAnnotation = "argocd.argoproj.io/sync-options";
inline constexpr const char* kFieldManager = "argocd-controller";  // server-side apply's, as Argo CD's

// Where an app's objects go, by kind.
struct Destinations {
  kube::ObjectApi* local = nullptr;    // skiff's own kinds (argoproj.io)
  kube::ObjectApi* cluster = nullptr;  // the destination cluster, or this machine (machine/objects.h); null: none
  std::string no_cluster_hint = "start skiff with --kubeconfig FILE (or KUBECONFIG) to deploy to a cluster";
  // Whether a kind is namespaced, when the destination can tell (the cluster's discovery);
  // unset or nullopt: namespaced unless a well-known cluster-scoped kind.
  std::function<std::optional<bool>(const std::string& api_version, const std::string& kind)> namespaced;
};

// An object as Argo CD's status.resources names it.
struct ResourceKey {
  std::string group, version, kind, namespace_, name;
  bool operator==(const ResourceKey&) const = default;
};
ResourceKey key_of(const nlohmann::json& object);
// Whether objects of the kind live in a namespace: as the destination says, else true unless
// a well-known cluster-scoped kind.
bool is_namespaced(const Destinations& destinations, const std::string& api_version, const std::string& kind);
std::string tracking_id(const std::string& app, const ResourceKey& key);

struct ResourceState {
  ResourceKey key;
  nlohmann::json target;  // rendered, tracking annotation added (null: only live, to prune)
  nlohmann::json live;    // null: missing
  std::string status;     // "Synced" | "OutOfSync" | "Unknown"
  std::optional<Health> health;
  bool requires_pruning = false;
  int wave = 0;
  Diff diff;
  std::string error;      // could not be read
  std::string shared_with;  // the live object's tracking id names another app (this one's)
};

// A resource's health as the sync and the app see it: assess_health, except that an
// argoproj.io Application counts as Healthy once it exists (Argo CD >= 1.8) unless
// `application_health` (argocd-cm has resource.customizations.health.argoproj.io_Application),
// when its own status.health counts.
std::optional<Health> resource_health(const nlohmann::json& live, bool application_health);

struct Comparison {
  std::vector<ResourceState> resources;  // rendered first (in render order), then those to prune
  std::vector<nlohmann::json> hooks;     // rendered hooks (cd/hooks.h), namespace set: not resources
  std::string sync_status = "Unknown";   // Synced | OutOfSync | Unknown
  Health health;                         // the app's, aggregated
  std::vector<std::string> errors;       // ComparisonError conditions
  // Warnings as Argo CD's condition types: SharedResourceWarning (an object another app tracks).
  std::vector<std::pair<std::string, std::string>> warnings;
};

struct CompareRequest {
  std::string app_name;
  std::string destination_namespace;       // for namespaced objects that name none
  std::vector<nlohmann::json> manifests;   // render.h
  std::vector<ResourceKey> previous;       // status.resources of the last reconcile
  std::vector<spec::IgnoreDifference> ignore_differences;  // the app's, by group/kind/name/namespace
  // RespectIgnoreDifferences=true: each target keeps the live values of its ignored fields,
  // so a sync leaves them as they are (diff.h's respect_ignored).
  bool respect_ignore_differences = false;
  bool application_health = false;         // resource_health's
};

// Reads every rendered and previously tracked object at its destination and compares.
Comparison compare(const CompareRequest& request, const Destinations& destinations);

struct SyncRequest {
  std::string destination_namespace;  // made first with create_namespace
  bool prune = false;
  bool dry_run = false;
  bool apply_out_of_sync_only = false;
  bool prune_last = false;
  bool replace = false;         // Replace=true: PUT (create when missing) instead of apply
  bool server_side_apply = false;
  bool create_namespace = false;
  std::map<std::string, std::string> namespace_labels, namespace_annotations;  // managedNamespaceMetadata
  kube::Propagation prune_propagation = kube::Propagation::kForeground;      // PrunePropagationPolicy (Argo CD's default)
  bool fail_on_shared = false;  // FailOnSharedResource: an object another app tracks fails the sync
  std::vector<ResourceKey> only;  // selective sync: these resources only (empty: all), and no hooks
  bool application_health = false;  // resource_health's
};

// One line of operationState.syncResult.resources.
struct ResourceResult {
  ResourceKey key;
  std::string status;   // "Synced" | "SyncFailed" | "Pruned" | "PruneSkipped"
  std::string message;  // "configmap/x created", "...: the API's error"
  int wave = 0;
  SyncPhase phase = SyncPhase::kSync;  // syncPhase
  std::string hook_type{};             // hookType: the phase's name for a hook, "" for a resource
  std::string hook_phase = "Succeeded";  // Running (waiting for it) | Succeeded | Failed
};

// What an operation did in earlier calls (operationState), to continue it.
struct SyncProgress {
  std::vector<ResourceResult> results;  // syncResult.resources so far
  std::string revision;                 // what it syncs (names generateName hooks)
  int64_t started_unix = 0;             // when it started (names generateName hooks)
  bool terminating = false;             // DELETE .../operation: stop it
};

struct SyncOutcome {
  std::string phase = "Succeeded";  // operationState.phase: Running | Succeeded | Failed
  bool ok = true;                   // phase is not Failed
  std::vector<ResourceResult> results;  // all so far, in the order they ran
  std::string message;  // "successfully synced (all tasks run)", "waiting for ...", or why it failed
};

// One step of a sync operation, continuing `progress`: checks what the last step left
// running (hooks until complete; in a sync of several waves, resources until Healthy; a
// Degraded one fails), then applies the next wave — namespaces first (CreateNamespace);
// phases PreSync, Sync, PostSync; waves lowest first; within a wave Argo CD's kind order,
// prunes last in their wave or after everything (PruneLast) — and carries on while nothing
// needs waiting for. A failure stops the waves and runs the SyncFail hooks. Running: call
// again with the results (a later reconcile). Hook delete policies are applied as it goes
// (BeforeHookCreation) and when it ends. Dry runs and selective syncs run no hooks.
SyncOutcome sync(const std::string& app_name, const Comparison& comparison, const SyncRequest& request,
                 const Destinations& destinations, const SyncProgress& progress = {});

// The live object of `key` at its destination (kNotFound: none).
Result<nlohmann::json> read_live(const ResourceKey& key, const Destinations& destinations);

// What an Application's resources finalizer does: deletes the objects `keys` (its
// status.resources) that this app applied — those whose tracking id still names it — at
// their destinations. One result per object deleted or that could not be.
std::vector<ResourceResult> remove_tracked(const std::string& app_name, const std::vector<ResourceKey>& keys,
                                           kube::Propagation propagation, const Destinations& destinations);

}  // namespace skiff::cd
