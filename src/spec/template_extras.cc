#include "spec/template_extras.h"

namespace skiff::spec::detail {

std::string decode_memoize(Ctx& c, const YAML::Node& n, const std::string& p) {
  if (!n || n.IsNull() || !c.map(n, p)) return "";
  c.keys(n, p, {"key", "maxAge", "cache"});
  if (c.str(n["key"], p + ".key").empty())
    c.error(n, p + ".key", "memoize needs a key: the name its outputs are cached under (may use {{inputs.parameters.x}})");
  c.str(n["maxAge"], p + ".maxAge");
  const YAML::Node& cache = n["cache"];
  std::string cp = p + ".cache";
  if (!cache || cache.IsNull()) {
    c.error(n, cp, "memoize needs cache.configMap.name: the ConfigMap that holds the cache");
  } else if (c.map(cache, cp)) {
    c.keys(cache, cp, {"configMap"});
    const YAML::Node& cm = cache["configMap"];
    if (!cm || cm.IsNull()) {
      c.error(cache, cp + ".configMap", "memoize.cache needs configMap.name: the ConfigMap that holds the cache");
    } else if (c.map(cm, cp + ".configMap")) {
      c.keys(cm, cp + ".configMap", {"name", "key", "optional"});
      if (c.str(cm["name"], cp + ".configMap.name").empty())
        c.error(cm, cp + ".configMap.name", "memoize.cache.configMap needs a name: the ConfigMap that holds the cache");
      c.str(cm["key"], cp + ".configMap.key");
      if (cm["optional"]) c.boolean(cm["optional"], cp + ".configMap.optional");
    }
  }
  return c.json_text(n);
}

void check_pod_resources(Ctx& c, const YAML::Node& n, const std::string& p, TemplateType type) {
  if (!n || n.IsNull() || !c.map(n, p)) return;
  if (type == TemplateType::kHttp || type == TemplateType::kPlugin) {
    c.error(n, p, std::string("podResources is not supported for ") + template_type_name(type) +
                      " templates: they have no pod of their own (as in Argo)");
    return;
  }
  c.keys(n, p, {"limits", "requests", "claims"});
  if (n["claims"]) c.error(n["claims"], p + ".claims", "claims is not supported for pod-level resources (as in Argo)");
  for (const char* part : {"limits", "requests"}) {
    const YAML::Node& list = n[part];
    std::string lp = p + "." + part;
    if (!list || list.IsNull() || !c.map(list, lp)) continue;
    for (const auto& kv : list) {
      std::string name = kv.first.as<std::string>();
      if (name != "cpu" && name != "memory" && name.rfind("hugepages-", 0) != 0)
        c.error(kv.second, lp + "." + name,
                "\"" + name + "\" is not a valid pod-level resource: only cpu, memory and hugepages-* are (as in Argo)");
      else
        c.str(kv.second, lp + "." + name);
    }
  }
}

}  // namespace skiff::spec::detail
