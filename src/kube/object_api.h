// ObjectApi: reads and writes Kubernetes-shaped objects by apiVersion and kind. The
// cluster's client (kube/client.h) is one; skiff's own kinds kept in its store (Workflow,
// WorkflowTemplate, CronWorkflow, ConfigMap, Secret: server/local_objects.h) are another.
// `resource` steps (runtime/resource_executor.h) act through it, whichever holds the kind.
//
// Objects are JSON as the Kubernetes API shapes them (apiVersion, kind, metadata, ...).
// Errors carry the API's own message and name the object:
//   kNotFound       no such object (404), or no such kind (the message says which)
//   kAlreadyExists  create of an object that exists (409 AlreadyExists)
//   kConflict       a stale resourceVersion (409 Conflict), or an apply conflict
//   kInvalid        the object or patch is refused (400, 415, 422; "forbidden" for 401/403)
//   kUnavailable    the API server cannot be reached (or answers 5xx / 429 past retries)
// Thread-safety: implementations may be called from several threads at once.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "util/status.h"

namespace skiff::kube {

struct ObjectRef {
  std::string api_version;  // "v1", "apps/v1", "argoproj.io/v1alpha1"
  std::string kind;         // "ConfigMap"
  std::string namespace_;   // "" for cluster-scoped kinds, or the API's default namespace
  std::string name;
};

// "ConfigMap default/x" or "Namespace y": how messages name an object.
std::string describe(const ObjectRef& ref);
// The object's apiVersion, kind, metadata.namespace and metadata.name (each "" if absent).
ObjectRef ref_of(const nlohmann::json& object);

enum class PatchType {
  kJson,            // RFC 6902, application/json-patch+json
  kMerge,           // RFC 7386, application/merge-patch+json
  kStrategicMerge,  // application/strategic-merge-patch+json (built-in kinds only)
};

enum class Propagation { kDefault, kBackground, kForeground, kOrphan };

struct ApplyOptions {
  std::string field_manager = "skiff";
  bool force = false;  // take over fields another manager owns (else kConflict)
};

struct DeleteOptions {
  Propagation propagation = Propagation::kDefault;
  int64_t grace_period_seconds = -1;  // -1: the object's default
};

class ObjectApi {
 public:
  virtual ~ObjectApi() = default;
  // `default_namespace` is used for a namespaced kind whose object (or ref) names none.
  virtual Result<nlohmann::json> get(const ObjectRef& ref, const std::string& default_namespace) = 0;
  // Creates the object (metadata.generateName honoured); returns it as stored.
  virtual Result<nlohmann::json> create(const nlohmann::json& object, const std::string& default_namespace) = 0;
  // Replaces the object as a whole (PUT); with no metadata.resourceVersion, unconditionally.
  virtual Result<nlohmann::json> replace(const nlohmann::json& object, const std::string& default_namespace) = 0;
  // Server-side apply: creates the object or updates the fields it names.
  virtual Result<nlohmann::json> apply(const nlohmann::json& object, const std::string& default_namespace,
                                       const ApplyOptions& options) = 0;
  virtual Result<nlohmann::json> patch(const ObjectRef& ref, const std::string& default_namespace, PatchType type,
                                       const std::string& patch_json) = 0;
  virtual Status remove(const ObjectRef& ref, const std::string& default_namespace, const DeleteOptions& options) = 0;
};

}  // namespace skiff::kube
