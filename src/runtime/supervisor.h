// Supervisor: the small process that watches over one step, so that a step outlives the
// server that started it, as Argo's pods outlive its controller.
//
// The executor hands a SupervisedStep to the spawner, a small process started with the
// executor (start_spawner), which forks one supervisor per step. The supervisor starts
// the step's processes (a host sandbox, or a program such as `runc run`, and sidecars),
// writes the step's log file (capped), keeps its stdout for outputs.result, waits for it,
// reads its output parameters and termination message and writes a StepResult to the step's result file
// (atomically; while the disk is full it keeps trying), then cleans up and exits. Before
// it starts anything it writes "<pid> <start time>" to the step's pid file, so a restarted
// server finds it again (adopt_supervisor) and follows it to the end.
//
// Signals to a supervisor: SIGTERM asks the step to stop (passed on), SIGUSR1 kills it.
// A detached supervisor belongs to no one (its own session; init reaps it); one that is
// not detached dies with the process that started the spawner (`skiff run`).
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "runtime/executor.h"
#include "runtime/fd.h"
#include "runtime/sandbox.h"
#include "runtime/step_files.h"
#include "runtime/volumes.h"
#include "util/status.h"

namespace skiff::runtime {

// A sidecar: started before the main process, stopped (SIGTERM, then force_argv) after it.
struct SideProcess {
  std::vector<std::string> argv;
  std::string log_path;
  std::vector<std::string> force_argv;
  std::string unmount;  // its rootfs, unmounted once it ended
};

// An init container: run to its end before the sidecars and the main process, in order
// (Kubernetes' initContainers). Its output goes to its own log; a failure ends the step.
// Also a containerSet's container other than the one run as main (see SupervisedStep::set).
struct InitProcess {
  std::string name;
  std::vector<std::string> dependencies;  // containerSet: what must have succeeded first
  bool use_sandbox = false;  // a host sandbox (`sandbox`), else a program (`argv`: runc run)
  SandboxSpec sandbox;
  std::vector<std::string> argv;
  std::string log_path;
  std::vector<std::string> force_argv;
  std::string unmount;  // its rootfs, unmounted once it ended
};

// Where a container's outputs are found once it exited (see container_executor.cc).
struct ContainerCollect {
  bool enabled = false;
  std::string dir;  // the bundle: rootfs/, status/error, runc.log
  std::vector<BindMount> binds;
  std::vector<std::pair<std::string, std::string>> outputs;  // parameter name, path in the container
  bool keep = false;  // runc --keep: the cgroup is still there to ask about OOM kills
  std::string cgroup;
};

struct SupervisedStep {
  std::string node_id;
  std::string log_path, pid_path, result_path;
  size_t max_log = 0;  // bytes of log kept (0: no cap); the rest is dropped with a note
  size_t max_stdout = 256 * 1024;
  size_t max_output = 256 * 1024;
  bool detached = true;

  // The main process: a host sandbox, or a program run with the supervisor's environment.
  bool use_sandbox = false;
  SandboxSpec sandbox;
  std::vector<std::string> argv;
  std::vector<std::string> force_argv;  // how to kill the program for good ("" = SIGKILL)
  std::vector<SideProcess> sidecars;
  std::vector<InitProcess> inits;
  // A containerSet (set_main not ""): after the sidecars start, the `set` containers run as
  // their dependencies allow (in parallel where they can, each to its end, failures retried
  // set_retries times set_retry_ms apart); then the main process, named set_main, once its
  // own dependencies succeeded (retried likewise). Every container's end is reported in
  // StepResult::containers_json.
  std::vector<InitProcess> set;
  std::string set_main;
  std::vector<std::string> set_main_dependencies;
  int set_retries = 0;
  int64_t set_retry_ms = 0;

  // After the exit: output parameters (name, path as the sandboxed step sees it), or read
  // inside a container.
  std::vector<std::pair<std::string, std::string>> output_files;
  ContainerCollect container;
  // Output artifacts (name, path as the step sees it), copied out of its filesystem into
  // artifact_dir/<name> after the exit (StepResult::artifact_files).
  std::vector<std::pair<std::string, std::string>> artifact_paths;
  std::string artifact_dir;
  // The host file bound at the main container's terminationMessagePath ("" = none), and
  // whether a failed step's log tail stands in for an empty one (termination_message.h).
  std::string termination_log;
  bool fallback_to_logs = false;

  // Clean-up, in this order, once the result is written.
  std::vector<std::vector<std::string>> cleanup_programs;
  std::vector<std::string> unmounts;
  std::vector<std::string> removes;
};

// Reads the container's error reports, OOM kill and output parameters into `result`
// (container_executor.cc).
void collect_container_outputs(const ContainerCollect& c, size_t cap, StepResult* result);

// Runs a step's clean-up here and now (when its supervisor could not be started).
void run_cleanup(const SupervisedStep& step);

// Starts the spawner (call before any thread exists, after entering the mount namespace
// steps should start from; a second call replaces the first). Without it, supervisors
// are forked from this process.
Status start_spawner();

// A running supervisor: `pidfd` becomes readable when it exits; `done` (when valid) reaches
// end of file as soon as the result is written, before clean-up.
struct Supervisor {
  pid_t pid = -1;
  Fd pidfd;
  Fd done;
};

// Starts a supervisor for `step`.
Result<Supervisor> spawn_supervisor(const SupervisedStep& step);

// Finds the supervisor named by a pid file again (after a restart). kNotFound when the
// file is absent; kUnavailable when that supervisor is gone.
Result<Supervisor> adopt_supervisor(const std::string& pid_path);

// The result file of a finished step.
Result<StepResult> read_step_result(const std::string& path);

}  // namespace skiff::runtime
