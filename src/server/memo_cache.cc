#include "server/memo_cache.h"

namespace skiff::server {

bool is_cache_config_map(const runtime::ConfigObject& object) {
  auto it = object.labels.find(kCacheLabelKey);
  return it != object.labels.end() && it->second == kCacheLabelValue;
}

Status write_cache_entry(const std::string& data_dir, const std::string& namespace_,
                         const engine::StoreCacheEntry& entry) {
  runtime::ConfigObject object;
  auto existing = runtime::read_config_object(data_dir, runtime::ConfigKind::kConfigMap, namespace_, entry.cache_name);
  if (existing) {
    if (!is_cache_config_map(*existing))
      return Status(Code::kConflict,
                    "ConfigMap \"" + entry.cache_name + "\" lacks the label " + kCacheLabelKey + ": " +
                        kCacheLabelValue + "; a memoization cache is not written into it");
    object = std::move(*existing);
  } else if (existing.status().code() != Code::kNotFound) {
    return existing.status();
  }
  object.labels[kCacheLabelKey] = kCacheLabelValue;
  object.data[entry.key] = entry.entry_json;
  return runtime::write_config_object(data_dir, runtime::ConfigKind::kConfigMap, namespace_, entry.cache_name, object,
                                      /*replace=*/true);
}

}  // namespace skiff::server
