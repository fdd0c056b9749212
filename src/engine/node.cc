#include "engine/node.h"

namespace skiff::engine {

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

const char* type_name(NodeType t) {
  switch (t) {
    case NodeType::kPod: return "Pod";
    case NodeType::kContainer: return "Container";
    case NodeType::kSteps: return "Steps";
    case NodeType::kStepGroup: return "StepGroup";
    case NodeType::kDag: return "DAG";
    case NodeType::kTaskGroup: return "TaskGroup";
    case NodeType::kRetry: return "Retry";
    case NodeType::kSkipped: return "Skipped";
    case NodeType::kSuspend: return "Suspend";
    case NodeType::kHttp: return "HTTP";
    case NodeType::kPlugin: return "Plugin";
  }
  return "Pod";
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

bool is_finished(NodePhase p) {
  return p == NodePhase::kSucceeded || p == NodePhase::kFailed || p == NodePhase::kError ||
         p == NodePhase::kSkipped || p == NodePhase::kOmitted;
}

}  // namespace skiff::engine
