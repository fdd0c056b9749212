// StepFiles: where a workflow's and its steps' files live on this machine — the one place
// that says so. The process executors write them and read logs back (executor.h); nothing
// outside runtime/ knows the layout.
//
//   <data_dir>/runs/<namespace>/<workflow>/   a workflow's directory (WorkflowContext::run_dir)
//     logs/<node>.log                         what a step printed (combined)
//     logs/<node>.<sidecar>.log               what a sidecar printed
//     state/<node>.{start,pid,result}         the executor's records of a step
//     state/<node>.artifacts/<name>           its output artifacts until they are stored
//     artifacts/<node>/<name>                 its input artifacts, shown to it at their paths
//     volumes/<claim>/                        its volumeClaimTemplates
//   <executor run_dir>/steps/<node>.<n>/      a step's scratch space while it runs
#pragma once

#include <cstdint>
#include <string>

#include "util/status.h"

namespace skiff::runtime {

struct StepFiles {
  std::string log;     // <run_dir>/logs/<node>.log: what the step printed (combined)
  std::string start;   // <run_dir>/state/<node>.start: the executor's record (ip, launcher note)
  std::string pid;     // <run_dir>/state/<node>.pid: "<pid> <start time>" of its supervisor
  std::string result;  // <run_dir>/state/<node>.result: how it ended (encoded StepResult)
  std::string artifacts;  // <run_dir>/state/<node>.artifacts/<name>: its output artifacts, copied out
};

// `node_id` is the executor's step key ("<workflow uid>/<node id>" in the server).
StepFiles step_files(const std::string& run_dir, const std::string& node_id);

// The directory of workflow `name` in `namespace_` under the data directory. Names are
// checked Kubernetes names (no '/', not "." or "..").
std::string workflow_dir(const std::string& data_dir, const std::string& namespace_, const std::string& name);

// Makes a workflow directory's logs/, state/ and volumes/.
Status make_workflow_dirs(const std::string& run_dir);

std::string claim_dir(const std::string& run_dir, const std::string& claim);
std::string sidecar_log(const std::string& run_dir, const std::string& node_id, const std::string& sidecar);

// Where the executor whose own directory is `executor_dir` keeps steps' scratch space, and
// the scratch directory of a step (`sequence` makes it unique, so deleting one never races
// a new one).
std::string steps_dir(const std::string& executor_dir);
std::string scratch_dir(const std::string& executor_dir, const std::string& node_id, uint64_t sequence);

}  // namespace skiff::runtime
