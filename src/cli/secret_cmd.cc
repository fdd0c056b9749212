// skiff secret|configmap create|ls|rm: the store that steps read through secret and
// configMap volumes, env valueFrom/envFrom and imagePullSecrets — the local one (--data),
// or a server's through its API when -s/--argo-server is given. Values are never printed.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "runtime/fd.h"
#include "runtime/registry.h"
#include "runtime/secret_store.h"
#include "util/base64.h"

namespace skiff::cli {
namespace {

using runtime::ConfigKind;

struct SecretFlags {
  std::vector<std::string> args;  // [generic|docker-registry] NAME
  std::vector<std::string> literals;
  std::vector<std::string> files;
  std::string namespace_ = "default";
  std::string data_dir;
  std::string docker_server, docker_username, docker_password, docker_email;
  bool replace = false;
  Connection conn = connection_from_env();  // used when conn.server is set
};

bool remote(const SecretFlags& f) { return !f.conn.server.empty(); }

std::string api_path(ConfigKind kind, const SecretFlags& f) {
  return std::string("/api/v1/") + (kind == ConfigKind::kSecret ? "secrets/" : "configmaps/") + f.namespace_;
}

// Through the server: values go base64 in `data`, as Kubernetes takes them.
Status create_remote(ConfigKind kind, const SecretFlags& f, const std::string& name, const runtime::ConfigObject& obj) {
  ApiClient api(f.conn);
  Json o = {{"metadata", {{"name", name}}}, {"data", Json::object()}};
  if (kind == ConfigKind::kSecret) o["type"] = obj.type;
  for (const auto& [k, v] : obj.data) o["data"][k] = kind == ConfigKind::kSecret ? base64_encode(v) : v;
  Json body = {{kind == ConfigKind::kSecret ? "secret" : "configMap", o}};
  auto r = f.replace ? api.call("PUT", api_path(kind, f) + "/" + name, &body) : api.call("POST", api_path(kind, f), &body);
  return r.status();
}

std::string data_of(const SecretFlags& f) { return f.data_dir.empty() ? default_data_dir() : f.data_dir; }

int fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return s.code() == Code::kInvalid ? kExitInvalid : kExitFailed;
}

// A dockerconfigjson secret holds one key, .dockerconfigjson, a config.json with "auths".
Status check_docker_config(const runtime::ConfigObject& obj) {
  for (const auto& [key, value] : obj.data) {
    if (key != ".dockerconfigjson") {
      return invalid("a docker-registry secret holds only the key .dockerconfigjson, not \"" + key +
                     "\": give --from-file .dockerconfigjson=PATH");
    }
    nlohmann::json doc = nlohmann::json::parse(value, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("auths") || !doc["auths"].is_object()) {
      return invalid(".dockerconfigjson: not a docker config.json (a JSON object with an \"auths\" object)");
    }
  }
  return Status::ok();
}

int create(ConfigKind kind, const SecretFlags& f) {
  std::vector<std::string> args = f.args;
  std::string type = "generic";
  if (args.size() == 2 && (args[0] == "generic" || args[0] == "docker-registry")) {
    type = args[0];
    args.erase(args.begin());
  }
  if (args.size() != 1) {
    return fail(invalid(fmt::format("expected `skiff {} create [generic{}] NAME`", runtime::kind_name(kind),
                                    kind == ConfigKind::kSecret ? "|docker-registry" : "")));
  }
  if (type == "docker-registry" && kind != ConfigKind::kSecret) return fail(invalid("docker-registry is a secret type"));
  runtime::ConfigObject obj;
  // As kubectl: a docker-registry secret from a config.json already written
  // (--from-file .dockerconfigjson=PATH) needs none of the --docker-* flags.
  bool from_config_file = type == "docker-registry" && f.docker_server.empty() && f.docker_username.empty() &&
                          f.docker_password.empty() && !f.files.empty();
  if (type == "docker-registry" && !from_config_file) {
    if (f.docker_server.empty() || f.docker_username.empty() || f.docker_password.empty()) {
      return fail(invalid("docker-registry secrets need --docker-server, --docker-username and --docker-password, "
                          "or --from-file .dockerconfigjson=PATH"));
    }
    // As kubectl writes it: `auth` is what docker-credential readers (BuildKit, containerd) use.
    nlohmann::json entry = {{"username", f.docker_username},
                            {"password", f.docker_password},
                            {"auth", base64_encode(f.docker_username + ":" + f.docker_password)}};
    if (!f.docker_email.empty()) entry["email"] = f.docker_email;
    obj.type = "kubernetes.io/dockerconfigjson";
    obj.data[".dockerconfigjson"] = nlohmann::json({{"auths", {{f.docker_server, entry}}}}).dump();
  }
  for (const auto& lit : f.literals) {
    size_t eq = lit.find('=');
    if (eq == std::string::npos || eq == 0) return fail(invalid("--from-literal \"" + lit + "\": expected KEY=VALUE"));
    obj.data[lit.substr(0, eq)] = lit.substr(eq + 1);
  }
  for (const auto& spec : f.files) {
    size_t eq = spec.find('=');
    std::string path = eq == std::string::npos ? spec : spec.substr(eq + 1);
    std::string key = eq == std::string::npos ? path.substr(path.find_last_of('/') + 1) : spec.substr(0, eq);
    auto content = runtime::read_file_capped(path, 1 << 20);
    if (!content) return fail(content.status().with_context("--from-file"));
    obj.data[key] = std::move(*content);
  }
  if (obj.data.empty()) return fail(invalid("nothing to store: give --from-literal or --from-file"));
  if (from_config_file) {
    obj.type = "kubernetes.io/dockerconfigjson";
    if (Status s = check_docker_config(obj); !s) return fail(s);
  }
  Status s = remote(f) ? create_remote(kind, f, args[0], obj)
                       : runtime::write_config_object(data_of(f), kind, f.namespace_, args[0], obj, f.replace);
  if (!s) return fail(s);
  std::printf("%s/%s created\n", runtime::kind_name(kind), args[0].c_str());
  return kExitOk;
}

int list(ConfigKind kind, const SecretFlags& f) {
  std::map<std::string, runtime::ConfigObject> objects;
  if (remote(f)) {
    ApiClient api(f.conn);
    auto page = api.call("GET", api_path(kind, f));
    if (!page) return fail(page.status());
    for (const auto& item : page->value("items", Json::array())) {
      runtime::ConfigObject& obj = objects[item["metadata"].value("name", "")];
      obj.type = item.value("type", "");
      for (const auto& k : item.value("keys", Json::array())) obj.data[k.get<std::string>()];
      const Json data = item.value("data", Json::object());  // named: items() would outlive a temporary
      for (const auto& [k, v] : data.items()) obj.data[k];
    }
  } else {
    objects = runtime::list_config_objects(data_of(f), kind, f.namespace_);
  }
  std::printf("%-40s %-34s %s\n", "NAME", "TYPE", "KEYS");
  for (const auto& [name, obj] : objects) {
    std::string keys;
    for (const auto& [k, v] : obj.data) keys += (keys.empty() ? "" : ",") + k;
    std::printf("%-40s %-34s %s\n", name.c_str(), kind == ConfigKind::kSecret ? obj.type.c_str() : "-", keys.c_str());
  }
  return kExitOk;
}

int remove(ConfigKind kind, const SecretFlags& f) {
  int rc = kExitOk;
  for (const auto& name : f.args) {
    Status s = remote(f) ? ApiClient(f.conn).call("DELETE", api_path(kind, f) + "/" + name).status()
                         : runtime::delete_config_object(data_of(f), kind, f.namespace_, name);
    if (!s) {
      rc = fail(s);
    } else {
      std::printf("%s/%s deleted\n", runtime::kind_name(kind), name.c_str());
    }
  }
  return rc;
}

void add_kind(CLI::App& app, int* exit_code, ConfigKind kind) {
  auto f = std::make_shared<SecretFlags>();
  bool secret = kind == ConfigKind::kSecret;
  auto* cmd = app.add_subcommand(runtime::kind_name(kind), secret ? "manage local secrets" : "manage local config maps");
  cmd->require_subcommand(1);
  auto common = [&](CLI::App* sub) {
    sub->add_option("-n,--namespace", f->namespace_, "namespace (default \"default\")");
    sub->add_option("--data", f->data_dir, "data directory (default $SKIFF_DATA or ~/.local/state/skiff)");
    add_connection_flags(sub, f->conn);
  };
  auto* c = cmd->add_subcommand("create", secret ? "create a secret: [generic|docker-registry] NAME" : "create a config map");
  c->add_option("args", f->args, "[generic|docker-registry] NAME")->required();
  c->add_option("--from-literal", f->literals, "KEY=VALUE")->allow_extra_args(false);
  c->add_option("--from-file", f->files, "[KEY=]PATH (the key defaults to the file's name)")->allow_extra_args(false);
  c->add_flag("--replace", f->replace, "replace an existing one");
  if (secret) {
    c->add_option("--docker-server", f->docker_server, "registry host, e.g. registry.local:5000");
    c->add_option("--docker-username", f->docker_username, "registry user");
    c->add_option("--docker-password", f->docker_password, "registry password");
    c->add_option("--docker-email", f->docker_email, "registry e-mail (optional)");
  }
  common(c);
  c->callback([f, exit_code, kind] { *exit_code = create(kind, *f); });
  auto* l = cmd->add_subcommand("ls", "list names, types and keys (never values)");
  common(l);
  l->callback([f, exit_code, kind] { *exit_code = list(kind, *f); });
  auto* r = cmd->add_subcommand("rm", "delete");
  r->add_option("names", f->args, "names")->required();
  common(r);
  r->callback([f, exit_code, kind] { *exit_code = remove(kind, *f); });
}

}  // namespace

void add_secret_commands(CLI::App& app, int* exit_code) {
  add_kind(app, exit_code, ConfigKind::kSecret);
  add_kind(app, exit_code, ConfigKind::kConfigMap);
}

}  // namespace skiff::cli
