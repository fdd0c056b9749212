// Workflows through Argo Server's paths:
//   POST   /api/v1/workflows/{ns}                 create (and start)
//   POST   /api/v1/workflows/{ns}/lint            check without starting
//   POST   /api/v1/workflows/{ns}/submit          one from a (Cluster)WorkflowTemplate
//   GET    /api/v1/workflows/[{ns}]               list (labels, fields, pages)
//   GET    /api/v1/workflows/{ns}/{name}          one, with `fields`
//   DELETE /api/v1/workflows/{ns}/{name}          with its logs
//   PUT    /api/v1/workflows/{ns}/{name}/{stop|terminate|suspend|resume|set|retry|resubmit}
// and their streams (stream_routes.h). Whatever changes a run goes to the runner thread
// (ApiContext::on_runner); reads go to the store.
#pragma once

#include "server/api_context.h"
#include "server/http_util.h"
#include "spec/types.h"

namespace skiff::server {

void add_workflow_routes(httplib::Server& server, ApiContext& ctx);

// Validates a decoded workflow of namespace `ns` against the templates it refers to and
// starts it (as the API and the cron controller submit). Returns its record.
Result<store::WorkflowRecord> start_workflow(ApiContext& ctx, spec::Object workflow, const std::string& ns);

}  // namespace skiff::server
