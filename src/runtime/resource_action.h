// Internal to runtime/: what a resource step asks for, worked out from its template before
// anything is sent — the object, the action's options from kubectl's flags, where it acts.
// Pure functions; any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kube/object_api.h"
#include "spec/types.h"
#include "util/status.h"

namespace skiff::runtime::detail {

struct ResourceAction {
  std::string action;           // get | create | apply | delete | replace | patch
  kube::ObjectRef ref;          // the object acted on (namespace "" = the default one)
  std::string default_namespace;  // the workflow's, or -n from flags
  nlohmann::json object;        // the manifest as JSON (the patch for a patch); null if none
  kube::PatchType patch_type = kube::PatchType::kStrategicMerge;
  kube::ApplyOptions apply;
  kube::DeleteOptions remove;
};

// The action a resource template asks for; `owner` (an ownerReference to the workflow, or
// null) is added to the manifest's metadata.ownerReferences. kInvalid says what is wrong
// (a manifest that does not parse, an unknown flag, a kind named in flags skiff does not
// know, a manifest with no kind or name).
Result<ResourceAction> plan_resource_action(const spec::Resource& resource, const std::string& workflow_namespace,
                                            const nlohmann::json& owner);

// The flags skiff understands, for messages and docs.
const std::vector<std::string>& supported_resource_flags();

// Whether the kind is one skiff keeps itself (argoproj.io), whatever else is configured.
bool is_skiff_kind(const kube::ObjectRef& ref);
// Whether skiff keeps it when no cluster is configured (ConfigMap, Secret, and its own).
bool is_local_capable_kind(const kube::ObjectRef& ref);

}  // namespace skiff::runtime::detail
