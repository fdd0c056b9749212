#include "spec/pod.h"

#include <nlohmann/json.hpp>

#include "util/json_text.h"

namespace skiff::spec {

const PodField kPodFields[] = {
    {"nodeSelector", "nodeSelector", "nodeSelector"},
    {"affinity", "affinity", "affinity"},
    {"tolerations", "tolerations", "tolerations"},
    {"schedulerName", "schedulerName", "schedulerName"},
    {"priorityClassName", "podPriorityClassName", "priorityClassName"},
    {"priority", "podPriority", "priority"},
    {"serviceAccountName", "serviceAccountName", "serviceAccountName"},
    {"automountServiceAccountToken", "automountServiceAccountToken", "automountServiceAccountToken"},
    {"executor", "executor", "executor"},
    {"hostAliases", "hostAliases", "hostAliases"},
    {"securityContext", "securityContext", "securityContext"},
    {"podSpecPatch", "podSpecPatch", "podSpecPatch"},
    {"metadata", "podMetadata", "metadata"},
    {nullptr, "imagePullSecrets", "imagePullSecrets"},
    {nullptr, "hostNetwork", "hostNetwork"},
    {nullptr, "dnsPolicy", "dnsPolicy"},
    {nullptr, "dnsConfig", "dnsConfig"},
    {"podResources", "podResources", "resources"},  // Argo 4's pod-level resources
};
const size_t kPodFieldCount = sizeof kPodFields / sizeof kPodFields[0];

namespace {

using Json = nlohmann::json;

Json object_of(const std::string& text) {
  Json j = parse_json_or_discarded<Json>(text.empty() ? "{}" : text);
  return j.is_object() ? j : Json::object();
}

const PodField* field_named(const std::string& name, bool on_workflow) {
  for (size_t i = 0; i < kPodFieldCount; ++i) {
    const char* n = on_workflow ? kPodFields[i].on_workflow : kPodFields[i].on_template;
    if (n && name == n) return &kPodFields[i];
  }
  return nullptr;
}

// Walks what an object reaches (see check_pod_fields), each object and template once.
class PodLint {
 public:
  PodLint(const Library* library, const PodFieldSupport& support, Diagnostics& warnings, Diagnostics& errors)
      : library_(library), support_(support), warnings_(warnings), errors_(errors) {}

  void object(const Object& o) {
    if (!objects_.insert(&o).second) return;
    if (!root_) root_ = &o;
    std::string base = o.kind == Kind::kCronWorkflow ? "spec.workflowSpec" : "spec";
    if (o.cron && !o.cron->stop_strategy_json.empty())
      errors_.push_back({o.pos, "spec.stopStrategy", unsupported("stopStrategy") + where(o)});
    fields(o, o.spec.pod.written, base, true);
    not_acted_on(o, o.spec.not_acted_on, base);
    for (size_t i = 0; i < o.spec.templates.size(); ++i) tmpl(o, i);
    if (library_ && o.spec.workflow_template_ref) {
      const auto& ref = *o.spec.workflow_template_ref;
      if (const Object* target = library_->find(ref.name, ref.cluster_scope)) object(*target);
    }
  }

 private:
  void tmpl(const Object& o, size_t i) {
    const Template& t = o.spec.templates[i];
    if (!templates_.insert(&t).second) return;
    std::string base = (o.kind == Kind::kCronWorkflow ? "spec.workflowSpec" : "spec") +
                       std::string(".templates[") + std::to_string(i) + "]";
    fields(o, t.pod.written, base, false);
    not_acted_on(o, t.not_acted_on, base);
    // http, data and containerSet templates and initContainers run (docs/templates.md).
    if (t.type == TemplateType::kPlugin)
      errors_.push_back({t.pos, base, unsupported(std::string(template_type_name(t.type)) + " templates") + where(o)});
    probe(o, t, base);
    if (t.dag)
      for (size_t k = 0; k < t.dag->tasks.size(); ++k)
        not_acted_on(o, t.dag->tasks[k].not_acted_on, base + ".dag.tasks[" + std::to_string(k) + "]");
    for (size_t g = 0; g < t.steps.size(); ++g)
      for (size_t k = 0; k < t.steps[g].size(); ++k)
        not_acted_on(o, t.steps[g][k].not_acted_on,
                     base + ".steps[" + std::to_string(g) + "][" + std::to_string(k) + "]");
    if (!library_) return;
    auto follow = [&](const Task& task) {
      if (!task.template_ref) return;
      const Object* target = library_->find(task.template_ref->name, task.template_ref->cluster_scope);
      if (!target) return;
      for (size_t k = 0; k < target->spec.templates.size(); ++k)
        if (target->spec.templates[k].name == task.template_ref->template_name) tmpl(*target, k);
    };
    if (t.dag)
      for (const auto& task : t.dag->tasks) follow(task);
    for (const auto& group : t.steps)
      for (const auto& step : group) follow(step);
  }

  void fields(const Object& o, const std::map<std::string, SourcePos>& written, const std::string& base,
              bool on_workflow) {
    // A reached template's path is inside its own object: say which.
    std::string where = &o == root_ ? "" : std::string(" (in ") + kind_name(o.kind) + " " + o.metadata.name + ")";
    for (const auto& [name, pos] : written) {
      const PodField* f = field_named(name, on_workflow);
      if (!f || support_.acts_on.count(f->on_pod)) continue;
      std::string path = base + "." + name;
      if (support_.refuses.count(f->on_pod)) {
        errors_.push_back({pos, path,
                           "the " + support_.executor + " executor cannot apply " + name +
                               ": it may change the step's containers, which would then not run as written; "
                               "remove it and set what it patches on the template itself" + where});
      } else {
        warnings_.push_back({pos, path,
                             "ignored by the " + support_.executor +
                                 " executor: steps run on this machine, not as Kubernetes Pods, and run without it" +
                                 where});
      }
    }
  }

