#include "runtime/resource_action.h"

#include <algorithm>
#include <cstdlib>

#include "spec/decode.h"
#include "util/json_text.h"
#include "util/strings.h"

namespace skiff::runtime::detail {
namespace {

using Json = nlohmann::json;

// kubectl's names for the kinds a resource step most often names in its flags (a JSON
// patch has no manifest to say which object): singular, plural and short names.
struct KindName {
  std::vector<const char*> names;
  const char* api_version;
  const char* kind;
};
const std::vector<KindName>& kind_names() {
  static const std::vector<KindName> kNames = {
      {{"workflow", "workflows", "wf"}, "argoproj.io/v1alpha1", "Workflow"},
      {{"workflowtemplate", "workflowtemplates", "wftmpl"}, "argoproj.io/v1alpha1", "WorkflowTemplate"},
      {{"clusterworkflowtemplate", "clusterworkflowtemplates", "cwftmpl"}, "argoproj.io/v1alpha1", "ClusterWorkflowTemplate"},
      {{"cronworkflow", "cronworkflows", "cwf", "cronwf"}, "argoproj.io/v1alpha1", "CronWorkflow"},
      {{"application", "applications", "app", "apps.argoproj.io"}, "argoproj.io/v1alpha1", "Application"},
      {{"configmap", "configmaps", "cm"}, "v1", "ConfigMap"},
      {{"secret", "secrets"}, "v1", "Secret"},
      {{"pod", "pods", "po"}, "v1", "Pod"},
      {{"service", "services", "svc"}, "v1", "Service"},
      {{"serviceaccount", "serviceaccounts", "sa"}, "v1", "ServiceAccount"},
      {{"namespace", "namespaces", "ns"}, "v1", "Namespace"},
      {{"persistentvolumeclaim", "persistentvolumeclaims", "pvc"}, "v1", "PersistentVolumeClaim"},
      {{"deployment", "deployments", "deploy", "deployment.apps"}, "apps/v1", "Deployment"},
      {{"statefulset", "statefulsets", "sts"}, "apps/v1", "StatefulSet"},
      {{"daemonset", "daemonsets", "ds"}, "apps/v1", "DaemonSet"},
      {{"replicaset", "replicasets", "rs"}, "apps/v1", "ReplicaSet"},
      {{"job", "jobs", "job.batch"}, "batch/v1", "Job"},
      {{"cronjob", "cronjobs", "cj"}, "batch/v1", "CronJob"},
  };
  return kNames;
}

Result<kube::ObjectRef> ref_from_flags(const std::vector<std::string>& positional) {
  std::string kind_text, name;
  if (positional.size() == 1 && positional[0].find('/') != std::string::npos) {
    kind_text = positional[0].substr(0, positional[0].find('/'));
    name = positional[0].substr(positional[0].find('/') + 1);
  } else if (positional.size() == 2) {
    kind_text = positional[0], name = positional[1];
  } else {
    return invalid("resource.flags name the object as two words (e.g. [configmap, my-config]) or as kind/name; got " +
                   std::to_string(positional.size()) + " words that are not flags");
  }
  std::string lower = kind_text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& k : kind_names()) {
    for (const char* n : k.names) {
      if (lower == n) return kube::ObjectRef{k.api_version, k.kind, "", name};
    }
  }
  return invalid("resource.flags name kind \"" + kind_text +
                 "\", which skiff does not know by that name; give the object in resource.manifest (apiVersion, kind, "
                 "metadata.name) instead");
}

// "--flag=value" or "--flag value" (`value` then taken from the next word).
struct Flag {
  std::string name, value;
  bool has_value = false;
};

}  // namespace

const std::vector<std::string>& supported_resource_flags() {
  static const std::vector<std::string> kFlags = {
      "-n/--namespace NS", "--server-side", "--force-conflicts", "--field-manager NAME",
      "--cascade background|foreground|orphan", "--grace-period N", "--validate (any value: the API server validates)",
      "--ignore-not-found", "--wait=false", "kind name or kind/name (the object, for a patch with no manifest)"};
  return kFlags;
}

bool is_skiff_kind(const kube::ObjectRef& ref) { return ref.api_version.rfind("argoproj.io/", 0) == 0; }

bool is_local_capable_kind(const kube::ObjectRef& ref) {
  return is_skiff_kind(ref) || (ref.api_version == "v1" && (ref.kind == "ConfigMap" || ref.kind == "Secret"));
}

