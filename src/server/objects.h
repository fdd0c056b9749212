// Named objects (WorkflowTemplates, ClusterWorkflowTemplates, CronWorkflows, Workflows)
// between request bodies, the decoder and the store: what the route families and the cron
// controller's submissions share. Stateless; any thread.
#pragma once

#include <cstdint>
#include <string>

#include "server/http_util.h"
#include "spec/kinds.h"
#include "spec/types.h"
#include "store/store.h"
#include "util/status.h"

namespace skiff::server {

// Decodes one object of `kind` from the request's field for it (the registry's body_field)
// through the same strict decoder as files, so the same mistakes get the same messages
// (with JSON paths). The path's namespace (when not "") is set and must match
// metadata.namespace.
Result<spec::Object> decode_object(const Json& body, spec::Kind kind, const std::string& namespace_);

// The metadata.resourceVersion of the request's `field` object: 0 when absent, as
// Kubernetes takes an update without one as unconditional.
Result<int64_t> resource_version(const Json& body, const char* field);

// A stored object as the API shows it (apiVersion, kind, metadata with resourceVersion).
Json object_json(const store::ObjectRecord& o, spec::Kind kind);

// A stored workflow as the API shows it, with its nodes (status.nodes) or without.
Json workflow_json(store::Store& store, const store::WorkflowRecord& wf, bool with_nodes);
// The whole workflow as text, its node map as the store puts it together: a GET of a
// workflow of 100,000 nodes neither parses nor rebuilds 30 MB of JSON node by node.
std::string workflow_text(store::Store& store, const store::WorkflowRecord& wf);

}  // namespace skiff::server
