#include "runtime/step_files.h"

#include "runtime/step_plan.h"

namespace skiff::runtime {

StepFiles step_files(const std::string& run_dir, const std::string& node_id) {
  std::string name = file_name_for(node_id);
  std::string state = run_dir + "/state/" + name;
  return {run_dir + "/logs/" + name + ".log", state + ".start", state + ".pid", state + ".result"};
}

std::string workflow_dir(const std::string& data_dir, const std::string& namespace_, const std::string& name) {
  return data_dir + "/runs/" + namespace_ + "/" + name;
}

}  // namespace skiff::runtime
