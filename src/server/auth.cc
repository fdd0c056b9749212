#include "server/auth.h"

#include <regex>

#include "server/app_routes.h"
#include "server/tokens.h"
#include "spec/kinds.h"

namespace skiff::server {

httplib::Server::HandlerResponse authorize(const ServerOptions& options, const httplib::Request& req, httplib::Response& res) {
  using R = httplib::Server::HandlerResponse;
  // The webhook's auth is its payload's signature (webhook.h), as in Argo CD.
  if (!options.require_token || req.path.rfind("/api/", 0) != 0 || req.path == "/api/v1/version" ||
      req.path == "/api/webhook")
    return R::Unhandled;
  std::string header = req.get_header_value("Authorization");
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
  if (std::regex_search(req.path, argo_cd)) {
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
