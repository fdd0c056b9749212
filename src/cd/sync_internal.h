// What sync.cc (compare, remove_tracked) and sync_operation.cc (the sync operation) share.
#pragma once

#include <string>

#include "cd/sync.h"

namespace skiff::cd::internal {

kube::ObjectRef ref_of_key(const ResourceKey& k);
// "configmap/x", "workflow.argoproj.io/y": as kubectl names what it did.
std::string short_name(const ResourceKey& k);
// Where an object of this key is read and written: skiff for argoproj.io, else the cluster.
Result<kube::ObjectApi*> target_for(const ResourceKey& k, const Destinations& d);
// Argo CD's order of kinds within a wave: what others need goes first.
int kind_rank(const std::string& kind);
// Whether the object's sync-options annotation has `option` ("Prune=false").
bool has_option(const nlohmann::json& object, const std::string& option);
std::string tracking_of(const nlohmann::json& live);

}  // namespace skiff::cd::internal
