// Registry settings: mirrors, docker config.json credentials, skiff's registries file
// (runtime/registry.h).
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "runtime/fd.h"
#include "runtime/registry.h"
#include "util/base64.h"
#include "util/strings.h"

namespace skiff::runtime {

using Json = nlohmann::json;

std::string registry_host(std::string url) {
  if (size_t scheme = url.find("://"); scheme != std::string::npos) url = url.substr(scheme + 3);
  if (size_t slash = url.find('/'); slash != std::string::npos) url.resize(slash);
  if (url == "index.docker.io" || url == "registry-1.docker.io") return "docker.io";
  return url;
}

Status add_mirror(RegistryConfig* config, const std::string& spec) {
  size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
    return invalid("--registry-mirror \"" + spec + "\": expected REGISTRY=URL[,URL], e.g. docker.io=https://mirror.local");
  }
  std::string registry = registry_host(spec.substr(0, eq));
  for (std::string url : split(spec.substr(eq + 1), ',')) {
    url = std::string(trim(url));
    if (url.empty()) continue;
    if (url.find("://") == std::string::npos) url = "https://" + url;
    if (!starts_with(url, "https://") && !starts_with(url, "http://")) {
      return invalid("--registry-mirror \"" + spec + "\": mirror " + url + " must be an http(s) URL");
    }
    while (url.back() == '/') url.pop_back();
    config->mirrors[registry].push_back(url);
  }
  return Status::ok();
}

Status load_docker_config_text(RegistryConfig* config, const std::string& text, const std::string& origin) {
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const std::exception& e) {
    return invalid(origin + ": not valid JSON: " + e.what());
  }
  if (!doc.is_object()) return invalid(origin + ": expected a JSON object with \"auths\"");
  if (!doc.contains("auths")) return Status::ok();
  if (!doc["auths"].is_object()) return invalid(origin + ": .auths must be an object keyed by registry host");
  for (auto it = doc["auths"].begin(); it != doc["auths"].end(); ++it) {
    std::string host = registry_host(it.key());
    if (config->auths.count(host)) continue;
    const Json& entry = it.value();
    if (!entry.is_object()) return invalid(origin + ": .auths[\"" + it.key() + "\"] must be an object");
    RegistryCredentials creds;
    if (entry.contains("auth") && entry["auth"].is_string() && !entry["auth"].get<std::string>().empty()) {
      auto decoded = base64_decode(entry["auth"].get<std::string>());
      size_t colon = decoded ? decoded->find(':') : std::string::npos;
      if (!decoded || colon == std::string::npos) {
        return invalid(origin + ": .auths[\"" + it.key() + "\"].auth must be base64 of \"user:password\"");
      }
      creds.username = decoded->substr(0, colon);
      creds.password = decoded->substr(colon + 1);
    } else if (entry.contains("username") && entry["username"].is_string()) {
      creds.username = entry["username"].get<std::string>();
      if (entry.contains("password") && entry["password"].is_string()) creds.password = entry["password"];
    } else {
      continue;  // credential helpers and identity tokens are not supported; the host stays anonymous
    }
    config->auths[host] = std::move(creds);
  }
  return Status::ok();
}

Status load_docker_config(RegistryConfig* config, const std::string& path) {
  auto text = read_file_capped(path, 1 << 20);
  if (!text) return text.status().with_context("docker config " + path);
  return load_docker_config_text(config, *text, path);
}

Status load_registries_file(RegistryConfig* config, const std::string& path) {
  auto text = read_file_capped(path, 1 << 20);
  if (!text) return text.status().with_context("registries file " + path);
  YAML::Node doc;
  try {
    doc = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return invalid(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (doc.IsNull()) return Status::ok();
  if (!doc.IsMap()) return invalid(path + ": expected a map with `mirrors` and `registries`");
  auto where = [&](const YAML::Node& n) { return path + ":" + std::to_string(n.Mark().line + 1); };
  for (auto top : doc) {
    std::string key = top.first.as<std::string>();
    if (key == "mirrors") {
      if (!top.second.IsMap()) return invalid(where(top.second) + ": mirrors must map a registry to a list of URLs");
      for (auto m : top.second) {
        std::string urls;
        if (m.second.IsSequence()) {
          for (auto u : m.second) urls += (urls.empty() ? "" : ",") + u.as<std::string>();
        } else if (m.second.IsScalar()) {
          urls = m.second.as<std::string>();
        } else {
          return invalid(where(m.second) + ": mirrors." + m.first.as<std::string>() + " must be a URL or a list of URLs");
        }
        if (Status s = add_mirror(config, m.first.as<std::string>() + "=" + urls); !s) {
          return s.with_context(where(m.second));
        }
      }
    } else if (key == "registries") {
      if (!top.second.IsMap()) return invalid(where(top.second) + ": registries must map a host to its settings");
      for (auto r : top.second) {
        std::string host = registry_host(r.first.as<std::string>());
        if (!r.second.IsMap()) return invalid(where(r.second) + ": registries." + host + " must be a map");
        RegistryHostConfig& hc = config->hosts[host];
        for (auto field : r.second) {
          std::string name = field.first.as<std::string>();
          if (name == "ca") {
            hc.ca_file = field.second.as<std::string>();
          } else if (name == "plainHTTP") {
            hc.plain_http = field.second.as<bool>();
          } else {
            return invalid(where(field.first) + ": unknown field registries." + host + "." + name +
                           " (known: ca, plainHTTP)");
          }
        }
      }
    } else {
      std::string near = nearest(key, {"mirrors", "registries"});
      return invalid(where(top.first) + ": unknown field `" + key + "`" +
                     (near.empty() ? "" : " (did you mean `" + near + "`?)"));
    }
  }
  return Status::ok();
}

}  // namespace skiff::runtime
