#include "machine/objects.h"

#include <chrono>
#include <filesystem>
#include <functional>

#include "machine/workload.h"
#include "runtime/fd.h"
#include "util/json_text.h"
#include "util/strings.h"

namespace skiff::machine {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Status unsupported(const std::string& api_version, const std::string& kind) {
  return invalid("kind " + kind + " (" + api_version + ") is not supported on this machine (skiff runs " +
                 machine_kinds_text() + " here as containers); configure a cluster with --kubeconfig to deploy it");
}

// A DNS-1123 label (Pods, Services, Namespaces ...) or subdomain (the rest), as Kubernetes checks.
Status check_name(const KindInfo& info, const std::string& name) {
  bool label = std::string(info.kind) != "ConfigMap" && std::string(info.kind) != "Secret" &&
               std::string(info.kind) != "PersistentVolumeClaim";
  size_t max = label ? 63 : 253;
  if (label ? dns1123_label(name) : dns1123_subdomain(name)) return Status::ok();
  return invalid(std::string(info.kind) + " \"" + name + "\" is invalid: metadata.name: a lowercase RFC 1123 " +
                 (label ? "label" : "subdomain") + " must consist of lower case alphanumeric characters, '-'" +
                 (label ? "" : " or '.'") + ", start and end with an alphanumeric character, at most " +
                 std::to_string(max) + " characters");
}

// Probes this machine does not run (startupProbe, grpc) are refused rather than ignored.
Status check_probes(const Json& pod_spec, const std::function<std::string(const std::string&)>& where,
                    const std::string& path) {
  for (const char* list : {"containers", "initContainers"}) {
    for (const Json& c : array_member(pod_spec, list)) {
      for (const char* field : {"readinessProbe", "livenessProbe", "startupProbe"}) {
        const Json probe = object_member(c, field);
        if (probe.empty()) continue;
        std::string at = path + list + "[" + c.value("name", "") + "]." + field;
        if (std::string(field) == "startupProbe" || probe.contains("grpc"))
          return invalid(where(at + ": not supported on this machine yet (httpGet, tcpSocket and exec readiness and "
                                    "liveness probes are); deploy to a cluster with --kubeconfig for it"));
      }
    }
  }
  if (!array_member(pod_spec, "initContainers").empty())
    return invalid(where(path + "initContainers: not supported on this machine yet"));
  return Status::ok();
}

// What the workload controller needs to hold: bounded replicas, a template with containers.
Status check_spec(const KindInfo& info, const std::string& name, const Json& object) {
  const std::string kind = info.kind;
  const Json spec = object_member(object, "spec");
  std::function<std::string(const std::string&)> where = [&](const std::string& field) {
    return kind + " \"" + name + "\" is invalid: " + field;
  };
  if (kind == "Pod") {
    if (Status s = check_probes(spec, where, "spec."); !s) return s;
  }
  if (kind == "Deployment" || kind == "ReplicaSet" || kind == "StatefulSet" || kind == "Job") {
    if (Status s = check_probes(object_member(object_member(spec, "template"), "spec"), where, "spec.template.spec."); !s)
      return s;
  }
  if (kind == "Job") {
    const Json tmpl_spec = object_member(object_member(spec, "template"), "spec");
    if (array_member(tmpl_spec, "containers").empty()) return invalid(where("spec.template.spec.containers: Required value"));
    const Json policy = tmpl_spec.contains("restartPolicy") ? tmpl_spec["restartPolicy"] : Json();
    if (policy != "Never" && policy != "OnFailure")
      return invalid(where("spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""));
    for (const char* field : {"completions", "parallelism"})
      if (spec.contains(field) && spec[field] != 1)
        return invalid(where(std::string("spec.") + field + ": only 1 is supported on this machine yet"));
    if (spec.contains("backoffLimit") && (!spec["backoffLimit"].is_number_integer() || spec["backoffLimit"].get<int64_t>() < 0 ||
                                          spec["backoffLimit"].get<int64_t>() > 100))
      return invalid(where("spec.backoffLimit: must be an integer from 0 to 100"));
  }
  if (kind == "StatefulSet") {
    for (const Json& claim : array_member(spec, "volumeClaimTemplates")) {
      std::string claim_name = object_member(claim, "metadata").value("name", "");
      if (Status s = check_name(*machine_kind("v1", "Pod"), claim_name.empty() ? "-" : claim_name); !s)
        return invalid(where("spec.volumeClaimTemplates[].metadata.name: \"" + claim_name + "\" is not a DNS-1123 label"));
    }
  }
  if (kind == "Deployment" || kind == "ReplicaSet" || kind == "StatefulSet") {
    if (spec.contains("replicas")) {
      const Json& r = spec["replicas"];
      if (!r.is_number_integer() || r.get<int64_t>() < 0)
        return invalid(where("spec.replicas: must be a non-negative integer"));
      if (r.get<int64_t>() > kMaxReplicas)
        return invalid(where("spec.replicas: " + std::to_string(r.get<int64_t>()) + " is more than this machine runs (at most " +
                             std::to_string(kMaxReplicas) + " per workload); lower it or deploy to a cluster"));
    }
    if (object_member(spec, "selector").empty()) return invalid(where("spec.selector: Required value"));
    if (kind == "Deployment" && spec.contains("progressDeadlineSeconds")) {
      const Json& p = spec["progressDeadlineSeconds"];
      const Json& min_ready = spec.contains("minReadySeconds") ? spec["minReadySeconds"] : Json(0);
      if (!p.is_number_integer() || p.get<int64_t>() > kNoProgressDeadline)
        return invalid(where("spec.progressDeadlineSeconds: Invalid value: " + p.dump() +
                             ": must be a whole number of seconds (at most 2147483647, which means none)"));
      if (min_ready.is_number_integer() && p.get<int64_t>() <= min_ready.get<int64_t>())
        return invalid(where("spec.progressDeadlineSeconds: Invalid value: " + p.dump() +
                             ": must be greater than minReadySeconds"));
    }
    const Json tmpl = object_member(spec, "template");
    if (!selector_matches(object_member(spec, "selector"), object_member(object_member(tmpl, "metadata"), "labels")))
      return invalid(where("spec.template.metadata.labels: `selector` does not match template `labels`"));
    if (array_member(object_member(tmpl, "spec"), "containers").empty())
      return invalid(where("spec.template.spec.containers: Required value"));
  }
  if (kind == "Pod" && array_member(spec, "containers").empty()) return invalid(where("spec.containers: Required value"));
  if (kind == "Service") {
    for (const Json& p : array_member(spec, "ports")) {
      if (!p.is_object() || !p.contains("port") || !p["port"].is_number_integer() || p["port"].get<int64_t>() < 1 ||
          p["port"].get<int64_t>() > 65535)
        return invalid(where("spec.ports[].port: must be between 1 and 65535, inclusive"));
      if (p.contains("nodePort") && (!p["nodePort"].is_number_integer() || p["nodePort"].get<int64_t>() < 1 ||
                                     p["nodePort"].get<int64_t>() > 65535))
        return invalid(where("spec.ports[].nodePort: must be between 1 and 65535, inclusive"));
    }
  }
  return Status::ok();
}

// kubectl's client-side apply keeps what it applied here, to know what a later apply drops.
constexpr const char* kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";

// Removes from `live` what the last apply set (`last`) and this one (`now`) leaves out,
// object by object; lists are replaced whole by the merge that follows.
void drop_unapplied(Json& live, const Json& last, const Json& now) {
  if (!live.is_object() || !last.is_object()) return;
  for (auto it = last.begin(); it != last.end(); ++it) {
    if (!now.is_object() || !now.contains(it.key())) live.erase(it.key());
    else if (it->is_object() && live.contains(it.key())) drop_unapplied(live[it.key()], *it, now[it.key()]);
  }
}

// RFC 7386 merge of `patch` into `target`.
void merge_into(Json& target, const Json& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = Json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it->is_null()) target.erase(it.key());
    else merge_into(target[it.key()], *it);
  }
}

}  // namespace