Result<ResourceAction> plan_resource_action(const spec::Resource& resource, const std::string& workflow_namespace,
                                            const Json& owner) {
  ResourceAction a;
  a.action = resource.action;
  a.default_namespace = workflow_namespace;
  static const std::vector<std::string> kActions = {"get", "create", "apply", "delete", "replace", "patch"};
  if (std::find(kActions.begin(), kActions.end(), a.action) == kActions.end())
    return invalid("resource.action \"" + a.action + "\" is not one of get, create, apply, delete, replace, patch");
  std::string strategy = resource.merge_strategy.empty() ? "strategic" : resource.merge_strategy;
  if (strategy == "json") a.patch_type = kube::PatchType::kJson;
  else if (strategy == "merge") a.patch_type = kube::PatchType::kMerge;
  else if (strategy == "strategic") a.patch_type = kube::PatchType::kStrategicMerge;
  else return invalid("resource.mergeStrategy \"" + strategy + "\" is not one of strategic, merge, json");
  a.apply.force = true;  // kubectl apply (client-side) overwrites what it names; so does skiff's

  // Flags, as kubectl reads them.
  std::vector<std::string> positional;
  bool server_side = false, force_conflicts = false;
  for (size_t i = 0; i < resource.flags.size(); ++i) {
    const std::string& word = resource.flags[i];
    if (word.empty() || word[0] != '-') {
      positional.push_back(word);
      continue;
    }
    Flag f;
    size_t eq = word.find('=');
    f.name = word.substr(0, eq);
    if (eq != std::string::npos) f.value = word.substr(eq + 1), f.has_value = true;
    auto value = [&]() -> Result<std::string> {
      if (f.has_value) return f.value;
      if (i + 1 >= resource.flags.size()) return invalid("resource.flags: " + f.name + " needs a value");
      return resource.flags[++i];
    };
    auto boolean = [&](bool* out) -> Status {
      if (!f.has_value || f.value == "true") *out = true;
      else if (f.value == "false") *out = false;
      else return invalid("resource.flags: " + word + ": the value must be true or false");
      return Status::ok();
    };
    if (f.name == "-n" || f.name == "--namespace") {
      auto v = value();
      if (!v) return v.status();
      a.default_namespace = *v;
    } else if (f.name == "--server-side") {
      if (Status st = boolean(&server_side); !st) return st;
    } else if (f.name == "--force-conflicts") {
      if (Status st = boolean(&force_conflicts); !st) return st;
    } else if (f.name == "--field-manager") {
      auto v = value();
      if (!v) return v.status();
      a.apply.field_manager = *v;
    } else if (f.name == "--cascade") {
      std::string v = f.has_value ? f.value : "background";
      if (v == "background" || v == "true") a.remove.propagation = kube::Propagation::kBackground;
      else if (v == "foreground") a.remove.propagation = kube::Propagation::kForeground;
      else if (v == "orphan" || v == "false") a.remove.propagation = kube::Propagation::kOrphan;
      else return invalid("resource.flags: --cascade=" + v + " is not one of background, foreground, orphan");
    } else if (f.name == "--grace-period") {
      auto v = value();
      if (!v) return v.status();
      char* end = nullptr;
      long long n = std::strtoll(v->c_str(), &end, 10);
      if (v->empty() || *end) return invalid("resource.flags: --grace-period \"" + *v + "\" is not a whole number of seconds");
      a.remove.grace_period_seconds = n;
    } else if (f.name == "--validate" || f.name == "--ignore-not-found" || (f.name == "--wait" && f.value == "false")) {
      // What skiff does anyway: the API server validates; delete ignores a missing object and
      // does not wait for finalizers.
    } else {
      std::string known;
      for (const auto& s : supported_resource_flags()) known += (known.empty() ? "" : ", ") + s;
      return invalid("resource.flags: " + word + " is not a flag skiff's resource steps understand (they know: " + known + ")");
    }
  }
  if (server_side) a.apply.force = force_conflicts;

  if (!resource.manifest.empty()) {
    auto text = spec::manifest_to_json(resource.manifest, "resource.manifest");
    if (!text) return text.status();
    a.object = parse_json_or_discarded<Json>(*text);
  }
  bool patch_list = a.action == "patch" && a.patch_type == kube::PatchType::kJson;
  if (patch_list) {
    if (!a.object.is_array()) return invalid("resource.manifest of a patch with mergeStrategy json must be a list of operations (- op: add ...)");
  } else if (!a.object.is_null() && !a.object.is_object()) {
    return invalid("resource.manifest must be one object (apiVersion, kind, metadata, ...)");
  }
  if (!positional.empty() || a.object.is_null() || patch_list) {
    if (positional.empty()) return invalid("resource needs a manifest, or flags naming the object (e.g. [configmap, my-config])");
    auto ref = ref_from_flags(positional);
    if (!ref) return ref.status();
    a.ref = *ref;
  } else {
    a.ref = kube::ref_of(a.object);
  }
  if (a.ref.api_version.empty() || a.ref.kind.empty())
    return invalid("resource.manifest needs apiVersion and kind (Kind and name are both required)");
  bool generated = a.action == "create" && a.object.is_object() && a.object.contains("metadata") &&
                   a.object["metadata"].is_object() && a.object["metadata"].contains("generateName");
  if (a.ref.name.empty() && !generated)
    return invalid("resource.manifest needs metadata.name" + std::string(a.action == "create" ? " (or generateName)" : "") +
                   " for " + a.ref.kind);
  if (!owner.is_null() && a.object.is_object()) {
    Json& refs = a.object["metadata"]["ownerReferences"];
    if (!refs.is_array()) refs = Json::array();
    refs.push_back(owner);
  }
  return a;
}

}  // namespace skiff::runtime::detail
