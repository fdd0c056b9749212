// StepFiles: where one step's files live in its workflow's run directory — the one place
// that says so (executors write them, the server reads logs from them).
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

}  // namespace skiff::runtime