Result<std::unique_ptr<MachineObjects>> MachineObjects::open(const std::string& dir, kube::ObjectApi* configs) {
  if (Status s = runtime::make_dirs(dir); !s) return s.with_context("this machine's objects");
  std::unique_ptr<MachineObjects> objects(new MachineObjects(dir, configs));
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() != ".json") continue;
    auto text = runtime::read_file_capped(it->path().string(), 8 << 20);
    if (!text) continue;
    Json object = parse_json_or_discarded<Json>(*text);
    if (!object.is_object()) {
      std::fprintf(stderr, "skiff: %s is not an object: skipped\n", it->path().c_str());
      continue;
    }
    const Json meta = object_member(object, "metadata");
    Key key{object.value("kind", ""), meta.value("namespace", ""), meta.value("name", "")};
    uint64_t version = std::strtoull(meta.value("resourceVersion", "0").c_str(), nullptr, 10);
    objects->version_ = std::max(objects->version_, version);
    objects->objects_[key] = std::move(object);
  }
  return objects;
}

std::string MachineObjects::path_of(const Key& key) const {
  const auto& [kind, ns, name] = key;
  return dir_ + "/" + (ns.empty() ? "_cluster" : ns) + "/" + kind + "/" + name + ".json";
}

Status MachineObjects::persist(const Key& key, const Json& object) const {
  std::string path = path_of(key);
  if (Status s = runtime::make_dirs(fs::path(path).parent_path().string()); !s) return s;
  return runtime::write_file_atomically(path, object.dump(), 0600);
}

