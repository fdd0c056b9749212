// CronWorkflows through Argo Server's paths: the object routes (template_routes.h) at
// /api/v1/cron-workflows/{ns}, whose schedules must parse and whose updates keep the status
// the cron controller wrote; PUT .../{name}/suspend and .../resume flip spec.suspend; a
// delete also deletes the workflows it created (as Kubernetes' owner references do). Every
// change pokes the controller loop, so a new schedule counts at once.
#pragma once

#include "server/api_context.h"
#include "server/template_routes.h"
#include "server/http_util.h"

namespace skiff::server {

void add_cron_routes(httplib::Server& server, ApiContext& ctx);
// CronWorkflows' hooks on the object routes' writes (a schedule that parses, the status kept,
// the controller told, the runs of a deleted one deleted), for every writer of them.
ObjectFamily cron_family(ApiContext& ctx);

}  // namespace skiff::server
