// Argo CD's views of an Application's workloads on this machine (machine/controller.h):
//   GET /api/v1/applications/{name}/logs?appNamespace=&namespace=&podName=&container=
//       &tailLines=&follow=   a Pod's log as Argo CD streams it: one
//       {"result":{"content":"<line>","timeStamp":"...","podName":"..."}} per line,
//       newline-delimited; with follow=true until the container's run ends or the client goes
//   GET /api/v1/applications/{name}/events   an EventList of its Pods' events (Pulled,
//       Started, Killing, BackOff, Unhealthy, Failed)
// and the children of its resources in .../resource-tree (ReplicaSets and Pods, with
// parentRefs: app -> Deployment -> ReplicaSet -> Pod; StatefulSet -> Pod; Job -> Pod). Only Pods under the app's own
// resources are shown. Without this machine as a destination: logs and events answer 404
// (nothing runs here), the tree has no children. Handlers run on the HTTP library's threads.
#pragma once

#include <vector>

#include "server/api_context.h"
#include "server/http_util.h"

namespace skiff::server {

void add_app_workload_routes(httplib::Server& server, ApiContext& ctx);

// Resource-tree nodes for what the app's nodes `roots` own on this machine, recursively
// (each with parentRefs naming its owner, health and Argo CD's info lines).
std::vector<Json> workload_nodes(const ApiContext& ctx, const std::vector<Json>& roots);

}  // namespace skiff::server
