#include "server/config_routes.h"

#include "runtime/secret_store.h"
#include "server/http_util.h"
#include "util/base64.h"

namespace skiff::server {
namespace {

using runtime::ConfigKind;

constexpr size_t kMaxValues = 1 << 20;  // all values of one object, as Kubernetes' 1 MiB

Json describe(ConfigKind kind, const std::string& ns, const std::string& name, const runtime::ConfigObject& obj) {
  Json j = {{"apiVersion", "v1"},
            {"kind", kind == ConfigKind::kSecret ? "Secret" : "ConfigMap"},
            {"metadata", {{"name", name}, {"namespace", ns}}}};
  if (!obj.labels.empty()) j["metadata"]["labels"] = obj.labels;
  if (!obj.annotations.empty()) j["metadata"]["annotations"] = obj.annotations;
  Json keys = Json::array();
  for (const auto& [k, v] : obj.data) keys.push_back(k);
  if (kind == ConfigKind::kSecret) {
    j["type"] = obj.type;
    j["keys"] = keys;  // never the values
  } else {
    Json data = Json::object();
    for (const auto& [k, v] : obj.data) data[k] = v;
    j["data"] = data;
  }
  return j;
}

// The object in the body: data (base64) and stringData (text) merged, as kubectl does.
Result<std::pair<std::string, runtime::ConfigObject>> decode(ConfigKind kind, const httplib::Request& req) {
  auto body = parse_body(req);
  if (!body) return body.status();
  const char* field = kind == ConfigKind::kSecret ? "secret" : "configMap";
  if (!body->contains(field) || !(*body)[field].is_object()) {
    return invalid(std::string("the request body has no \"") + field + "\" object");
  }
  const Json& o = (*body)[field];
  std::string name = o.value("metadata", Json::object()).value("name", "");
  if (Status st = check_name(std::string(field) + ".metadata.name", name); !st) return st;
  runtime::ConfigObject obj;
  if (kind == ConfigKind::kSecret) obj.type = o.value("type", "Opaque");
  size_t total = 0;
  const Json& meta = o.contains("metadata") && o["metadata"].is_object() ? o["metadata"] : Json::object();
  for (auto [part, to] : {std::pair{"labels", &obj.labels}, std::pair{"annotations", &obj.annotations}}) {
    if (!meta.contains(part)) continue;
    if (!meta[part].is_object()) return invalid(std::string(field) + ".metadata." + part + " must be an object of key: value");
    for (const auto& [k, v] : meta[part].items()) {
      if (!v.is_string()) return invalid(std::string(field) + ".metadata." + part + "." + k + " must be a string");
      total += k.size() + v.get<std::string>().size();
      (*to)[k] = v.get<std::string>();
    }
  }
  for (const char* part : {"data", "stringData"}) {
    if (!o.contains(part)) continue;
    if (!o[part].is_object()) return invalid(std::string(field) + "." + part + " must be an object of key: value");
    for (const auto& [k, v] : o[part].items()) {
      std::string where = std::string(field) + "." + part + "." + k;
      if (Status st = runtime::check_data_key(where, k); !st) return st;
      if (!v.is_string()) return invalid(where + " must be a string");
      std::string value = v.get<std::string>();
      if (std::string(part) == "data" && kind == ConfigKind::kSecret) {
        auto raw = base64_decode(value);
        if (!raw) return invalid(where + " is not base64 (put plain text in stringData)");
        value = std::move(*raw);
      }
      total += value.size();
      obj.data[k] = std::move(value);
    }
  }
  if (total > kMaxValues) return invalid(std::string(field) + ": values exceed 1 MiB");
  if (obj.data.empty()) return invalid(std::string(field) + " has no data or stringData");
  return std::make_pair(name, std::move(obj));
}

void add_kind(httplib::Server& s, const std::string& data_dir, ConfigKind kind) {
  std::string base = std::string("/api/v1/") + (kind == ConfigKind::kSecret ? "secrets" : "configmaps");
  std::string collection = base + "/([^/]+)", item = collection + "/([^/]+)";
  auto write = [=](const httplib::Request& req, httplib::Response& res, bool replace) {
    std::string ns = req.matches[1];
    if (Status st = check_name("namespace", ns); !st) return fail(res, st);
    auto obj = decode(kind, req);
    if (!obj) return fail(res, obj.status());
    if (replace && obj->first != req.matches[2]) {
      return fail(res, invalid("metadata.name \"" + obj->first + "\" is not " + std::string(req.matches[2])));
    }
    if (replace) {
      if (auto old = runtime::read_config_object(data_dir, kind, ns, obj->first); !old) return fail(res, old.status());
    }
    if (Status st = runtime::write_config_object(data_dir, kind, ns, obj->first, obj->second, replace); !st) {
      return fail(res, st);
    }
    reply(res, 200, describe(kind, ns, obj->first, obj->second));
  };
  s.Post(collection, [=](const httplib::Request& req, httplib::Response& res) { write(req, res, false); });
  s.Put(item, [=](const httplib::Request& req, httplib::Response& res) { write(req, res, true); });
  s.Get(collection, [=](const httplib::Request& req, httplib::Response& res) {
    std::string ns = req.matches[1];
    if (Status st = check_name("namespace", ns); !st) return fail(res, st);
    Json items = Json::array();
    for (const auto& [name, obj] : runtime::list_config_objects(data_dir, kind, ns)) {
      items.push_back(describe(kind, ns, name, obj));
    }
    reply(res, 200, {{"metadata", Json::object()}, {"items", items}});
  });
  s.Get(item, [=](const httplib::Request& req, httplib::Response& res) {
    std::string ns = req.matches[1], name = req.matches[2];
    if (Status st = check_name("namespace", ns); !st) return fail(res, st);
    auto obj = runtime::read_config_object(data_dir, kind, ns, name);
    if (!obj) return fail(res, obj.status());
    reply(res, 200, describe(kind, ns, name, *obj));
  });
  s.Delete(item, [=](const httplib::Request& req, httplib::Response& res) {
    std::string ns = req.matches[1];
    if (Status st = check_name("namespace", ns); !st) return fail(res, st);
    if (Status st = runtime::delete_config_object(data_dir, kind, ns, req.matches[2]); !st) return fail(res, st);
    reply(res, 200, Json::object());
  });
}

}  // namespace

void add_config_routes(httplib::Server& server, const std::string& data_dir) {
  add_kind(server, data_dir, ConfigKind::kSecret);
  add_kind(server, data_dir, ConfigKind::kConfigMap);
}

}  // namespace skiff::server
