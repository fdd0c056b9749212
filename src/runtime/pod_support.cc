#include "runtime/pod_support.h"

#include <nlohmann/json.hpp>

#include "spec/decode.h"

namespace skiff::runtime {

spec::PodFieldSupport pod_field_support(const std::string& executor) {
  spec::PodFieldSupport s;
  s.executor = executor;
  if (executor == "kubernetes") {
    // Every pod-level field goes into the step's Pod (kube_pod.cc), as Argo puts it there.
    for (size_t i = 0; i < spec::kPodFieldCount; ++i) s.acts_on.insert(spec::kPodFields[i].on_pod);
    return s;
  }
  // The host executor always shares the host's network; containers get their own unless
  // hostNetwork says otherwise, run with the Pod's securityContext (user, groups) and pull
  // with imagePullSecrets. podSpecPatch: apply_pod_spec_patch, when the step starts.
  s.acts_on = {"hostNetwork", "podSpecPatch"};
  // podResources (the Pod's resources): a cgroup over all of a step's containers (container_executor.cc).
  if (executor == "container") s.acts_on.insert({"securityContext", "imagePullSecrets", "resources"});
  return s;
}

namespace {

using Json = nlohmann::json;

// RFC 7386 merge of `patch` into `target` (null deletes).
void merge(Json& target, const Json& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = Json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.value().is_null()) target.erase(it.key());
    else merge(target[it.key()], it.value());
  }
}

Status patch_container(spec::Container& c, const Json& p, const std::string& where) {
  for (auto it = p.begin(); it != p.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    auto strings = [&](std::vector<std::string>& out) -> Status {
      if (!v.is_array()) return invalid(where + "." + k + ": must be a list of strings");
      out.clear();
      for (const auto& s : v) {
        if (!s.is_string()) return invalid(where + "." + k + ": must be a list of strings");
        out.push_back(s.get<std::string>());
      }
      return Status::ok();
    };
    if (k == "name") continue;
    if (k == "resources") {
      Json resources = Json::parse(c.resources_json.empty() ? "{}" : c.resources_json, nullptr, false);
      if (!resources.is_object()) resources = Json::object();
      merge(resources, v);
      c.resources_json = resources.dump();
    } else if (k == "env") {
      if (!v.is_array()) return invalid(where + ".env: must be a list");
      for (const auto& e : v) {
        if (!e.is_object() || !e.contains("name") || !e["name"].is_string())
          return invalid(where + ".env: each entry needs a name");
        spec::EnvVar var;
        var.name = e["name"];
        if (e.contains("value")) var.value = e["value"].is_string() ? e["value"].get<std::string>() : e["value"].dump();
        if (e.contains("valueFrom")) var.value_from_json = e["valueFrom"].dump();
        bool replaced = false;
        for (auto& existing : c.env)
          if (existing.name == var.name) existing = var, replaced = true;
        if (!replaced) c.env.push_back(std::move(var));
      }
    } else if (k == "image" || k == "workingDir") {
      if (!v.is_string()) return invalid(where + "." + k + ": must be a string");
      (k == "image" ? c.image : c.working_dir) = v.get<std::string>();
    } else if (k == "command") {
      if (Status s = strings(c.command); !s) return s;
    } else if (k == "args") {
      if (Status s = strings(c.args); !s) return s;
    } else {
      return invalid(where + "." + k + ": skiff applies a podSpecPatch's resources, env, image, command, args and "
                     "workingDir of containers; set " + k + " on the template itself");
    }
  }
  return Status::ok();
}

}  // namespace

Status apply_pod_spec_patch(spec::Template& t) {
  Json pod = Json::parse(t.pod.json.empty() ? "{}" : t.pod.json, nullptr, false);
  if (!pod.is_object() || !pod.contains("podSpecPatch")) return Status::ok();
  Json patches = pod["podSpecPatch"].is_array() ? pod["podSpecPatch"] : Json::array({pod["podSpecPatch"]});
  for (const auto& text : patches) {
    if (!text.is_string()) return invalid("podSpecPatch must be a string (JSON or YAML)");
    auto json = spec::manifest_to_json(text.get<std::string>(), "podSpecPatch");
    if (!json) return json.status();
    Json patch = Json::parse(*json, nullptr, false);
    if (!patch.is_object()) return invalid("podSpecPatch must be an object, like {\"containers\": [...]}");
    for (auto it = patch.begin(); it != patch.end(); ++it) {
      const std::string& k = it.key();
      if (k != "containers" && k != "initContainers")
        return invalid("podSpecPatch." + k + ": skiff applies a podSpecPatch's containers only; set " + k +
                       " on the template or the workflow");
      if (!it.value().is_array()) return invalid("podSpecPatch." + k + ": must be a list");
      for (const auto& p : it.value()) {
        if (!p.is_object() || !p.contains("name") || !p["name"].is_string())
          return invalid("podSpecPatch." + k + ": each container needs a name");
        std::string name = p["name"];
        std::string where = "podSpecPatch." + k + "[" + name + "]";
        spec::Container* target = nullptr;
        if (k == "containers" && name == "main" && t.container) target = &*t.container;
        for (auto& s : k == "containers" ? t.sidecars : t.init_containers)
          if (s.name == name) target = &s;
        if (!target) return invalid(where + ": the step has no container named " + name);
        if (Status s = patch_container(*target, p, where); !s) return s;
      }
    }
  }
  return Status::ok();
}

}  // namespace skiff::runtime
