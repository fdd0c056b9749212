// Internal to the Argo CD routes (app_routes.h): what the CRUD routes and the action routes
// (sync, rollback, terminate, the resource views, the watch stream) share.
#pragma once

#include <functional>
#include <string>

#include "server/api_context.h"
#include "server/http_util.h"

namespace skiff::server {

// Reads of client (or stored) JSON that never throw: a missing key, or a value of another
// type, reads as null, "" or false.
inline const Json& member(const Json& j, const char* key) {
  static const Json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}
inline std::string text(const Json& j, const char* key) {
  const Json& v = member(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}
inline bool flag(const Json& j, const char* key) {
  const Json& v = member(j, key);
  return v.is_boolean() && v.get<bool>();
}

// The error as Argo CD's grpc-gateway returns it: {error, code, message}, HTTP as fail().
void app_fail(httplib::Response& res, const Status& s);

// Reads the stored Application, lets `change` edit it (or refuse), and writes it back,
// reading again when another write came between. Argo CD's "not found" when absent.
Result<store::ObjectRecord> modify_app(ApiContext& ctx, const std::string& namespace_, const std::string& name,
                                       const std::function<Status(Json& app)>& change);

// GET /api/v1/applications' answer: {metadata: {resourceVersion}, items} for the query's
// appNamespace, projects, selector (label selector) and name.
Result<Json> list_apps(ApiContext& ctx, const httplib::Request& req);

// sync, rollback, operation, resource-tree, managed-resources, manifests, the stream.
void add_app_action_routes(httplib::Server& server, ApiContext& ctx);

}  // namespace skiff::server
