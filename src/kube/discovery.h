// Discovery: which resources an API server serves, so that any kind (CRDs included) can
// be addressed by apiVersion and kind. Reads one group version's resource list
// (/api/v1, /apis/{group}/{version}) the first time a kind of it is asked for, keeps it,
// and reads it again once when a kind is not in it: a CRD created after the first call
// resolves on its next one.
//
// Thread-safety: resolve() may be called from several threads at once (the cache has a
// mutex; two threads missing at once may both read the list).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "util/status.h"

namespace skiff::kube {

class Transport;

struct ResourceInfo {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string resource;  // the plural name in paths: "configmaps"
  std::string kind;      // "ConfigMap"
  bool namespaced = false;
};

// "/api/v1/namespaces/NS/configmaps", "/apis/apps/v1/deployments" (all namespaces, or a
// cluster-scoped kind): where the objects of a resource are.
std::string collection_path(const ResourceInfo& info, const std::string& ns);

class Discovery {
 public:
  explicit Discovery(Transport* transport) : transport_(transport) {}

  // The resource of `kind` in `api_version` ("v1", "apps/v1"). kNotFound, naming the kind,
  // the apiVersion and the server, when the cluster serves no such kind.
  Result<ResourceInfo> resolve(const std::string& api_version, const std::string& kind);

 private:
  Result<std::vector<ResourceInfo>> fetch(const std::string& api_version);

  Transport* transport_;
  std::mutex mu_;
  std::map<std::string, std::vector<ResourceInfo>> cache_;  // by apiVersion
};

}  // namespace skiff::kube
