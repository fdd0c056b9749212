#include "kube/discovery.h"

#include <nlohmann/json.hpp>

#include <cctype>

#include "kube/transport.h"
#include "util/json_text.h"
#include "util/strings.h"

namespace skiff::kube {
namespace {

const ResourceInfo* find_kind(const std::vector<ResourceInfo>& resources, const std::string& kind) {
  for (const ResourceInfo& r : resources) {
    if (r.kind == kind) return &r;
  }
  return nullptr;
}

}  // namespace

Result<std::vector<ResourceInfo>> Discovery::fetch(const std::string& api_version) {
  size_t slash = api_version.find('/');
  std::string group = slash == std::string::npos ? "" : api_version.substr(0, slash);
  std::string version = slash == std::string::npos ? api_version : api_version.substr(slash + 1);
  ApiCall call;
  call.path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  call.context = "discover the kinds of apiVersion \"" + api_version + "\"";
  Result<net::Response> got = transport_->call(call);
  std::vector<ResourceInfo> out;
  if (!got) {
    if (got.status().code() == Code::kNotFound) return out;  // no such group version
    return got.status();
  }
  auto list = parse_json<nlohmann::json>(got->body, call.context + ": the API server's answer");
  if (!list) return list.status();
  if (!list->is_object() || !list->contains("resources") || !(*list)["resources"].is_array()) {
    return Status(Code::kUnavailable, call.context + ": the API server's answer is not an APIResourceList");
  }
  for (const nlohmann::json& r : (*list)["resources"]) {
    if (!r.is_object()) continue;
    std::string name = r.value("name", "");
    if (name.empty() || name.find('/') != std::string::npos) continue;  // a subresource (pods/log)
    out.push_back({group, version, name, r.value("kind", ""), r.value("namespaced", false)});
  }
  return out;
}

Result<ResourceInfo> Discovery::resolve(const std::string& api_version, const std::string& kind) {
  if (api_version.empty() || kind.empty()) {
    return invalid("an object needs an apiVersion and a kind (got apiVersion \"" + api_version + "\", kind \"" +
                   kind + "\")");
  }
  size_t slash = api_version.find('/');
  bool plain = true;
  for (char c : api_version) plain &= std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '/';
  if (!plain ||
      (slash != std::string::npos && (slash == 0 || slash + 1 == api_version.size() ||
                                      api_version.find('/', slash + 1) != std::string::npos))) {
    return invalid("apiVersion \"" + api_version + "\" is not GROUP/VERSION or VERSION (e.g. apps/v1, v1)");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(api_version);
    if (it != cache_.end()) {
      if (const ResourceInfo* r = find_kind(it->second, kind)) return *r;
    }
  }
  Result<std::vector<ResourceInfo>> fetched = fetch(api_version);
  if (!fetched) return fetched.status();
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ResourceInfo>& resources = cache_[api_version] = std::move(*fetched);
  if (const ResourceInfo* r = find_kind(resources, kind)) return *r;
  std::string message = "no kind \"" + kind + "\" in apiVersion \"" + api_version + "\" on the cluster at " +
                        transport_->server();
  if (resources.empty()) {
    message += " (it serves no apiVersion \"" + api_version + "\")";
  } else {
    std::vector<std::string> kinds;
    for (const ResourceInfo& r : resources) kinds.push_back(r.kind);
    if (std::string near = nearest(kind, kinds); !near.empty()) message += "; did you mean \"" + near + "\"?";
  }
  return not_found(message);
}

std::string collection_path(const ResourceInfo& info, const std::string& ns) {
  std::string path = info.group.empty() ? "/api/" + info.version : "/apis/" + info.group + "/" + info.version;
  if (info.namespaced && !ns.empty()) path += "/namespaces/" + net::url_escape(ns);
  return path + "/" + info.resource;
}

}  // namespace skiff::kube
