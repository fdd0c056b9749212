#include "server/auth.h"

#include <regex>

#include "server/tokens.h"

namespace skiff::server {

httplib::Server::HandlerResponse authorize(const ServerOptions& options, const httplib::Request& req, httplib::Response& res) {
  using R = httplib::Server::HandlerResponse;
  if (!options.require_token || req.path.rfind("/api/", 0) != 0 || req.path == "/api/v1/version") return R::Unhandled;
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
  static const std::regex namespaced(R"(^/api/v1/(workflows|workflow-events|stream/events|workflow-templates|cron-workflows|secrets|configmaps)/([^/]+))");
  std::smatch m;
  std::string ns;
  bool scoped = false;
  if (std::regex_search(req.path, m, namespaced)) {
    ns = m[2];
    scoped = true;
  } else if (req.path == "/api/v1/workflows" || req.path == "/api/v1/workflows/") {
    scoped = true;  // every namespace: needs "*"
  } else if (req.path.rfind("/api/v1/cluster-workflow-templates", 0) == 0) {
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
