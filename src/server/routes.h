// The API's routes by shape, for what must never depend on a raw request path: the
// `route` label of skiff_api_requests_total (a label per distinct path would let any
// client grow /metrics without bound) and which requests are long-lived streams.
//
// The table in routes.cc lists every route the route families (*_routes.cc) register; a
// route missing from it is counted as "unmatched". Stateless; any thread.
#pragma once

#include <string>

namespace skiff::server {

struct Route {
  // The path's shape with its variable segments named, e.g.
  // "/api/v1/workflows/{namespace}/{name}"; "/*" for the web UI's files (any path outside
  // /api/ but /metrics); "unmatched" for any other path under /api/.
  const char* pattern;
  // An event, watch or log stream: it may stay open for as long as its client likes.
  bool stream;
};

Route route_of(const std::string& path);

}  // namespace skiff::server