void MachineObjects::set_on_change(std::function<void()> on_change) {
  std::lock_guard<std::mutex> lock(mu_);
  on_change_ = std::move(on_change);
}

void MachineObjects::set_on_tracked_status(std::function<void(const std::string&)> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  on_tracked_status_ = std::move(fn);
}

void MachineObjects::changed() const {
  std::function<void()> fn;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn = on_change_;
  }
  if (fn) fn();
}

Result<Json> MachineObjects::get(const kube::ObjectRef& ref, const std::string& default_namespace) {
  const KindInfo* info = machine_kind(ref.api_version, ref.kind);
  if (!info) return unsupported(ref.api_version, ref.kind);
  std::string ns = info->namespaced ? (ref.namespace_.empty() ? default_namespace : ref.namespace_) : "";
  if (ref.kind == "ConfigMap" || ref.kind == "Secret") {
    if (!configs_) return unsupported(ref.api_version, ref.kind);
    return configs_->get(ref, default_namespace);
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find({ref.kind, ns, ref.name});
  if (it == objects_.end()) return not_found(std::string(info->resource) + " \"" + ref.name + "\" not found");
  return it->second;
}

Result<Json> MachineObjects::write(Json object, const std::string& default_namespace, bool must_be_new, bool merge) {
  if (!object.is_object()) return invalid("the object must be a JSON object");
  kube::ObjectRef ref = kube::ref_of(object);
  const KindInfo* info = machine_kind(ref.api_version, ref.kind);
  if (!info) return unsupported(ref.api_version, ref.kind);
  if (ref.kind == "ConfigMap" || ref.kind == "Secret") {
    if (!configs_) return unsupported(ref.api_version, ref.kind);
    if (must_be_new) return configs_->create(object, default_namespace);
    if (merge) return configs_->apply(object, default_namespace, {});
    return configs_->replace(object, default_namespace);
  }
  std::string ns = info->namespaced ? (ref.namespace_.empty() ? default_namespace : ref.namespace_) : "";
  Json& meta = object["metadata"];
  if (!meta.is_object()) return invalid(std::string(info->kind) + ": metadata must be an object");
  if (ref.name.empty() && must_be_new && meta.contains("generateName") && meta["generateName"].is_string())
    ref.name = meta["generateName"].get<std::string>() + random_suffix();
  if (Status s = check_name(*info, ref.name); !s) return s;
  if (!ns.empty()) {
    if (Status s = check_name(*machine_kind("v1", "Namespace"), ns); !s) return s;
  }
  Key key{ref.kind, ns, ref.name};
  Json applied_config;  // what an apply gave, kept as kubectl keeps it
  if (merge) {
    applied_config = object;
    applied_config.erase("status");
  }
  Result<Json> out = Json();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(key);
    const std::string described = std::string(info->resource) + " \"" + ref.name + "\"";
    if (it != objects_.end() && must_be_new) return Status(Code::kAlreadyExists, described + " already exists");
    Json stored;
    if (it == objects_.end()) {
      meta["uid"] = new_uid();
      meta["creationTimestamp"] = rfc3339(now_ms());
      meta["generation"] = 1;
      object.erase("status");
      stored = std::move(object);
    } else {
      const Json& live = it->second;
      const Json live_meta = object_member(live, "metadata");
      std::string want = meta.value("resourceVersion", "");
      if (!merge && !want.empty() && want != live_meta.value("resourceVersion", ""))
        return Status(Code::kConflict, "Operation cannot be fulfilled on " + described +
                                           ": the object has been modified; please apply your changes to the latest "
                                           "version and try again");
      if (merge) {
        stored = live;
        object.erase("status");
        meta.erase("resourceVersion");
        const Json live_annotations = object_member(live_meta, "annotations");
        if (live_annotations.contains(kLastApplied) && live_annotations[kLastApplied].is_string()) {
          Json last = Json::parse(live_annotations[kLastApplied].get<std::string>(), nullptr, false);
          if (!last.is_discarded()) drop_unapplied(stored, last, object);
        }
        merge_into(stored, object);
      } else {
        stored = std::move(object);
        if (live.contains("status")) stored["status"] = live["status"];
        else stored.erase("status");
      }
      // What the server set stays; ownerReferences too, unless the write gives its own.
      for (const char* field : {"uid", "creationTimestamp", "generation"})
        if (live_meta.contains(field)) stored["metadata"][field] = live_meta[field];
      if (live_meta.contains("ownerReferences") && !stored["metadata"].contains("ownerReferences"))
        stored["metadata"]["ownerReferences"] = live_meta["ownerReferences"];
      if (ref.kind == "Job" &&
          object_member(object_member(stored, "spec"), "template") != object_member(object_member(live, "spec"), "template"))
        return invalid(std::string("Job.batch \"") + ref.name +
                       "\" is invalid: spec.template: field is immutable (delete the Job to change it)");
      int64_t generation = live_meta.value("generation", 1);
      if (object_member(stored, "spec") != object_member(live, "spec")) ++generation;
      stored["metadata"]["generation"] = generation;
    }
    if (merge) {
      Json applied = applied_config;
      applied["metadata"].erase("resourceVersion");
      if (applied["metadata"].contains("annotations")) applied["metadata"]["annotations"].erase(kLastApplied);
      stored["metadata"]["annotations"][kLastApplied] = applied.dump();
    }
    stored["metadata"]["namespace"] = ns;
    if (ns.empty()) stored["metadata"].erase("namespace");
    stored["metadata"]["name"] = ref.name;
    stored["metadata"].erase("generateName");
    if (Status s = check_spec(*info, ref.name, stored); !s) return s;
    stored["metadata"]["resourceVersion"] = std::to_string(++version_);
    if (Status s = persist(key, stored); !s) return s.with_context("storing " + described);
    objects_[key] = stored;
    out = std::move(stored);
  }
  changed();
  return out;
}

