#include "server/auth.h"

#include <regex>

#include "server/app_routes.h"
#include "server/tokens.h"
#include "spec/kinds.h"

namespace skiff::server {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of cookie `name` ("" when not sent), percent-escapes decoded.
std::string cookie(const httplib::Request& req, const std::string& name) {
  std::string all = req.get_header_value("Cookie");
  size_t at = 0;
  while (at < all.size()) {
    size_t end = all.find(';', at);
    if (end == std::string::npos) end = all.size();
    std::string part = all.substr(at, end - at);
    while (!part.empty() && part[0] == ' ') part.erase(0, 1);
    if (part.rfind(name + "=", 0) == 0) {
      std::string raw = part.substr(name.size() + 1), value;
      for (size_t i = 0; i < raw.size(); ++i) {
        int hi, lo;
        if (raw[i] == '%' && i + 2 < raw.size() && (hi = hex_digit(raw[i + 1])) >= 0 && (lo = hex_digit(raw[i + 2])) >= 0) {
          value += static_cast<char>(hi * 16 + lo);
          i += 2;
        } else {
          value += raw[i];
        }
      }
      return value;
    }
    at = end + 1;
  }
  return "";
}

}  // namespace

httplib::Server::HandlerResponse authorize(const ServerOptions& options, const httplib::Request& req, httplib::Response& res) {
  using R = httplib::Server::HandlerResponse;
  // Artifact downloads (artifact_routes.h) are outside /api/, and namespaced.
  static const std::regex artifacts("^/(artifact-files|artifacts|input-artifacts)/([^/]+)");
  std::smatch artifact;
  bool artifact_path = std::regex_search(req.path, artifact, artifacts);
  // The webhook's auth is its payload's signature (webhook.h), as in Argo CD.
  if (!options.require_token ||
      (!artifact_path && (req.path.rfind("/api/", 0) != 0 || req.path == "/api/v1/version" || req.path == "/api/webhook")))
    return R::Unhandled;
  std::string header = req.get_header_value("Authorization");
  if (header.empty() && artifact_path) header = cookie(req, "authorization");  // a link the UI made
  if (header.rfind("Bearer ", 0) != 0) {
    reply(res, 401, {{"code", 16}, {"message", "token not valid: send Authorization: Bearer <token> (create one with "
                                               "`skiff token create --namespace NS`)"}});
    return R::Handled;
  }
  auto scope = check_token(options.data_dir, header.substr(7));
  if (!scope) {
    reply(res, 401, {{"code", 16}, {"message", "token not valid"}});
    return R::Handled;
  }
  // Namespaced paths: every namespaced workflow kind's plural (the registry's), and the rest.
  // Argo CD's paths name the namespace in appNamespace (app_routes.h).
  static const std::regex namespaced([] {
    std::string paths = "workflow-events|stream/events|secrets|configmaps";
    for (const spec::KindInfo& k : spec::all_kinds()) {
      if (k.namespaced && spec::is_workflow_kind(k.kind)) paths += std::string("|") + k.plural;
    }
    return "^/api/v1/(" + paths + ")/([^/]+)";
  }());
  auto cluster_scoped = [&req] {
    for (const spec::KindInfo& k : spec::all_kinds()) {
      if (!k.namespaced && req.path.rfind(std::string("/api/v1/") + k.plural, 0) == 0) return true;
    }
    return false;
  };
  std::smatch m;
  std::string ns;
  bool scoped = false;
  static const std::regex argo_cd("^/api/v1/(applications|stream/applications|projects)(/|$)");
  if (artifact_path) {
    ns = artifact[2];
    scoped = true;
  } else if (std::regex_search(req.path, argo_cd)) {
    ns = app_namespace_of(req);
    scoped = true;
  } else if (std::regex_search(req.path, m, namespaced)) {
    ns = m[2];
    scoped = true;
  } else if (req.path == "/api/v1/workflows" || req.path == "/api/v1/workflows/") {
    scoped = true;  // every namespace: needs "*"
  } else if (cluster_scoped()) {
    scoped = true;  // ns "" needs "*" to write; anyone may read
    if (req.method == "GET") return R::Unhandled;
  }
  if (scoped && !scope->allows(ns)) {
    reply(res, 403, {{"code", 7}, {"message", "this token may not use " + (ns.empty() ? "every namespace or cluster-scoped objects" : "namespace " + ns)}});
    return R::Handled;
  }
  return R::Unhandled;
}

}  // namespace skiff::server