  // A readinessProbe decides when a daemon step is ready (runtime/probe.h); on any other
  // step it changes nothing, in Argo as here, since the workflow waits for the step to end.
  void probe(const Object& o, const Template& t, const std::string& base) {
    if (!t.container || t.container->readiness_probe_json.empty()) return;
    std::string path = base + (t.type == TemplateType::kScript ? ".script" : ".container") + ".readinessProbe";
    const SourcePos& pos = t.container->pos;
    if (!t.daemon) {
      warnings_.push_back({pos, path, "acted on only for daemon: true steps (as in Argo); this step runs to its end without it" + where(o)});
      return;
    }
    nlohmann::json p = nlohmann::json::parse(t.container->readiness_probe_json, nullptr, false);
    if (!p.is_object()) {
      errors_.push_back({pos, path, "a probe is an object with exec, httpGet or tcpSocket" + where(o)});
      return;
    }
    int actions = 0;
    for (const char* k : {"exec", "httpGet", "tcpSocket", "grpc"}) actions += p.contains(k) ? 1 : 0;
    if (p.contains("grpc"))
      errors_.push_back({pos, path + ".grpc", "skiff does not run grpc probes yet; use exec, httpGet or tcpSocket" + where(o)});
    else if (actions != 1)
      errors_.push_back({pos, path, "a probe needs exactly one of exec, httpGet, tcpSocket" + where(o)});
  }

  // Fields no executor of skiff's acts on yet, whichever runs the workflow: those without
  // which it would run differently from what it says are refused, the rest warned about.
  void not_acted_on(const Object& o, const std::map<std::string, SourcePos>& names, const std::string& base) {
    static const std::set<std::string> kRefused = {};
    for (const auto& [name, pos] : names) {
      if (support_.acts_on.count(name)) continue;  // this executor does (the kubernetes one: podGC, volumeClaimGC)
      if (kRefused.count(name))
        errors_.push_back({pos, base + "." + name, unsupported(name) + where(o)});
      else
        warnings_.push_back({pos, base + "." + name,
                             "not acted on by skiff yet: the workflow runs as if it were not set" + where(o)});
    }
  }

  // A reached template's path is inside its own object: say which.
  std::string where(const Object& o) const {
    return &o == root_ ? "" : std::string(" (in ") + kind_name(o.kind) + " " + o.metadata.name + ")";
  }

  static std::string unsupported(const std::string& what) {
    return "skiff does not support " + what + " yet: the workflow would not run as it says; remove it to run here";
  }

  const Library* library_;
  const Object* root_ = nullptr;
  const PodFieldSupport& support_;
  Diagnostics& warnings_;
  Diagnostics& errors_;
  std::set<const Object*> objects_;
  std::set<const Template*> templates_;
};

}  // namespace

void apply_pod_defaults(Template& t, const WorkflowSpec& workflow) {
  if (t.pod.security_context_json.empty()) t.pod.security_context_json = workflow.pod.security_context_json;
  Metadata metadata = workflow.pod_metadata;
  for (const auto& [k, v] : t.metadata.labels) metadata.labels[k] = v;
  for (const auto& [k, v] : t.metadata.annotations) metadata.annotations[k] = v;
  t.metadata = std::move(metadata);
  if (workflow.pod.json.empty()) return;
  Json pod = object_of(workflow.pod.json);
  Json own = object_of(t.pod.json);
  for (auto it = own.begin(); it != own.end(); ++it) {
    const std::string& key = it.key();
    if (key == "hostAliases" && pod.contains(key) && pod[key].is_array() && it->is_array()) {
      for (const auto& alias : *it) pod[key].push_back(alias);
    } else if (key == "podSpecPatch" && pod.contains(key)) {
      pod[key] = Json::array({pod[key], *it});  // both apply, the workflow's first
    } else {
      pod[key] = *it;
    }
  }
  t.pod.json = pod.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void override_pod_fields(WorkflowSpec& merged, const WorkflowSpec& workflow) {
  const auto& written = workflow.pod.written;
  if (written.empty()) return;
  if (written.count("serviceAccountName")) merged.service_account_name = workflow.service_account_name;
  if (written.count("hostNetwork")) merged.host_network = workflow.host_network;
  if (written.count("imagePullSecrets")) merged.image_pull_secrets_json = workflow.image_pull_secrets_json;
  if (written.count("securityContext")) merged.pod.security_context_json = workflow.pod.security_context_json;
  for (const auto& [k, v] : workflow.pod_metadata.labels) merged.pod_metadata.labels[k] = v;
  for (const auto& [k, v] : workflow.pod_metadata.annotations) merged.pod_metadata.annotations[k] = v;
  Json pod = object_of(merged.pod.json);
  Json own = object_of(workflow.pod.json);
  for (auto it = own.begin(); it != own.end(); ++it) pod[it.key()] = *it;
  if (!pod.empty()) merged.pod.json = pod.dump(-1, ' ', false, Json::error_handler_t::replace);
  for (const auto& [name, pos] : written) merged.pod.written[name] = pos;
}

void check_pod_fields(const Object& obj, const Library* library, const PodFieldSupport& support,
                      Diagnostics& warnings, Diagnostics& errors) {
  PodLint(library, support, warnings, errors).object(obj);
}

}  // namespace skiff::spec
