#include "engine/node.h"

namespace skiff::engine {

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

}  // namespace skiff::engine