Result<Json> MachineObjects::create(const Json& object, const std::string& default_namespace) {
  return write(object, default_namespace, true, false);
}

Result<Json> MachineObjects::replace(const Json& object, const std::string& default_namespace) {
  return write(object, default_namespace, false, false);
}

Result<Json> MachineObjects::apply(const Json& object, const std::string& default_namespace, const kube::ApplyOptions&) {
  return write(object, default_namespace, false, true);
}

Result<Json> MachineObjects::patch(const kube::ObjectRef& ref, const std::string& default_namespace, kube::PatchType type,
                                   const std::string& patch_json) {
  auto live = get(ref, default_namespace);
  if (!live) return live.status();
  if (ref.kind == "ConfigMap" || ref.kind == "Secret") return configs_->patch(ref, default_namespace, type, patch_json);
  auto patch = parse_json<Json>(patch_json, "the patch");
  if (!patch) return patch.status();
  Json patched = *live;
  try {
    if (type == kube::PatchType::kJson) patched = live->patch(*patch);
    else merge_into(patched, *patch);
  } catch (const std::exception& e) {
    return invalid(kube::describe(ref) + ": the patch does not apply: " + e.what());
  }
  patched["metadata"]["resourceVersion"] = object_member(*live, "metadata").value("resourceVersion", "");
  return write(std::move(patched), default_namespace, false, false);
}

