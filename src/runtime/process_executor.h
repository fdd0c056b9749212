// ProcessExecutor: the run loop's side of every executor that runs a step as a local
// process tree — the host sandbox and runc containers.
//
// Each step runs under its own supervisor process (supervisor.h), which writes its log and
// result files; this loop polls the supervisors, enforces the SIGTERM -> SIGKILL grace
// period, reads results and passes log lines to the LogSink by following the log files.
// What a step *is* comes from a Launcher: it prepares the step (e.g. pulls its image on a
// worker thread) and says what its supervisor runs. With ExecutorOptions::detach_steps,
// steps outlive this process: a new one adopts them (StepRequest::adopt). Single-threaded
// like Executor; a Launcher's prepare work may run elsewhere and signals completion
// through wake_fd().
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "runtime/executor.h"
#include "runtime/supervisor.h"
#include "util/status.h"

namespace skiff::runtime {

struct Launched {
  SupervisedStep step;  // what its supervisor runs (node, file paths and caps are filled in later)
  std::string ip;       // the step's address (StepStarted::ip)
  std::string note;     // the launcher's own record of the step, kept on disk beside it
  // How to run a command inside its main container while it runs (`runc exec <id>`);
  // empty when the launcher has no way (the host sandbox).
  std::vector<std::string> exec_prefix;
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  // True when the step can be launched now; otherwise the launcher starts whatever must
  // come first and makes wake_fd() readable when it is done (then prepare is asked again).
  virtual bool prepared(const StepRequest& request) { return true; }
  // A failure of preparation, reported instead of launching (ok when none).
  virtual Status preparation_error(const StepRequest& request) { return Status::ok(); }
  virtual int wake_fd() const { return -1; }
  virtual void clear_wake() {}
  // Prepares the step (request.workflow is always set) and says what its supervisor runs.
  virtual Result<Launched> launch(const StepRequest& request) = 0;
  // The step ended, or never started after launch(): gives back what launch() took, from
  // its note (also for a step a restarted executor adopted).
  virtual void finished(const std::string& note) {}
};

Result<std::unique_ptr<Executor>> make_process_executor(ExecutorOptions options, std::unique_ptr<Launcher> launcher);

// Normalises ExecutorOptions::run_dir to an absolute path and makes logs/, state/, steps/
// and volumes/ under it; fills in data_dir and the default workflow's run_dir.
Status prepare_run_dir(ExecutorOptions* options);

}  // namespace skiff::runtime
