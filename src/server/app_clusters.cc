#include "server/app_clusters.h"

#include <nlohmann/json.hpp>

#include "runtime/secret_store.h"
#include "server/app_routes.h"
#include "util/base64.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {

using KJson = nlohmann::json;

// The secret's config as a kube::ClusterConfig.
Result<kube::ClusterConfig> cluster_config(const std::string& secret, const std::string& server, const std::string& config) {
  std::string where = "cluster secret " + std::string(kArgoCdNamespace) + "/" + secret;
  KJson c = parse_json_or_discarded<KJson>(config);
  if (!c.is_object()) return invalid(where + ": config is not a JSON object; see Argo CD's cluster secret format");
  for (const char* unsupported : {"execProviderConfig", "awsAuthConfig"})
    if (c.contains(unsupported))
      return invalid(where + ": config." + unsupported + " is not supported by skiff; give a bearerToken or client certificate");
  kube::ClusterConfig out;
  out.server = server;
  out.source = where;
  auto text = [&](const KJson& j, const char* key) -> Result<std::string> {
    if (!j.contains(key) || j[key].is_null()) return std::string();
    if (!j[key].is_string()) return invalid(where + ": config." + key + " must be a string");
    return j[key].get<std::string>();
  };
  auto token = text(c, "bearerToken");
  auto user = text(c, "username");
  auto password = text(c, "password");
  if (!token || !user || !password) return !token ? token.status() : !user ? user.status() : password.status();
  out.bearer_token = *token;
  out.username = *user;
  out.password = *password;
  const KJson tls = object_member(c, "tlsClientConfig");
  out.tls.insecure_skip_verify = tls.value("insecure", false) == true;
  struct Field {
    const char* key;
    std::string* to;
  };
  for (Field f : {Field{"caData", &out.tls.ca_pem}, Field{"certData", &out.tls.cert_pem}, Field{"keyData", &out.tls.key_pem}}) {
    auto encoded = text(tls, f.key);
    if (!encoded) return encoded.status();
    if (encoded->empty()) continue;
    auto pem = base64_decode(*encoded);
    if (!pem) return invalid(where + ": config.tlsClientConfig." + f.key + " is not base64");
    *f.to = std::move(*pem);
  }
  return out;
}

}  // namespace

Result<std::shared_ptr<kube::Client>> ClusterSecrets::find(const std::string& server, const std::string& name) {
  for (const auto& [secret, object] : runtime::list_config_objects(data_dir_, runtime::ConfigKind::kSecret, kArgoCdNamespace)) {
    auto get = [&](const char* key) {
      auto it = object.data.find(key);
      return it == object.data.end() ? std::string() : it->second;
    };
    auto label = object.labels.find(kSecretTypeLabel);
    bool labelled = label != object.labels.end() && label->second == "cluster";
    if (get("server").empty() || (!labelled && !object.data.count("config"))) continue;
    std::string cluster_name = get("name").empty() ? get("server") : get("name");
    if (server.empty() ? cluster_name != name : get("server") != server) continue;
    std::string fingerprint = get("server") + '\n' + get("config");
    std::lock_guard<std::mutex> lock(mu_);
    auto& cached = clients_[secret];
    if (cached.second && cached.first == fingerprint) return cached.second;
    auto config = cluster_config(secret, get("server"), get("config"));
    if (!config) return config.status();
    cached = {fingerprint, std::make_shared<kube::Client>(std::move(*config))};
    return cached.second;
  }
  return not_found(server.empty() ? "there are no clusters with this name: " + name
                                  : "there are no clusters with this URL: " + server);
}

}  // namespace skiff::server
