#include "server/local_objects.h"

#include <nlohmann/json.hpp>

#include "runtime/secret_store.h"
#include "server/app_routes.h"
#include "server/cron_routes.h"
#include "server/objects.h"
#include "server/template_refs.h"
#include "server/template_routes.h"
#include "server/workflow_routes.h"
#include "util/base64.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {

using kube::ObjectRef;
using KJson = nlohmann::json;  // what ObjectApi speaks (the API's own KJson keeps key order)
using runtime::ConfigKind;

enum class Local { kWorkflow, kObject, kConfig };

struct LocalKind {
  Local local;
  spec::Kind kind = spec::Kind::kWorkflow;        // kWorkflow and kObject
  ConfigKind config = ConfigKind::kConfigMap;     // kConfig
  bool namespaced = true;
};

Result<LocalKind> local_kind(const ObjectRef& ref) {
  if (ref.api_version == "v1" && ref.kind == "ConfigMap") return LocalKind{Local::kConfig, {}, ConfigKind::kConfigMap};
  if (ref.api_version == "v1" && ref.kind == "Secret") return LocalKind{Local::kConfig, {}, ConfigKind::kSecret};
  if (ref.api_version == "argoproj.io/v1alpha1") {
    if (const spec::KindInfo* info = spec::find_kind(ref.kind)) {
      if (info->kind == spec::Kind::kWorkflow) return LocalKind{Local::kWorkflow, spec::Kind::kWorkflow};
      if (info->storage == spec::Storage::kObjects) return LocalKind{Local::kObject, info->kind, {}, info->namespaced};
    }
  }
  return not_found("skiff does not keep kind \"" + ref.kind + "\" (apiVersion \"" + ref.api_version +
                   "\") itself: it keeps Workflow, WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow, "
                   "Application and AppProject (argoproj.io/v1alpha1), ConfigMap and Secret (v1); other kinds need a cluster");
}

std::string namespace_of(const LocalKind& k, const ObjectRef& ref, const std::string& default_namespace) {
  if (!k.namespaced) return "";
  return ref.namespace_.empty() ? default_namespace : ref.namespace_;
}

// "workflows.argoproj.io \"x\" not found", as Kubernetes words it.
Status missing(const ObjectRef& ref, const std::string& ns) {
  std::string lower = ref.kind;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string group = ref.api_version.find('/') == std::string::npos ? "" : "." + ref.api_version.substr(0, ref.api_version.find('/'));
  return not_found(lower + "s" + group + " \"" + ref.name + "\" not found" + (ns.empty() ? "" : " in namespace " + ns));
}

ObjectFamily family_of(ApiContext& ctx, spec::Kind kind) {
  switch (kind) {
    case spec::Kind::kCronWorkflow: return cron_family(ctx);
    case spec::Kind::kApplication: return app_family(ctx);
    case spec::Kind::kAppProject: return project_family(ctx);
    default: return template_family(kind);
  }
}

// Deletes a stored object; an Application with finalizers is left to the controller, as on
// Kubernetes.
Status remove_stored(ApiContext& ctx, spec::Kind kind, const std::string& ns, const std::string& name) {
  if (kind == spec::Kind::kApplication) return delete_application(ctx, ns, name);
  return remove_object(ctx, family_of(ctx, kind), ns, name);
}

KJson config_json(ConfigKind kind, const std::string& ns, const std::string& name, const runtime::ConfigObject& obj) {
  KJson j = {{"apiVersion", "v1"},
            {"kind", kind == ConfigKind::kSecret ? "Secret" : "ConfigMap"},
            {"metadata", {{"name", name}, {"namespace", ns}}},
            {"data", KJson::object()}};
  if (!obj.owner_references_json.empty())
    j["metadata"]["ownerReferences"] = parse_json_or_discarded<KJson>(obj.owner_references_json);
  if (!obj.labels.empty()) j["metadata"]["labels"] = obj.labels;
  if (!obj.annotations.empty()) j["metadata"]["annotations"] = obj.annotations;
  if (kind == ConfigKind::kSecret) j["type"] = obj.type;
  for (const auto& [k, v] : obj.data) j["data"][k] = kind == ConfigKind::kSecret ? base64_encode(v) : v;
  return j;
}

