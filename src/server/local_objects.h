// LocalObjects: skiff's own kinds as a kube::ObjectApi, so that `resource` steps
// (runtime/resource_executor.h) act on them as Argo's act on a cluster — with or without
// one: Workflows (a workflow of workflows), WorkflowTemplates, ClusterWorkflowTemplates and
// CronWorkflows in the store, ConfigMaps and Secrets in the data directory. Every write goes
// through the same checks as the API's (template_routes.h, workflow_routes.h).
//
//   Workflow     get (status and nodes, as the API shows it), create, delete; apply and
//                replace of the spec it runs with (no change) or of its labels; patch of
//                metadata.labels (json or merge). A running workflow's spec does not change.
//   templates,   every action; patch as json or merge (Kubernetes takes no strategic merge
//   CronWorkflow patch for custom resources, nor does skiff)
//   ConfigMap,   every action; patch json, merge or strategic (as merge: neither kind has
//   Secret       lists to merge by key). Secrets read back as Kubernetes gives them: data in base64
//
// Owner references: an object created with metadata.ownerReferences naming a Workflow
// (setOwnerReference) is deleted with that workflow (remove_owned(), which the server calls
// on every workflow delete, TTL's included). Child Workflows carry the owner's uid as the
// label skiff/owner-uid, by which they are found.
// Thread-safety: any thread but the runner's (a workflow's create waits for it).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "kube/object_api.h"
#include "server/api_context.h"

namespace skiff::server {

inline constexpr const char* kOwnerUidLabel = "skiff/owner-uid";

class LocalObjects : public kube::ObjectApi {
 public:
  explicit LocalObjects(ApiContext& ctx) : ctx_(ctx) {}

  Result<nlohmann::json> get(const kube::ObjectRef& ref, const std::string& default_namespace) override;
  Result<nlohmann::json> create(const nlohmann::json& object, const std::string& default_namespace) override;
  Result<nlohmann::json> replace(const nlohmann::json& object, const std::string& default_namespace) override;
  Result<nlohmann::json> apply(const nlohmann::json& object, const std::string& default_namespace,
                               const kube::ApplyOptions& options) override;
  Result<nlohmann::json> patch(const kube::ObjectRef& ref, const std::string& default_namespace, kube::PatchType type,
                               const std::string& patch_json) override;
  Status remove(const kube::ObjectRef& ref, const std::string& default_namespace,
                const kube::DeleteOptions& options) override;

  // Deletes the objects in `namespace_` whose ownerReferences name the workflow `uid`.
  static void remove_owned(ApiContext& ctx, const std::string& namespace_, const std::string& uid);

 private:
  Result<nlohmann::json> write(const nlohmann::json& object, const std::string& default_namespace, bool update);

  ApiContext& ctx_;
};

}  // namespace skiff::server
