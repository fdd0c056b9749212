// ProcessExecutor: the run loop's side of every executor that runs a step as a local
// process tree — the host sandbox and runc containers.
//
// It polls the steps' pidfds and output pipes, writes logs, enforces the SIGTERM ->
// SIGKILL grace period and reports exits. What a step *is* comes from a Launcher: it
// prepares the step (e.g. pulls its image on a worker thread), starts its process and, once
// it exited, collects its outputs and cleans up. Single-threaded like Executor; a
// Launcher's prepare work may run elsewhere and signals completion through wake_fd().
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "runtime/executor.h"
#include "runtime/fd.h"
#include "runtime/janitor.h"
#include "util/status.h"

namespace skiff::runtime {

struct Launched {
  pid_t pid = -1;
  std::string ip;  // the step's address (StepStarted::ip)
  Fd pidfd;
  Fd out;  // read ends (non-blocking) of the step's stdout and stderr
  Fd err;
  // Asks the step to stop: SIGTERM (force = false) or SIGKILL (force = true).
  std::function<void(bool force)> signal;
  // After the process exited (exit code already set in `result`): outputs, setup errors,
  // OOM. Runs on the loop thread.
  std::function<void(StepResult* result)> finish;
  // Slow clean-up (directories, mounts), queued on the janitor thread.
  std::function<void()> cleanup;
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
  // Starts the step (request.workflow is always set). `log_path` is where its combined
  // output goes.
  virtual Result<Launched> launch(const StepRequest& request, const std::string& log_path) = 0;
};

Result<std::unique_ptr<Executor>> make_process_executor(ExecutorOptions options, std::unique_ptr<Launcher> launcher);

// Normalises ExecutorOptions::run_dir to an absolute path and makes logs/, steps/ and
// volumes/ under it; fills in data_dir and the default workflow's run_dir.
Status prepare_run_dir(ExecutorOptions* options);

}  // namespace skiff::runtime
