// Named objects through Argo Server's paths, one family per kind, its base
// (/api/v1/{plural}), scope and request field from the registry (spec/kinds.h):
//   POST   {base}[/{ns}]          create       POST {base}[/{ns}]/lint   check only
//   GET    {base}[/{ns}]          list         GET  {base}[/{ns}]/{name}
//   PUT    {base}[/{ns}]/{name}   replace (compare-and-swap on metadata.resourceVersion
//                                 when the client sends one; a stale one is 409)
//   DELETE {base}[/{ns}]/{name}
// WorkflowTemplates (/api/v1/workflow-templates/{ns}) and ClusterWorkflowTemplates
// (/api/v1/cluster-workflow-templates) are added here; CronWorkflows add their own hooks
// (cron_routes.h). Handlers run on the HTTP library's threads.
#pragma once

#include <functional>
#include <string>

#include "server/api_context.h"
#include "server/http_util.h"
#include "spec/kinds.h"
#include "spec/types.h"

namespace skiff::server {

struct ObjectFamily {
  spec::Kind kind;
  // Before a create (`update` false) or update of the decoded `object` is stored: may refuse
  // it or change its record (e.g. keep the status a controller wrote, and the version it
  // was read at).
  std::function<Status(const spec::Object& object, store::ObjectRecord& record, bool update)> before_write;
  // After one was stored or deleted.
  std::function<void(const std::string& namespace_, const std::string& name, bool deleted)> after_change;
};

void add_object_routes(httplib::Server& server, ApiContext& ctx, ObjectFamily family);
// The writes behind the routes, for their other callers (resource steps: local_objects.h).
// `object` is the object as a client sends it ({metadata, spec}); it is decoded, checked
// against the templates it refers to and stored (an update: compare-and-swap on its
// metadata.resourceVersion when it has one). Returns the stored record.
Result<store::ObjectRecord> write_object(ApiContext& ctx, const ObjectFamily& family, const Json& object,
                                         const std::string& namespace_, bool update);
Status remove_object(ApiContext& ctx, const ObjectFamily& family, const std::string& namespace_, const std::string& name);
// The family of WorkflowTemplates or ClusterWorkflowTemplates (no hooks).
ObjectFamily template_family(spec::Kind kind);
void add_template_routes(httplib::Server& server, ApiContext& ctx);

}  // namespace skiff::server
