#include "runtime/step_files.h"

#include "runtime/fd.h"
#include "runtime/step_plan.h"

namespace skiff::runtime {

StepFiles step_files(const std::string& run_dir, const std::string& node_id) {
  std::string name = file_name_for(node_id);
  std::string state = run_dir + "/state/" + name;
  return {run_dir + "/logs/" + name + ".log", state + ".start", state + ".pid", state + ".result", state + ".artifacts"};
}

std::string workflow_dir(const std::string& data_dir, const std::string& namespace_, const std::string& name) {
  return data_dir + "/runs/" + namespace_ + "/" + name;
}

Status make_workflow_dirs(const std::string& run_dir) {
  for (const char* sub : {"/logs", "/state", "/volumes"}) {
    if (Status s = make_dirs(run_dir + sub); !s) return s;
  }
  return Status::ok();
}

std::string claim_dir(const std::string& run_dir, const std::string& claim) { return run_dir + "/volumes/" + claim; }

std::string sidecar_log(const std::string& run_dir, const std::string& node_id, const std::string& sidecar) {
  return run_dir + "/logs/" + file_name_for(node_id) + "." + sidecar + ".log";
}

std::string steps_dir(const std::string& executor_dir) { return executor_dir + "/steps"; }

std::string scratch_dir(const std::string& executor_dir, const std::string& node_id, uint64_t sequence) {
  return steps_dir(executor_dir) + "/" + file_name_for(node_id) + "." + std::to_string(sequence);
}

}  // namespace skiff::runtime