// A ConfigMap or Secret from its JSON: data (base64 for a Secret), stringData, binaryData.
Result<runtime::ConfigObject> config_from(ConfigKind kind, const KJson& o) {
  runtime::ConfigObject obj;
  if (kind == ConfigKind::kSecret) obj.type = o.value("type", "Opaque");
  for (const char* part : {"data", "stringData", "binaryData"}) {
    if (!o.contains(part) || o[part].is_null()) continue;
    if (!o[part].is_object()) return invalid(std::string(part) + " must be an object of key: value");
    bool base64 = std::string(part) == "binaryData" || (std::string(part) == "data" && kind == ConfigKind::kSecret);
    for (const auto& [k, v] : o[part].items()) {
      if (Status st = runtime::check_data_key(std::string(part) + "." + k, k); !st) return st;
      if (!v.is_string()) return invalid(std::string(part) + "." + k + " must be a string");
      std::string value = v.get<std::string>();
      if (base64) {
        auto raw = base64_decode(value);
        if (!raw) return invalid(std::string(part) + "." + k + " is not base64");
        value = std::move(*raw);
      }
      obj.data[k] = std::move(value);
    }
  }
  const KJson& refs = o.value("metadata", KJson::object()).value("ownerReferences", KJson());
  if (refs.is_array() && !refs.empty()) obj.owner_references_json = refs.dump();
  const KJson meta = object_member(o, "metadata");
  for (auto [field, to] : {std::pair{"labels", &obj.labels}, std::pair{"annotations", &obj.annotations}}) {
    const KJson values = object_member(meta, field);
    for (const auto& [k, v] : values.items()) {
      if (!v.is_string()) return invalid(std::string("metadata.") + field + "." + k + " must be a string");
      (*to)[k] = v.get<std::string>();
    }
  }
  return obj;
}

// The uid of the Workflow an object's ownerReferences name ("" when none).
std::string owner_uid(const KJson& object) {
  const KJson refs = object.value("metadata", KJson::object()).value("ownerReferences", KJson::array());
  if (!refs.is_array()) return "";
  for (const auto& r : refs)
    if (r.is_object() && r.value("kind", "") == "Workflow" && r.value("uid", "") != "") return r.value("uid", "");
  return "";
}

Result<KJson> apply_patch(const KJson& current, kube::PatchType type, const std::string& patch_text, const LocalKind& k,
                         const ObjectRef& ref) {
  auto patch = parse_json<KJson>(patch_text, "the patch");
  if (!patch) return patch.status();
  if (type == kube::PatchType::kStrategicMerge && k.local != Local::kConfig)
    return invalid("patch " + ref.kind + " " + ref.name + ": strategic merge patch is not supported for " + ref.kind +
                   " (a custom resource, on Kubernetes too); use mergeStrategy merge or json");
  try {
    if (type == kube::PatchType::kJson) return current.patch(*patch);
    KJson out = current;
    out.merge_patch(*patch);
    return out;
  } catch (const nlohmann::json::exception& e) {
    return invalid("patch " + ref.kind + " " + ref.name + ": the patch does not apply: " + e.what());
  }
}

}  // namespace

Result<KJson> LocalObjects::get(const ObjectRef& ref, const std::string& default_namespace) {
  auto k = local_kind(ref);
  if (!k) return k.status();
  std::string ns = namespace_of(*k, ref, default_namespace);
  switch (k->local) {
    case Local::kWorkflow: {
      auto rec = ctx_.store.get_workflow(ns, ref.name);
      if (!rec) return rec.status().code() == Code::kNotFound ? missing(ref, ns) : rec.status();
      return KJson(workflow_json(ctx_.store, *rec, true));
    }
    case Local::kObject: {
      auto rec = ctx_.store.get_object(k->kind, ns, ref.name);
      if (!rec) return rec.status().code() == Code::kNotFound ? missing(ref, ns) : rec.status();
      return KJson(object_json(*rec, k->kind));
    }
    case Local::kConfig: {
      auto obj = runtime::read_config_object(ctx_.options.data_dir, k->config, ns, ref.name);
      if (!obj) return obj.status().code() == Code::kNotFound ? missing(ref, ns) : obj.status();
      return config_json(k->config, ns, ref.name, *obj);
    }
  }
  return internal_error("unreachable");
}

