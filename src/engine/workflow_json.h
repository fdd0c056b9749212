// The Workflow in Argo's JSON shape: apiVersion, kind, metadata, spec, status with
// status.nodes keyed by id (DESIGN.md). Times as RFC 3339 UTC ("2026-01-02T03:04:05Z").
#pragma once

#include <string>

#include "engine/operator.h"

namespace skiff::engine {

std::string workflow_json(const spec::Object& workflow, const Operator& op, int indent = 2);
std::string rfc3339(int64_t ms_since_epoch);
// "2026-11-29T18:30:00Z" (as rfc3339 writes it) -> epoch ms; -1 when not that shape.
int64_t parse_rfc3339(const std::string& text);
// One entry of status.nodes, and status without its nodes (compact JSON): what the store
// keeps per node and per workflow.
std::string node_json_text(const Node& node);
std::string status_json_text(const WorkflowStatus& status);

}  // namespace skiff::engine