void MachineObjects::erase_locked(const Key& key, std::vector<std::string>* removed_uids) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return;
  removed_uids->push_back(object_member(it->second, "metadata").value("uid", ""));
  std::error_code ec;
  fs::remove(path_of(key), ec);
  objects_.erase(it);
}

Status MachineObjects::remove(const kube::ObjectRef& ref, const std::string& default_namespace,
                              const kube::DeleteOptions& options) {
  const KindInfo* info = machine_kind(ref.api_version, ref.kind);
  if (!info) return unsupported(ref.api_version, ref.kind);
  if (ref.kind == "ConfigMap" || ref.kind == "Secret") {
    if (!configs_) return unsupported(ref.api_version, ref.kind);
    return configs_->remove(ref, default_namespace, options);
  }
  std::string ns = info->namespaced ? (ref.namespace_.empty() ? default_namespace : ref.namespace_) : "";
  {
    std::lock_guard<std::mutex> lock(mu_);
    Key key{ref.kind, ns, ref.name};
    if (!objects_.count(key)) return not_found(std::string(info->resource) + " \"" + ref.name + "\" not found");
    std::vector<std::string> uids;
    erase_locked(key, &uids);
    // Dependents go too (a Namespace takes everything in it), unless orphaned.
    while (options.propagation != kube::Propagation::kOrphan && !uids.empty()) {
      std::string uid = uids.back();
      uids.pop_back();
      std::vector<Key> doomed;
      for (const auto& [k, object] : objects_)
        if (owned_by(object, uid) || (ref.kind == "Namespace" && std::get<1>(k) == ref.name)) doomed.push_back(k);
      for (const Key& k : doomed) erase_locked(k, &uids);
    }
  }
  changed();
  return Status::ok();
}

std::vector<Json> MachineObjects::list(const std::string& kind) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Json> out;
  for (auto it = objects_.lower_bound({kind, "", ""}); it != objects_.end() && std::get<0>(it->first) == kind; ++it)
    out.push_back(it->second);
  return out;
}

Status MachineObjects::set_status(const kube::ObjectRef& ref, const Json& status) {
  std::string tracked;
  std::function<void(const std::string&)> notify;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find({ref.kind, ref.namespace_, ref.name});
    if (it == objects_.end()) return not_found(kube::describe(ref) + " not found");
    if (it->second.contains("status") && it->second["status"] == status) return Status::ok();
    Json object = it->second;
    object["status"] = status;
    object["metadata"]["resourceVersion"] = std::to_string(++version_);
    if (Status s = persist(it->first, object); !s) return s;
    it->second = std::move(object);
    // "<app>:<group>/<kind>:<namespace>/<name>"
    tracked = object_member(object_member(it->second, "metadata"), "annotations").value(kTrackingAnnotation, "");
    notify = on_tracked_status_;
  }
  if (size_t colon = tracked.find(':'); colon != std::string::npos && notify) notify(tracked.substr(0, colon));
  return Status::ok();
}

Status MachineObjects::set_annotation(const kube::ObjectRef& ref, const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find({ref.kind, ref.namespace_, ref.name});
  if (it == objects_.end()) return not_found(kube::describe(ref) + " not found");
  Json object = it->second;
  Json& annotations = object["metadata"]["annotations"];
  if (!annotations.is_object()) annotations = Json::object();
  if (annotations.value(key, "") == value) return Status::ok();
  annotations[key] = value;
  object["metadata"]["resourceVersion"] = std::to_string(++version_);
  if (Status s = persist(it->first, object); !s) return s;
  it->second = std::move(object);
  return Status::ok();
}

}  // namespace skiff::machine