Result<KJson> LocalObjects::write(const KJson& object, const std::string& default_namespace, bool update) {
  ObjectRef ref = kube::ref_of(object);
  auto k = local_kind(ref);
  if (!k) return k.status();
  std::string ns = namespace_of(*k, ref, default_namespace);
  switch (k->local) {
    case Local::kWorkflow: {
      if (update) {
        // A running workflow keeps its spec; its labels may change.
        auto current = get(ref, ns);
        if (!current) return current.status();
        if (object.value("spec", KJson::object()) != (*current).value("spec", KJson::object()))
          return invalid("Workflow " + ns + "/" + ref.name + " runs; skiff does not change a workflow's spec once it "
                         "runs (delete it and create it again, or change only metadata.labels)");
        return patch(ref, ns, kube::PatchType::kMerge,
                     KJson{{"metadata", {{"labels", object.value("metadata", KJson::object()).value("labels", KJson::object())}}}}.dump());
      }
      auto wf = decode_object(Json{{spec::kind_info(spec::Kind::kWorkflow).body_field, Json(object)}}, spec::Kind::kWorkflow, ns);
      if (!wf) return wf.status();
      if (std::string uid = owner_uid(object); !uid.empty()) wf->metadata.labels[kOwnerUidLabel] = uid;
      auto rec = start_workflow(ctx_, std::move(*wf), ns);
      if (!rec) return rec.status();
      return KJson(workflow_json(ctx_.store, *rec, false));
    }
    case Local::kObject: {
      KJson doc = object;
      doc.erase("status");
      if (k->namespaced && doc.contains("metadata") && doc["metadata"].is_object()) doc["metadata"]["namespace"] = ns;
      auto rec = write_object(ctx_, family_of(ctx_, k->kind), Json(doc), ns, update);
      if (!rec) return rec.status().code() == Code::kNotFound ? missing(ref, ns) : rec.status();
      return KJson(object_json(*rec, k->kind));
    }
    case Local::kConfig: {
      auto obj = config_from(k->config, object);
      if (!obj) return obj.status();
      if (update) {
        auto current = runtime::read_config_object(ctx_.options.data_dir, k->config, ns, ref.name);
        if (!current) return current.status().code() == Code::kNotFound ? missing(ref, ns) : current.status();
      }
      Status st = runtime::write_config_object(ctx_.options.data_dir, k->config, ns, ref.name, *obj, update);
      if (!st) return st;
      return config_json(k->config, ns, ref.name, *obj);
    }
  }
  return internal_error("unreachable");
}

Result<KJson> LocalObjects::create(const KJson& object, const std::string& default_namespace) {
  ObjectRef ref = kube::ref_of(object);
  if (ref.name.empty() && !(object.contains("metadata") && object["metadata"].contains("generateName") &&
                            ref.kind == "Workflow"))
    return invalid("create " + ref.kind + ": metadata.name is required");
  return write(object, default_namespace, false);
}

Result<KJson> LocalObjects::replace(const KJson& object, const std::string& default_namespace) {
  return write(object, default_namespace, true);
}

Result<KJson> LocalObjects::apply(const KJson& object, const std::string& default_namespace, const kube::ApplyOptions&) {
  ObjectRef ref = kube::ref_of(object);
  auto current = get(ref, default_namespace);
  if (!current) {
    if (current.status().code() != Code::kNotFound) return current.status();
    return write(object, default_namespace, false);
  }
  // What an apply names replaces what is there; the rest stays (lists are replaced whole).
  KJson merged = *current;
  merged.merge_patch(object);
  if (merged.contains("metadata")) merged["metadata"].erase("resourceVersion");  // the newest wins
  return write(merged, default_namespace, true);
}

