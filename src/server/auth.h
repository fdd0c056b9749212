// --auth-mode client: every API call but /api/v1/version carries a Bearer token (tokens.h)
// whose scope covers the namespace in its path; cluster-scoped objects and every-namespace
// lists need "*". Run before routing, on the HTTP library's threads.
#pragma once

#include "server/api.h"
#include "server/http_util.h"

namespace skiff::server {

// Handled (with a 401 or 403 reply) when the request may not go on; Unhandled otherwise.
httplib::Server::HandlerResponse authorize(const ServerOptions& options, const httplib::Request& req,
                                           httplib::Response& res);

}  // namespace skiff::server
