#include "spec/synchronization.h"

#include <nlohmann/json.hpp>

#include "util/json_text.h"

namespace skiff::spec {
namespace {

using Json = nlohmann::json;

Status check_keys(const Json& j, const std::string& path, std::initializer_list<const char*> allowed) {
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for (const char* a : allowed) known = known || k == a;
    if (!known) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      return invalid(path + "." + k + ": unknown field; " + path + " takes " + list);
    }
  }
  return Status::ok();
}

std::string text_of(const Json& j, const char* field) {
  if (!j.contains(field)) return "";
  const Json& v = j[field];
  return v.is_string() ? v.get<std::string>() : "";
}

const char* kDatabase =
    ": database locks are shared between Argo controllers through a SQL database; skiff's locks are "
    "local to one server (and to one `skiff run`): remove `database` and name the lock (mutexes: [{name: ...}] "
    "or semaphores: [{configMapKeyRef: {name: ..., key: ...}}])";

Result<LockRef> mutex_of(const Json& m, const std::string& path, const std::string& ns) {
  if (!m.is_object()) return invalid(path + ": a mutex is a map with a name: {name: my-mutex}");
  if (Status s = check_keys(m, path, {"name", "namespace", "database"}); !s) return s;
  if (m.contains("database") && !(m["database"].is_boolean() && !m["database"].get<bool>()))
    return invalid(path + ".database" + kDatabase);
  LockRef r;
  r.mutex = true;
  r.name = text_of(m, "name");
  if (r.name.empty()) return invalid(path + ".name: a mutex needs a name: {name: my-mutex}");
  r.namespace_ = text_of(m, "namespace").empty() ? ns : text_of(m, "namespace");
  return r;
}

Result<LockRef> semaphore_of(const Json& s, const std::string& path, const std::string& ns) {
  if (!s.is_object())
    return invalid(path + ": a semaphore is a map: {configMapKeyRef: {name: my-config, key: my-key}}");
  if (Status st = check_keys(s, path, {"configMapKeyRef", "namespace", "database"}); !st) return st;
  if (s.contains("database")) return invalid(path + ".database" + kDatabase);
  if (!s.contains("configMapKeyRef") || !s["configMapKeyRef"].is_object())
    return invalid(path + ".configMapKeyRef: a semaphore takes its limit from a ConfigMap: "
                   "{configMapKeyRef: {name: my-config, key: my-key}}");
  const Json& ref = s["configMapKeyRef"];
  if (Status st = check_keys(ref, path + ".configMapKeyRef", {"name", "key", "optional"}); !st) return st;
  LockRef r;
  r.mutex = false;
  r.name = text_of(ref, "name");
  r.key = text_of(ref, "key");
  if (r.name.empty()) return invalid(path + ".configMapKeyRef.name: the semaphore's ConfigMap needs a name");
  if (r.key.empty()) return invalid(path + ".configMapKeyRef.key: the key of the semaphore's limit in its ConfigMap is missing");
  r.namespace_ = text_of(s, "namespace").empty() ? ns : text_of(s, "namespace");
  return r;
}

}  // namespace

Result<std::vector<LockRef>> parse_synchronization(const std::string& json, const std::string& workflow_namespace) {
  Json j = parse_json_or_discarded<Json>(json);
  if (!j.is_object()) return invalid("synchronization must be a map with mutexes or semaphores");
  if (Status s = check_keys(j, "synchronization", {"mutexes", "mutex", "semaphores", "semaphore"}); !s) return s;
  std::vector<LockRef> out;
  auto add = [&](Result<LockRef> r) -> Status {
    if (!r) return r.status();
    for (const auto& have : out)
      if (have == *r) return invalid("synchronization: duplicate synchronization item found (" + lock_name(*r) + ")");
    out.push_back(std::move(*r));
    return Status::ok();
  };
  for (const char* list : {"semaphores", "mutexes"}) {
    bool mutex = std::string(list) == "mutexes";
    std::string one = mutex ? "mutex" : "semaphore";
    if (j.contains(list) && !j[list].is_null()) {
      if (!j[list].is_array()) return invalid(std::string("synchronization.") + list + " must be a list");
      for (size_t i = 0; i < j[list].size(); ++i) {
        std::string path = std::string("synchronization.") + list + "[" + std::to_string(i) + "]";
        if (Status s = add(mutex ? mutex_of(j[list][i], path, workflow_namespace)
                                 : semaphore_of(j[list][i], path, workflow_namespace));
            !s)
          return s;
      }
    }
    if (j.contains(one) && !j[one].is_null()) {
      std::string path = "synchronization." + one;
      if (Status s = add(mutex ? mutex_of(j[one], path, workflow_namespace) : semaphore_of(j[one], path, workflow_namespace)); !s)
        return s;
    }
  }
  if (out.empty()) return invalid("synchronization names no lock: give it mutexes or semaphores");
  return out;
}

std::string lock_name(const LockRef& lock) {
  if (lock.mutex) return lock.namespace_ + "/Mutex/" + lock.name;
  return lock.namespace_ + "/ConfigMap/" + lock.name + "/" + lock.key;
}

}  // namespace skiff::spec