Result<KJson> LocalObjects::patch(const ObjectRef& ref, const std::string& default_namespace, kube::PatchType type,
                                 const std::string& patch_json) {
  auto k = local_kind(ref);
  if (!k) return k.status();
  std::string ns = namespace_of(*k, ref, default_namespace);
  for (int attempt = 1;; ++attempt) {
    auto current = get(ref, ns);
    if (!current) return current.status();
    auto patched = apply_patch(*current, type, patch_json, *k, ref);
    if (!patched) return patched.status();
    if (k->local == Local::kWorkflow) {
      KJson before = (*current)["metadata"].value("labels", KJson::object());
      KJson after = (*patched).value("metadata", KJson::object()).value("labels", KJson::object());
      KJson rest_before = *current, rest_after = *patched;
      rest_before["metadata"].erase("labels");
      if (rest_after.contains("metadata") && rest_after["metadata"].is_object()) rest_after["metadata"].erase("labels");
      if (rest_before != rest_after || !after.is_object())
        return invalid("patch Workflow " + ns + "/" + ref.name + ": skiff changes only a running workflow's metadata.labels");
      std::map<std::string, std::string> set;
      std::vector<std::string> removed;
      for (const auto& [key, v] : after.items()) {
        if (!v.is_string()) return invalid("patch Workflow " + ns + "/" + ref.name + ": label " + key + " must be a string");
        set[key] = v.get<std::string>();
      }
      for (const auto& [key, v] : before.items())
        if (!after.contains(key)) removed.push_back(key);
      auto rec = ctx_.store.get_workflow(ns, ref.name);
      if (!rec) return rec.status();
      if (Status st = ctx_.store.update_labels(rec->uid, set, removed); !st) return st;
      return get(ref, ns);
    }
    auto saved = write(*patched, ns, true);  // compare-and-swap on the version read
    if (saved.status().code() == Code::kConflict && attempt < kWriteAttempts) continue;
    return saved;
  }
}

Status LocalObjects::remove(const ObjectRef& ref, const std::string& default_namespace, const kube::DeleteOptions&) {
  auto k = local_kind(ref);
  if (!k) return k.status();
  std::string ns = namespace_of(*k, ref, default_namespace);
  Status st;
  switch (k->local) {
    case Local::kWorkflow: st = ctx_.remove_workflow(ns, ref.name); break;
    case Local::kObject: st = remove_stored(ctx_, k->kind, ns, ref.name); break;
    case Local::kConfig: st = runtime::delete_config_object(ctx_.options.data_dir, k->config, ns, ref.name); break;
  }
  return st.code() == Code::kNotFound ? missing(ref, ns) : st;
}

void LocalObjects::remove_owned(ApiContext& ctx, const std::string& ns, const std::string& uid) {
  store::ListQuery q;
  q.namespace_ = ns;
  q.label_selector = std::string(kOwnerUidLabel) + "=" + uid;
  if (auto children = ctx.store.list_workflows(q)) {
    for (const auto& wf : children->items) (void)ctx.remove_workflow(wf.namespace_, wf.name);
  }
  for (spec::Kind kind : {spec::Kind::kWorkflowTemplate, spec::Kind::kCronWorkflow, spec::Kind::kClusterWorkflowTemplate,
                          spec::Kind::kApplication, spec::Kind::kAppProject}) {
    auto objects = ctx.store.list_objects(kind, kind == spec::Kind::kClusterWorkflowTemplate ? "" : ns);
    if (!objects) continue;
    for (const auto& o : *objects) {
      if (owner_uid(parse_json_or_discarded<KJson>(o.body)) == uid) (void)remove_stored(ctx, kind, o.namespace_, o.name);
    }
  }
  for (ConfigKind kind : {ConfigKind::kConfigMap, ConfigKind::kSecret}) {
    for (const auto& [name, obj] : runtime::list_config_objects(ctx.options.data_dir, kind, ns)) {
      if (obj.owner_references_json.find(uid) == std::string::npos) continue;
      KJson owners = parse_json_or_discarded<KJson>(obj.owner_references_json);
      if (owner_uid(KJson{{"metadata", {{"ownerReferences", owners}}}}) == uid)
        (void)runtime::delete_config_object(ctx.options.data_dir, kind, ns, name);
    }
  }
}

}  // namespace skiff::server
