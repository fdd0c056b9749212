// StepFiles: where a workflow's and its steps' files live on this machine — the one place
// that says so. The process executors write them and read logs back (executor.h); nothing
// outside runtime/ knows the layout.
//
//   <data_dir>/runs/<namespace>/<workflow>/   a workflow's directory (WorkflowContext::run_dir)
//     logs/<node>.log                         what a step printed (combined)
//     state/<node>.{start,pid,result}         the executor's records of a step
//     volumes/<claim>/                        its volumeClaimTemplates
#pragma once

#include <string>

namespace skiff::runtime {

struct StepFiles {
  std::string log;     // <run_dir>/logs/<node>.log: what the step printed (combined)
  std::string start;   // <run_dir>/state/<node>.start: the executor's record (ip, launcher note)
  std::string pid;     // <run_dir>/state/<node>.pid: "<pid> <start time>" of its supervisor
  std::string result;  // <run_dir>/state/<node>.result: how it ended (encoded StepResult)
};

// `node_id` is the executor's step key ("<workflow uid>/<node id>" in the server).
StepFiles step_files(const std::string& run_dir, const std::string& node_id);

// The directory of workflow `name` in `namespace_` under the data directory. Names are
// checked Kubernetes names (no '/', not "." or "..").
std::string workflow_dir(const std::string& data_dir, const std::string& namespace_, const std::string& name);

}  // namespace skiff::runtime
