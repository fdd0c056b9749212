#include "kube/client.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "util/json_text.h"

namespace skiff::kube {

struct Client::Target {
  ResourceInfo info;
  ObjectRef ref;           // its namespace as the request has it
  std::string collection;  // "/api/v1/namespaces/x/configmaps"
  std::string path;        // collection + "/name" (when named)
  std::string context;     // "create ConfigMap x/y"
};

namespace {

const char* content_type(PatchType type) {
  switch (type) {
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
  }
  return "application/json";
}

const char* propagation_name(Propagation p) {
  switch (p) {
    case Propagation::kBackground:
      return "Background";
    case Propagation::kForeground:
      return "Foreground";
    case Propagation::kOrphan:
      return "Orphan";
    case Propagation::kDefault:
      break;
  }
  return "";
}

}  // namespace

Client::Client(ClusterConfig config, RetryPolicy retry)
    : config_(std::move(config)),
      transport_(std::make_unique<Transport>(config_, retry)),
      discovery_(std::make_unique<Discovery>(transport_.get())) {}

Client::~Client() = default;

Result<ResourceInfo> Client::resolve(const std::string& api_version, const std::string& kind) {
  return discovery_->resolve(api_version, kind);
}

Result<Client::Target> Client::target(const ObjectRef& ref, const std::string& default_namespace,
                                      const std::string& action) {
  Target t;
  t.ref = ref;
  Result<ResourceInfo> info = resolve(ref.api_version, ref.kind);
  if (!info) return info.status().with_context(action + " " + describe(ref));
  t.info = std::move(*info);
  if (!t.info.namespaced) {
    t.ref.namespace_.clear();
  } else if (t.ref.namespace_.empty()) {
    t.ref.namespace_ = default_namespace.empty() ? config_.namespace_ : default_namespace;
  }
  t.context = action + " " + describe(t.ref);
  t.collection = collection_path(t.info, t.ref.namespace_);
  if (!t.ref.name.empty()) t.path = t.collection + "/" + net::url_escape(t.ref.name);
  return t;
}

Result<std::string> Client::get_text(const std::string& path, const std::string& context) {
  ApiCall call;
  call.path = path;
  call.context = context;
  auto response = transport_->call(call);
  if (!response) return response.status();
  return std::move(response->body);
}

Result<nlohmann::json> Client::send_object(const Target& t, ApiCall call) {
  call.context = t.context;
  Result<net::Response> got = transport_->call(call);
  if (!got) return got.status();
  auto object = parse_json<nlohmann::json>(got->body, t.context + ": the API server's answer");
  if (!object) return Status(Code::kUnavailable, object.status().message());
  return object;
}

Result<nlohmann::json> Client::get(const ObjectRef& ref, const std::string& default_namespace) {
  Result<Target> t = target(ref, default_namespace, "get");
  if (!t) return t.status();
  if (t->path.empty()) return invalid(t->context + ": no name given");
  ApiCall call;
  call.path = t->path;
  return send_object(*t, call);
}

namespace {

// The object with its namespace as the request has it ("" for a cluster-scoped kind).
std::string body_in_namespace(const nlohmann::json& object, const std::string& ns) {
  if (ns.empty() || !object.is_object()) return object.dump();
  nlohmann::json copy = object;
  copy["metadata"]["namespace"] = ns;
  return copy.dump();
}

}  // namespace

Result<nlohmann::json> Client::create(const nlohmann::json& object, const std::string& default_namespace) {
  ObjectRef ref = ref_of(object);
  if (ref.name.empty() && object.is_object() && object.contains("metadata") && object["metadata"].is_object()) {
    ref.name = object["metadata"].value("generateName", "");
    if (!ref.name.empty()) ref.name += "*";
  }
  Result<Target> t = target(ref, default_namespace, "create");
  if (!t) return t.status();
  ApiCall call;
  call.method = "POST";
  call.path = t->collection;
  call.body = body_in_namespace(object, t->ref.namespace_);
  call.repeatable = false;
  return send_object(*t, call);
}

Result<nlohmann::json> Client::replace(const nlohmann::json& object, const std::string& default_namespace) {
  Result<Target> t = target(ref_of(object), default_namespace, "replace");
  if (!t) return t.status();
  if (t->path.empty()) return invalid(t->context + ": the object has no metadata.name");
  ApiCall call;
  call.method = "PUT";
  call.path = t->path;
  call.body = body_in_namespace(object, t->ref.namespace_);
  return send_object(*t, call);
}

Result<nlohmann::json> Client::apply(const nlohmann::json& object, const std::string& default_namespace,
                                     const ApplyOptions& options) {
  Result<Target> t = target(ref_of(object), default_namespace, "apply");
  if (!t) return t.status();
  if (t->path.empty()) return invalid(t->context + ": server-side apply needs metadata.name (not generateName)");
  if (options.field_manager.empty()) return invalid(t->context + ": server-side apply needs a field manager");
  ApiCall call;
  call.method = "PATCH";
  call.path = t->path + "?fieldManager=" + net::url_escape(options.field_manager);
  if (options.force) call.path += "&force=true";
  call.body = body_in_namespace(object, t->ref.namespace_);  // JSON is YAML
  call.content_type = "application/apply-patch+yaml";
  return send_object(*t, call);
}

Result<nlohmann::json> Client::patch(const ObjectRef& ref, const std::string& default_namespace, PatchType type,
                                     const std::string& patch_json) {
  Result<Target> t = target(ref, default_namespace, "patch");
  if (!t) return t.status();
  if (t->path.empty()) return invalid(t->context + ": no name given");
  ApiCall call;
  call.method = "PATCH";
  call.path = t->path;
  call.body = patch_json;
  call.content_type = content_type(type);
  call.repeatable = type != PatchType::kJson;  // an "add" to a list twice adds twice
  return send_object(*t, call);
}

Status Client::remove(const ObjectRef& ref, const std::string& default_namespace, const DeleteOptions& options) {
  Result<Target> t = target(ref, default_namespace, "delete");
  if (!t) return t.status();
  if (t->path.empty()) return invalid(t->context + ": no name given");
  nlohmann::json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  if (options.propagation != Propagation::kDefault) body["propagationPolicy"] = propagation_name(options.propagation);
  if (options.grace_period_seconds >= 0) body["gracePeriodSeconds"] = options.grace_period_seconds;
  ApiCall call;
  call.method = "DELETE";
  call.path = t->path;
  call.body = body.dump();
  call.context = t->context;
  Result<net::Response> got = transport_->call(call);
  return got ? Status::ok() : got.status();
}

Status retry_on_conflict(const std::function<Status()>& fn, int attempts) {
  Status s;
  for (int i = 1; i <= attempts; ++i) {
    s = fn();
    if (s.code() != Code::kConflict || i == attempts) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10 * i));
  }
  return s;
}

}  // namespace skiff::kube
