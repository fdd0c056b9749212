#include "cd/sync.h"

#include <algorithm>
#include <map>
#include <set>

#include "cd/sync_internal.h"
#include "util/json_text.h"

namespace skiff::cd {

using Json = nlohmann::json;
using namespace internal;

namespace internal {
namespace {

// Kinds that are cluster-scoped on every Kubernetes (when the destination cannot say).
bool well_known_cluster_scoped(const std::string& kind) {
  static const std::set<std::string> kKinds = {
      "Namespace", "Node", "PersistentVolume", "StorageClass", "CustomResourceDefinition", "ClusterRole",
      "ClusterRoleBinding", "PriorityClass", "IngressClass", "APIService", "ValidatingWebhookConfiguration",
      "MutatingWebhookConfiguration", "RuntimeClass", "CSIDriver", "VolumeSnapshotClass", "ClusterWorkflowTemplate"};
  return kKinds.count(kind) > 0;
}

std::string api_version_of(const ResourceKey& k) { return k.group.empty() ? k.version : k.group + "/" + k.version; }

}  // namespace

kube::ObjectRef ref_of_key(const ResourceKey& k) { return {api_version_of(k), k.kind, k.namespace_, k.name}; }

std::string short_name(const ResourceKey& k) {
  std::string kind = k.kind;
  std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return std::tolower(c); });
  return kind + (k.group.empty() ? "" : "." + k.group) + "/" + k.name;
}

Result<kube::ObjectApi*> target_for(const ResourceKey& k, const Destinations& d) {
  if (k.group == "argoproj.io") {
    if (!d.local) return Status(Code::kUnavailable, "skiff's own kinds are not served here");
    return d.local;
  }
  if (!d.cluster)
    return Status(Code::kInvalid, "no cluster to deploy " + k.kind + " " + k.name + " to: " + d.no_cluster_hint);
  return d.cluster;
}

// A subset of Argo CD's list.
int kind_rank(const std::string& kind) {
  static const std::vector<std::string> kOrder = {
      "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
      "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
      "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
      "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
      "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job",
      "CronJob", "IngressClass", "Ingress", "APIService",
      // skiff's own: the templates a workflow, a CronWorkflow or an Application names come
      // first, since skiff checks those references when it stores them.
      "ClusterWorkflowTemplate", "WorkflowTemplate", "AppProject", "CronWorkflow", "Workflow", "Application"};
  auto it = std::find(kOrder.begin(), kOrder.end(), kind);
  return it == kOrder.end() ? static_cast<int>(kOrder.size()) : static_cast<int>(it - kOrder.begin());
}

bool has_option(const Json& object, const std::string& option) {
  const Json a = object_member(object_member(object, "metadata"), "annotations");
  if (!a.is_object() || !a.contains(kSyncOptionsAnnotation) || !a[kSyncOptionsAnnotation].is_string()) return false;
  std::string text = a[kSyncOptionsAnnotation].get<std::string>();
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (item == option) return true;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return false;
}

std::string tracking_of(const Json& live) {
  const Json a = object_member(object_member(live, "metadata"), "annotations");
  if (!a.is_object() || !a.contains(kTrackingAnnotation) || !a[kTrackingAnnotation].is_string()) return "";
  return a[kTrackingAnnotation].get<std::string>();
}

}  // namespace internal

namespace {

DiffOptions diff_options_for(const ResourceKey& k, const std::vector<spec::IgnoreDifference>& rules) {
  DiffOptions o;
  o.applier = kFieldManager;
  for (const auto& r : rules) {
    if (r.kind != k.kind || r.group != k.group) continue;
    if (!r.name.empty() && r.name != k.name) continue;
    if (!r.namespace_.empty() && r.namespace_ != k.namespace_) continue;
    o.json_pointers.insert(o.json_pointers.end(), r.json_pointers.begin(), r.json_pointers.end());
    o.jq_path_expressions.insert(o.jq_path_expressions.end(), r.jq_path_expressions.begin(),
                                 r.jq_path_expressions.end());
    o.managed_fields_managers.insert(o.managed_fields_managers.end(), r.managed_fields_managers.begin(),
                                     r.managed_fields_managers.end());
  }
  return o;
}

}  // namespace

ResourceKey key_of(const Json& object) {
  ResourceKey k;
  std::string api_version = object.value("apiVersion", "");
  size_t slash = api_version.find('/');
  if (slash == std::string::npos) {
    k.version = api_version;
  } else {
    k.group = api_version.substr(0, slash);
    k.version = api_version.substr(slash + 1);
  }
  k.kind = object.value("kind", "");
  const Json meta = object_member(object, "metadata");
  if (meta.is_object()) {
    k.namespace_ = meta.value("namespace", "");
    k.name = meta.value("name", "");
  }
  return k;
}

std::string tracking_id(const std::string& app, const ResourceKey& k) {
  return app + ":" + k.group + "/" + k.kind + ":" + k.namespace_ + "/" + k.name;
}

std::optional<Health> resource_health(const Json& live, bool application_health) {
  if (!application_health && live.value("kind", "") == "Application" &&
      live.value("apiVersion", "").rfind("argoproj.io/", 0) == 0)
    return std::nullopt;  // no health check: Healthy once it exists
  return assess_health(live);
}

bool is_namespaced(const Destinations& destinations, const std::string& api_version, const std::string& kind) {
  if (destinations.namespaced) {
    if (auto n = destinations.namespaced(api_version, kind)) return *n;
  }
  return !well_known_cluster_scoped(kind);
}

