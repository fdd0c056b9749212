#include "runtime/executor.h"

#include <nlohmann/json.hpp>

namespace skiff::runtime {

WorkflowContext workflow_context(const spec::WorkflowSpec& spec, const std::string& namespace_,
                                 const std::string& name) {
  WorkflowContext w;
  w.namespace_ = namespace_;
  w.name = name;
  w.host_network = spec.host_network;
  w.artifact_repository_ref = spec.artifact_repository_ref;
  w.artifact_gc = spec.artifact_gc;
  w.archive_logs = spec.archive_logs;
  w.pod_gc_json = spec.pod_gc_json;
  auto secrets = nlohmann::json::parse(spec.image_pull_secrets_json.empty() ? "[]" : spec.image_pull_secrets_json,
                                       nullptr, false);
  if (secrets.is_array()) {
    for (const auto& s : secrets) {
      if (s.is_object() && s.contains("name") && s["name"].is_string()) w.image_pull_secrets.push_back(s["name"]);
    }
  }
  return w;
}

Status privileged_not_allowed() {
  return invalid("securityContext.privileged: privileged steps are not allowed on this server: they get every "
                 "capability and device of the machine, and with them the data of every namespace; remove it, or "
                 "its operator can allow them with `skiff server --allow-privileged`");
}

}  // namespace skiff::runtime
