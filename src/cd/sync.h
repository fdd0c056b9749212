// Comparing an Application's rendered manifests with what is live at its destination, and
// syncing them: apply in wave order, prune what it no longer renders, as Argo CD does.
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

struct Comparison {
  std::vector<ResourceState> resources;  // rendered first (in render order), then those to prune
  std::string sync_status = "Unknown";   // Synced | OutOfSync | Unknown
  Health health;                         // the app's, aggregated
  std::vector<std::string> errors;       // ComparisonError conditions
  // Warnings as Argo CD's condition types: ExcludedResourceWarning (a sync hook, which
  // skiff does not run yet), SharedResourceWarning (an object another app tracks).
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
  std::vector<ResourceKey> only;  // selective sync: these resources only (empty: all)
};

// One line of operationState.syncResult.resources.
struct ResourceResult {
  ResourceKey key;
  std::string status;   // "Synced" | "SyncFailed" | "Pruned" | "PruneSkipped"
  std::string message;  // "configmap/x created", "...: the API's error"
  int wave = 0;
};

struct SyncOutcome {
  bool ok = true;               // every resource applied / pruned
  std::vector<ResourceResult> results;
  std::string message;          // "successfully synced (all tasks run)" or the first failure
};

// Applies the comparison: namespaces first (CreateNamespace), then waves in order (lowest
// first; within a wave, Argo CD's kind order: Namespaces, CRDs, ... then the rest), prunes
// last in their wave or after everything (PruneLast). Stops at the first wave with a failure.
SyncOutcome sync(const std::string& app_name, const Comparison& comparison, const SyncRequest& request,
                 const Destinations& destinations);

// What an Application's resources finalizer does: deletes the objects `keys` (its
// status.resources) that this app applied — those whose tracking id still names it — at
// their destinations. One result per object deleted or that could not be.
std::vector<ResourceResult> remove_tracked(const std::string& app_name, const std::vector<ResourceKey>& keys,
                                           kube::Propagation propagation, const Destinations& destinations);

}  // namespace skiff::cd
