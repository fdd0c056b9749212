#include "kube/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <thread>

#include "util/base64.h"
#include "util/json_text.h"
#include "util/strings.h"

namespace skiff::kube {
namespace {

constexpr size_t kMaxKubeconfigBytes = 4 << 20;
constexpr size_t kMaxCredentialBytes = 1 << 20;  // a token, certificate or namespace file
constexpr int kMaxBracketDepth = 256;
constexpr auto kParseTimeout = std::chrono::seconds(5);
constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

Result<std::string> read_capped(const std::string& path, size_t cap, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(what + " " + path + ": cannot read it (no such file, or not readable)");
  std::string data(cap + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  if (data.size() > cap) {
    return invalid(what + " " + path + ": larger than " + std::to_string(cap >> 10) + " KiB; refusing to read it");
  }
  return data;
}

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string resolve_path(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return dir + "/" + path;
}

// yaml-cpp 0.7 recurses per nesting level and loops forever on some malformed input: the
// text is checked first and parsed on a helper thread that is abandoned after a deadline.
Result<YAML::Node> parse_yaml(const std::string& text, const std::string& where) {
  if (size_t bad = invalid_utf8_at(text); bad != std::string::npos) {
    return invalid(where + ": not UTF-8 text (an invalid byte at offset " + std::to_string(bad) + ")");
  }
  int depth = 0;
  for (char ch : text) {
    if (static_cast<unsigned char>(ch) < 0x20 && ch != '\n' && ch != '\r' && ch != '\t') {
      return invalid(where + ": holds a control character; a kubeconfig is YAML text");
    }
    if (ch == '[' || ch == '{') {
      if (++depth > kMaxBracketDepth) return invalid(where + ": nested too deeply to be a kubeconfig");
    } else if ((ch == ']' || ch == '}') && depth > 0) {
      --depth;
    }
  }
  struct Parse {
    std::string text;
    YAML::Node root;
    std::string error;
    std::promise<void> done;
  };
  auto parse = std::make_shared<Parse>();
  parse->text = text;
  std::future<void> finished = parse->done.get_future();
  std::thread([parse] {
    try {
      parse->root = YAML::Load(parse->text);
    } catch (const YAML::Exception& e) {
      parse->error = "line " + std::to_string(e.mark.line + 1) + ": " + e.msg;
    } catch (const std::exception& e) {
      parse->error = e.what();
    }
    parse->done.set_value();
  }).detach();
  if (finished.wait_for(kParseTimeout) != std::future_status::ready) {
    return invalid(where + ": the YAML parser gave up on it; check its syntax");
  }
  if (!parse->error.empty()) return invalid(where + ": invalid YAML at " + parse->error);
  return parse->root;
}

// Reads a kubeconfig's maps and lists, naming the file and the key in every error.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)), dir_(dir_of(path_)) {}

  Status error(const std::string& what) const { return invalid("kubeconfig " + path_ + ": " + what); }

  // The string at `node[key]` ("" when absent); an error when it is not a scalar.
  Result<std::string> scalar(const YAML::Node& node, const std::string& key, const std::string& where) const {
    YAML::Node value = node[key];
    if (!value || value.IsNull()) return std::string();
    if (!value.IsScalar()) return error(where + ": \"" + key + "\" should be a string");
    return value.Scalar();
  }

  // The entry of list `list` ("clusters", "users", "contexts") named `name`: its `field`.
  Result<YAML::Node> named(const YAML::Node& root, const std::string& list, const std::string& field,
                           const std::string& name, const std::string& referrer) const {
    YAML::Node entries = root[list];
    if (entries && !entries.IsNull() && !entries.IsSequence()) return error("\"" + list + "\" should be a list");
    if (entries && entries.IsSequence()) {
      for (const YAML::Node& entry : entries) {
        if (!entry.IsMap()) return error("an entry of \"" + list + "\" should be a map");
        Result<std::string> entry_name = scalar(entry, "name", list);
        if (!entry_name) return entry_name.status();
        if (*entry_name != name) continue;
        YAML::Node body = entry[field];
        if (body && !body.IsNull() && !body.IsMap()) {
          return error(list + " \"" + name + "\": \"" + field + "\" should be a map");
        }
        return body ? body : YAML::Node(YAML::NodeType::Map);
      }
    }
    return error(referrer + ", which is not defined");
  }

  // `data_key` (base64 PEM) wins over `file_key` (a path, relative to the kubeconfig's directory).
  Status pem(const YAML::Node& node, const std::string& where, const std::string& data_key,
             const std::string& file_key, std::string* pem_out, std::string* file_out) const {
    Result<std::string> data = scalar(node, data_key, where);
    if (!data) return data.status();
    if (!data->empty()) {
      Result<std::string> decoded = base64_decode(*data);
      if (!decoded) return error(where + ": \"" + data_key + "\" is not base64: " + decoded.status().message());
      *pem_out = std::move(*decoded);
      return Status::ok();
    }
    Result<std::string> file = scalar(node, file_key, where);
    if (!file) return file.status();
    *file_out = resolve_path(dir_, *file);
    if (!file_out->empty() && !file_exists(*file_out)) {
      return error(where + ": \"" + file_key + "\" names " + *file_out + ", which cannot be read");
    }
    return Status::ok();
  }

  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string path_, dir_;
};

Status read_cluster(const Reader& r, const YAML::Node& cluster, const std::string& name, ClusterConfig* out) {
  std::string where = "cluster \"" + name + "\"";
  Result<std::string> server = r.scalar(cluster, "server", where);
  if (!server) return server.status();
  if (server->empty()) return r.error(where + " has no \"server\" (the API server's https:// address)");
  if (!starts_with(*server, "https://") && !starts_with(*server, "http://")) {
    return r.error(where + ": server \"" + *server + "\" should start with https:// or http://");
  }
  out->server = *server;
  while (!out->server.empty() && out->server.back() == '/') out->server.pop_back();
  if (Status s = r.pem(cluster, where, "certificate-authority-data", "certificate-authority", &out->tls.ca_pem,
                       &out->tls.ca_file);
      !s) {
    return s;
  }
  Result<std::string> insecure = r.scalar(cluster, "insecure-skip-tls-verify", where);
  if (!insecure) return insecure.status();
  out->tls.insecure_skip_verify = *insecure == "true";
  return Status::ok();
}

Status read_user(const Reader& r, const YAML::Node& user, const std::string& name, ClusterConfig* out) {
  std::string where = "user \"" + name + "\"";
  for (const char* plugin : {"exec", "auth-provider"}) {
    if (user[plugin]) {
      return r.error(where + " authenticates with an " + std::string(plugin) +
                     " plugin, which skiff does not support; use a client certificate or a token "
                     "(e.g. a service account's: kubectl create token NAME)");
    }
  }
  if (Status s = r.pem(user, where, "client-certificate-data", "client-certificate", &out->tls.cert_pem,
                       &out->tls.cert_file);
      !s) {
    return s;
  }
  if (Status s = r.pem(user, where, "client-key-data", "client-key", &out->tls.key_pem, &out->tls.key_file); !s) {
    return s;
  }
  Result<std::string> token = r.scalar(user, "token", where);
  Result<std::string> token_file = r.scalar(user, "tokenFile", where);
  Result<std::string> username = r.scalar(user, "username", where);
  Result<std::string> password = r.scalar(user, "password", where);
  for (const auto* field : {&token, &token_file, &username, &password}) {
    if (!*field) return field->status();
  }
  out->bearer_token = *token;
  if (out->bearer_token.empty() && !token_file->empty()) {
    Result<std::string> data = read_capped(resolve_path(r.dir(), *token_file), kMaxCredentialBytes,
                                           "kubeconfig " + r.path() + ": " + where + ": tokenFile");
    if (!data) return data.status();
    out->bearer_token = std::string(trim(*data));
  }
  out->username = *username;
  out->password = *password;
  return Status::ok();
}

}  // namespace

Result<ClusterConfig> load_kubeconfig(const std::string& path, const std::string& context) {
  Result<std::string> text = read_capped(path, kMaxKubeconfigBytes, "kubeconfig");
  if (!text) return text.status();
  Result<YAML::Node> parsed = parse_yaml(*text, "kubeconfig " + path);
  if (!parsed) return parsed.status();
  const YAML::Node& root = *parsed;
  Reader r(path);
  if (!root.IsMap()) return r.error("not a kubeconfig (expected a map with clusters, users and contexts)");

  ClusterConfig out;
  out.source = path;
  out.context = context;
  if (out.context.empty()) {
    Result<std::string> current = r.scalar(root, "current-context", "the file");
    if (!current) return current.status();
    out.context = *current;
  }
  if (out.context.empty()) {
    return r.error("no current-context, and no context was given; set one with kubectl config use-context NAME");
  }
  Result<YAML::Node> ctx = r.named(root, "contexts", "context", out.context, "context \"" + out.context + "\"");
  if (!ctx) return Status(Code::kNotFound, ctx.status().message());
  std::string where = "context \"" + out.context + "\"";
  Result<std::string> cluster_name = r.scalar(*ctx, "cluster", where);
  Result<std::string> user_name = r.scalar(*ctx, "user", where);
  Result<std::string> ns = r.scalar(*ctx, "namespace", where);
  for (const auto* field : {&cluster_name, &user_name, &ns}) {
    if (!*field) return field->status();
  }
  if (cluster_name->empty()) return r.error(where + " names no cluster");
  if (!ns->empty()) out.namespace_ = *ns;

  Result<YAML::Node> cluster =
      r.named(root, "clusters", "cluster", *cluster_name, where + " names cluster \"" + *cluster_name + "\"");
  if (!cluster) return cluster.status();
  if (Status s = read_cluster(r, *cluster, *cluster_name, &out); !s) return s;
  if (!user_name->empty()) {
    Result<YAML::Node> user = r.named(root, "users", "user", *user_name, where + " names user \"" + *user_name + "\"");
    if (!user) return user.status();
    if (Status s = read_user(r, *user, *user_name, &out); !s) return s;
  }
  return out;
}

Result<ClusterConfig> in_cluster_config_at(const std::string& account_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port) {
    return not_found("not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set");
  }
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // an IPv6 address
  ClusterConfig out;
  out.server = "https://" + h + ":" + port;
  out.source = "in-cluster";
  std::string what = "the in-cluster service account's";
  Result<std::string> token = read_capped(account_dir + "/token", kMaxCredentialBytes, what + " token");
  if (!token) return token.status();
  out.bearer_token = std::string(trim(*token));
  out.tls.ca_file = account_dir + "/ca.crt";
  if (!file_exists(out.tls.ca_file)) return not_found(what + " CA " + out.tls.ca_file + ": no such file");
  if (Result<std::string> ns = read_capped(account_dir + "/namespace", kMaxCredentialBytes, what + " namespace");
      ns && !trim(*ns).empty()) {
    out.namespace_ = std::string(trim(*ns));
  }
  return out;
}

Result<ClusterConfig> in_cluster_config() { return in_cluster_config_at(kServiceAccountDir); }

Result<ClusterConfig> find_cluster_config(const std::string& explicit_path, const std::string& context) {
  if (!explicit_path.empty()) return load_kubeconfig(explicit_path, context);
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    // kubectl merges every file of the list; skiff takes the first that exists, which is
    // the same for the common one-file case and for lists whose first file is complete.
    for (const std::string& path : split(env, ':')) {
      if (!path.empty() && file_exists(path)) return load_kubeconfig(path, context);
    }
    return not_found("KUBECONFIG is \"" + std::string(env) + "\", but none of its files exists; " +
                     "point it at a kubeconfig file or pass --kubeconfig");
  }
  if (const char* host = std::getenv("KUBERNETES_SERVICE_HOST"); host && *host) return in_cluster_config();
  const char* home = std::getenv("HOME");
  std::string default_path = std::string(home && *home ? home : "") + "/.kube/config";
  if (home && *home && file_exists(default_path)) return load_kubeconfig(default_path, context);
  return not_found("no Kubernetes cluster is configured: pass --kubeconfig FILE, set KUBECONFIG, or write " +
                   default_path);
}

}  // namespace skiff::kube
