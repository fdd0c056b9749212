// The runner's side of `memoize` (engine/memoize.cc): which ConfigMaps are caches, and
// writing the entries the engine asks for (engine::StoreCacheEntry) into the local
// ConfigMap store (runtime/secret_store.h), where `skiff run` with the same data
// directory, later workflows of the server and GET /api/v1/configmaps/{ns} find them.
//
// Called from the Runner's one thread; a cache's read-modify-write is not guarded against
// another process writing the same ConfigMap at the same moment.
#pragma once

#include <string>

#include "engine/operator.h"
#include "runtime/secret_store.h"
#include "util/status.h"

namespace skiff::server {

// The label by which Argo (and skiff) know a memoization cache ConfigMap.
inline constexpr char kCacheLabelKey[] = "workflows.argoproj.io/configmap-type";
inline constexpr char kCacheLabelValue[] = "Cache";

bool is_cache_config_map(const runtime::ConfigObject& object);

// Writes `entry` into its ConfigMap of `namespace_` under `data_dir`, creating the
// ConfigMap with the cache label when there is none. A ConfigMap of that name without the
// label is left alone (kConflict), as Argo refuses to use it.
Status write_cache_entry(const std::string& data_dir, const std::string& namespace_,
                         const engine::StoreCacheEntry& entry);

}  // namespace skiff::server
