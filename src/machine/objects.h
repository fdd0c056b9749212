// MachineObjects: "this machine" as a Kubernetes API, the destination Applications deploy
// to when skiff has no cluster. A kube::ObjectApi holding the kinds skiff realises as
// containers here (machine/controller.h does): Namespace, Deployment, ReplicaSet,
// StatefulSet, Job, Pod, Service and PersistentVolumeClaim. ConfigMaps and Secrets go to `configs` (skiff's own,
// server::LocalObjects), so that containers' configMap and secret volumes see them. Any
// other kind is refused (kInvalid, naming the kind and what runs here).
//
// Objects are kept as JSON files under `dir` (<dir>/<namespace>/<resource>/<name>.json;
// Namespaces under <dir>/_cluster/), read back at start: a restarted server brings its
// workloads back. Writes set what the API server sets: metadata.uid, creationTimestamp,
// resourceVersion (one counter for all objects), generation (bumped when `spec` changes);
// `status` is kept from the stored object (only set_status() writes it). A delete removes
// the objects whose ownerReferences name it too (Kubernetes' garbage collector, at once).
// Errors carry Kubernetes' messages: `deployments.apps "web" not found`.
//
// Thread-safety: every method may be called from any thread (one mutex); `on_change` is
// called after each write, outside the lock.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kube/object_api.h"
#include "util/status.h"

namespace skiff::machine {

inline constexpr int kMaxReplicas = 64;
inline constexpr const char* kTrackingAnnotation = "argocd.argoproj.io/tracking-id";  // as cd/sync.h  // per workload: more is refused, saying so

class MachineObjects : public kube::ObjectApi {
 public:
  // Reads what `dir` holds (made if missing). `configs` takes ConfigMaps and Secrets (may
  // be null: they are refused then).
  static Result<std::unique_ptr<MachineObjects>> open(const std::string& dir, kube::ObjectApi* configs);

  Result<nlohmann::json> get(const kube::ObjectRef& ref, const std::string& default_namespace) override;
  Result<nlohmann::json> create(const nlohmann::json& object, const std::string& default_namespace) override;
  Result<nlohmann::json> replace(const nlohmann::json& object, const std::string& default_namespace) override;
  Result<nlohmann::json> apply(const nlohmann::json& object, const std::string& default_namespace,
                               const kube::ApplyOptions& options) override;
  Result<nlohmann::json> patch(const kube::ObjectRef& ref, const std::string& default_namespace, kube::PatchType type,
                               const std::string& patch_json) override;
  Status remove(const kube::ObjectRef& ref, const std::string& default_namespace,
                const kube::DeleteOptions& options) override;

  // The objects of a kind ("Deployment"), in every namespace, by namespace and name.
  std::vector<nlohmann::json> list(const std::string& kind) const;
  // Writes an object's status (no generation or spec change); kNotFound when it is gone.
  Status set_status(const kube::ObjectRef& ref, const nlohmann::json& status);
  // Sets metadata.annotations[key] (the controller's notes, e.g. a Service's published ports).
  Status set_annotation(const kube::ObjectRef& ref, const std::string& key, const std::string& value);

  void set_on_change(std::function<void()> on_change);
  // Called (outside the lock) when set_status() changes the status of an object carrying
  // Argo CD's tracking annotation, with the app name it names: how the application
  // controller learns that health changed.
  void set_on_tracked_status(std::function<void(const std::string& app)> fn);

 private:
  MachineObjects(std::string dir, kube::ObjectApi* configs) : dir_(std::move(dir)), configs_(configs) {}
  using Key = std::tuple<std::string, std::string, std::string>;  // kind, namespace, name
  Result<nlohmann::json> write(nlohmann::json object, const std::string& default_namespace, bool must_be_new,
                               bool merge);
  Status persist(const Key& key, const nlohmann::json& object) const;
  void erase_locked(const Key& key, std::vector<std::string>* removed_uids);
  std::string path_of(const Key& key) const;
  void changed() const;

  const std::string dir_;
  kube::ObjectApi* const configs_;
  mutable std::mutex mu_;
  std::map<Key, nlohmann::json> objects_;
  uint64_t version_ = 0;  // the last resourceVersion given
  std::function<void()> on_change_;
  std::function<void(const std::string&)> on_tracked_status_;
};

}  // namespace skiff::machine
