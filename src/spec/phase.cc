#include "spec/phase.h"

namespace skiff::spec {

const char* phase_name(NodePhase p) {
  switch (p) {
    case NodePhase::kPending: return "Pending";
    case NodePhase::kRunning: return "Running";
    case NodePhase::kSucceeded: return "Succeeded";
    case NodePhase::kFailed: return "Failed";
    case NodePhase::kError: return "Error";
    case NodePhase::kSkipped: return "Skipped";
    case NodePhase::kOmitted: return "Omitted";
  }
  return "Pending";
}

const char* workflow_phase_name(WorkflowPhase p) {
  switch (p) {
    case WorkflowPhase::kPending: return "Pending";
    case WorkflowPhase::kRunning: return "Running";
    case WorkflowPhase::kSucceeded: return "Succeeded";
    case WorkflowPhase::kFailed: return "Failed";
    case WorkflowPhase::kError: return "Error";
  }
  return "Pending";
}

NodePhase parse_node_phase(std::string_view text) {
  for (NodePhase p : {NodePhase::kRunning, NodePhase::kSucceeded, NodePhase::kFailed, NodePhase::kError,
                      NodePhase::kSkipped, NodePhase::kOmitted}) {
    if (text == phase_name(p)) return p;
  }
  return NodePhase::kPending;
}

WorkflowPhase parse_workflow_phase(std::string_view text) {
  for (WorkflowPhase p : kWorkflowPhases) {
    if (text == workflow_phase_name(p)) return p;
  }
  return WorkflowPhase::kPending;
}

bool is_finished(NodePhase p) {
  return p == NodePhase::kSucceeded || p == NodePhase::kFailed || p == NodePhase::kError ||
         p == NodePhase::kSkipped || p == NodePhase::kOmitted;
}

bool is_finished(WorkflowPhase p) {
  return p == WorkflowPhase::kSucceeded || p == WorkflowPhase::kFailed || p == WorkflowPhase::kError;
}

}  // namespace skiff::spec