Comparison compare(const CompareRequest& request, const Destinations& destinations) {
  Comparison out;
  std::set<std::string> rendered;
  auto namespaced = [&](const std::string& api_version, const std::string& kind) {
    return is_namespaced(destinations, api_version, kind);
  };
  auto read_live = [&](ResourceState& r) {
    auto api = target_for(r.key, destinations);
    if (!api) {
      r.error = api.status().message();
      return;
    }
    auto live = (*api)->get(ref_of_key(r.key), r.key.namespace_);
    if (live) r.live = std::move(*live);
    else if (live.status().code() != Code::kNotFound) r.error = live.status().message();
  };
  for (const Json& manifest : request.manifests) {
    ResourceState r;
    r.target = manifest;
    if (!r.target.contains("metadata") || !r.target["metadata"].is_object()) r.target["metadata"] = Json::object();
    Json& meta = r.target["metadata"];
    std::string api_version = r.target.value("apiVersion", ""), kind = r.target.value("kind", "");
    if (namespaced(api_version, kind)) {
      if (meta.value("namespace", "").empty()) meta["namespace"] = request.destination_namespace;
    } else {
      meta.erase("namespace");
    }
    r.key = key_of(r.target);
    if (is_hook(r.target)) {  // not a resource of the app: the sync operation names and creates it
      out.hooks.push_back(std::move(r.target));
      continue;
    }
    if (r.key.kind.empty() || r.key.name.empty()) {
      out.errors.push_back("a rendered object has no kind or metadata.name: " + manifest.dump().substr(0, 200));
      continue;
    }
    if (!meta.contains("annotations") || !meta["annotations"].is_object()) meta["annotations"] = Json::object();
    meta["annotations"][kTrackingAnnotation] = tracking_id(request.app_name, r.key);
    r.wave = sync_wave(r.target);
    std::string id = tracking_id(request.app_name, r.key);
    if (!rendered.insert(id).second) {
      out.errors.push_back("the source renders " + r.key.kind + " " + r.key.namespace_ + "/" + r.key.name + " twice");
      continue;
    }
    read_live(r);
    if (!r.error.empty()) {
      r.status = "Unknown";
      out.errors.push_back(r.error);
    } else {
      DiffOptions diff_options = diff_options_for(r.key, request.ignore_differences);
      r.diff = diff(r.target, r.live, diff_options);
      if (request.respect_ignore_differences) r.target = respect_ignored(r.target, r.live, diff_options);
      r.status = r.live.is_null() || r.diff.modified ? "OutOfSync" : "Synced";
      r.health = r.live.is_null() ? std::optional<Health>(Health{HealthStatus::kMissing, ""})
                                  : resource_health(r.live, request.application_health);
      std::string owner = r.live.is_null() ? "" : tracking_of(r.live);
      if (!owner.empty() && owner != id) {
        r.shared_with = owner.substr(0, owner.find(':'));
        out.warnings.emplace_back("SharedResourceWarning", r.key.kind + " " + r.key.namespace_ + "/" + r.key.name +
                                                               " is part of application " + r.shared_with + " too");
      }
    }
    out.resources.push_back(std::move(r));
  }
  for (const ResourceKey& k : request.previous) {
    if (rendered.count(tracking_id(request.app_name, k))) continue;
    ResourceState r;
    r.key = k;
    read_live(r);
    // Only what this app applied is pruned: a tracking id naming another app (or none) is
    // someone else's object now.
    if (r.live.is_null() || tracking_of(r.live) != tracking_id(request.app_name, k)) continue;
    r.status = "OutOfSync";
    r.requires_pruning = true;
    r.wave = sync_wave(r.live);
    r.health = resource_health(r.live, request.application_health);
    out.resources.push_back(std::move(r));
  }
  bool out_of_sync = false, unknown = !out.errors.empty();
  std::vector<HealthStatus> healths;
  for (const auto& r : out.resources) {
    out_of_sync |= r.status == "OutOfSync";
    if (r.requires_pruning || !r.error.empty()) continue;
    // A live object with no health check counts as Healthy; a missing one as Missing.
    healths.push_back(r.health ? r.health->status : HealthStatus::kHealthy);
  }
  out.sync_status = unknown ? "Unknown" : out_of_sync ? "OutOfSync" : "Synced";
  out.health.status = healths.empty() ? HealthStatus::kHealthy : aggregate_health(healths);
  for (const auto& r : out.resources) {
    if (r.health && r.health->status == out.health.status && !r.health->message.empty()) {
      out.health.message = r.health->message;
      break;
    }
  }
  return out;
}

Result<Json> read_live(const ResourceKey& key, const Destinations& destinations) {
  auto api = target_for(key, destinations);
  if (!api) return api.status();
  return (*api)->get(ref_of_key(key), key.namespace_);
}

std::vector<ResourceResult> remove_tracked(const std::string& app_name, const std::vector<ResourceKey>& keys,
                                           kube::Propagation propagation, const Destinations& destinations) {
  std::vector<ResourceResult> out;
  kube::DeleteOptions options;
  options.propagation = propagation;
  for (const ResourceKey& k : keys) {
    auto api = target_for(k, destinations);
    if (!api) continue;
    auto live = (*api)->get(ref_of_key(k), k.namespace_);
    if (!live || tracking_of(*live) != tracking_id(app_name, k)) continue;  // gone, or someone else's now
    Status st = (*api)->remove(ref_of_key(k), k.namespace_, options);
    if (!st && st.code() != Code::kNotFound)
      out.push_back({.key = k, .status = "SyncFailed", .message = short_name(k) + ": " + st.message(), .hook_phase = "Failed"});
    else out.push_back({.key = k, .status = "Pruned", .message = short_name(k) + " deleted"});
  }
  return out;
}

}  // namespace skiff::cd
