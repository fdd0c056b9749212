// The API's long-lived streams, each running until its client goes away (or, for a log
// without follow, to the end of what is there):
//   GET /api/v1/stream/events/{ns}          Argo's event stream (EventLog)
//   GET /api/v1/workflow-events/{ns}        Argo's watch stream of workflows (the store, polled)
//   GET /api/v1/workflows/{ns}/{name}/log   Argo's log stream (steps' logs, from the executor)
// Each answers newline-delimited {"result": ...} JSON, or server-sent events when the
// client accepts text/event-stream (as the argo CLI does). Handlers run on the HTTP
// library's worker threads.
#pragma once

#include <functional>
#include <string>

#include "runtime/executor.h"
#include "server/events.h"
#include "server/http_util.h"
#include "store/store.h"

namespace skiff::server {

// Steps' logs are read through `executor` (read_log() is safe on these threads).
// `workflow_json` gives a stored workflow as the API shows it (with its nodes or not).
void add_stream_routes(httplib::Server& server, store::Store& store, EventLog& events, const runtime::Executor& executor,
                       std::function<Json(const store::WorkflowRecord&, bool with_nodes)> workflow_json);

}  // namespace skiff::server
