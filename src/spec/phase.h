// Workflow and node phases in Argo's words, for every module that reads or writes them.
//
// The engine decides phases; the store keeps them as text, the server sends them as text,
// the CLI reads them from the server. All of them compare enum values, never string
// literals: phase_name/workflow_phase_name give the exact text Argo uses, the parse
// functions read it back. Text that names no phase ("", or a word from a newer version)
// reads as Pending, the phase Argo gives an empty status.phase: such a record counts as
// not finished. Stateless and thread-safe.
#pragma once

#include <string_view>

namespace skiff::spec {

enum class NodePhase { kPending, kRunning, kSucceeded, kFailed, kError, kSkipped, kOmitted };
enum class WorkflowPhase { kPending, kRunning, kSucceeded, kFailed, kError };

const char* phase_name(NodePhase p);
const char* workflow_phase_name(WorkflowPhase p);

NodePhase parse_node_phase(std::string_view text);          // unknown text: kPending
WorkflowPhase parse_workflow_phase(std::string_view text);  // unknown text: kPending

bool is_finished(NodePhase p);      // Succeeded, Failed, Error, Skipped, Omitted
bool is_finished(WorkflowPhase p);  // Succeeded, Failed, Error

// Every workflow phase, in the order above (metrics report each, also when zero).
constexpr WorkflowPhase kWorkflowPhases[] = {WorkflowPhase::kPending, WorkflowPhase::kRunning,
                                             WorkflowPhase::kSucceeded, WorkflowPhase::kFailed,
                                             WorkflowPhase::kError};

}  // namespace skiff::spec
