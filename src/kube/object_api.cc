#include "kube/object_api.h"

#include <nlohmann/json.hpp>

namespace skiff::kube {

std::string describe(const ObjectRef& ref) {
  if (ref.name.empty()) return ref.namespace_.empty() ? ref.kind : ref.kind + " in namespace " + ref.namespace_;
  return ref.kind + " " + (ref.namespace_.empty() ? ref.name : ref.namespace_ + "/" + ref.name);
}

ObjectRef ref_of(const nlohmann::json& object) {
  auto text = [](const nlohmann::json& o, const char* key) -> std::string {
    if (!o.is_object()) return "";
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : "";
  };
  ObjectRef ref{text(object, "apiVersion"), text(object, "kind"), "", ""};
  if (object.is_object() && object.contains("metadata")) {
    const nlohmann::json& meta = object["metadata"];
    ref.namespace_ = text(meta, "namespace");
    ref.name = text(meta, "name");
  }
  return ref;
}

}  // namespace skiff::kube
