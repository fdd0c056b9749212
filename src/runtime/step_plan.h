// StepPlan: what the host sandbox will run for one StepRequest — argv, environment,
// working directory, mounts — and where its outputs will be found afterwards.
//
// Follows Kubernetes where the host allows: `command` and `args` with $(VAR) references
// expanded from the container's env; with no image there is no ENTRYPOINT, so args alone
// are the argv. Script templates run `command args <script file>` as Argo does. The host's
// environment is not inherited: PATH (the host executor's: the invoking user's), HOME and
// HOSTNAME, then the container's env.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "runtime/executor.h"
#include "runtime/sandbox.h"
#include "util/status.h"

namespace skiff::runtime {

struct StepPlan {
  SandboxSpec sandbox;
  std::string step_dir;  // private tmp and emptyDirs; removed afterwards
  std::vector<std::pair<std::string, std::string>> output_files;  // parameter name, path in the step
  std::string termination_log;  // host file bound at terminationMessagePath (in step_dir)
  bool fallback_to_logs = false;
};

struct PlanDefaults {
  std::string data_dir;  // secrets, config maps, named volumes
  std::string namespace_ = "default";
  std::vector<std::string> server_paths;  // skiff's own state (volumes.h): hidden from the step
  bool allow_host_path = true;   // ExecutorOptions::allow_host_path (without it the host's files are read-only)
  bool allow_privileged = true;  // ExecutorOptions::allow_privileged
  std::string home = "/root";
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
};

// Where a script's source is written, as the step sees it.
inline constexpr const char* kScriptPath = "/tmp/.skiff/script";

// Builds the plan and the step's directories under `step_dir` (private tmp, emptyDirs,
// script file, termination message file). A terminationMessagePath must lie under /dev or
// /tmp, which are the step's own: anywhere else its mount point would be made on the
// host's filesystem (and, were the file read in place, a step could have skiff read a
// host file for it).
Result<StepPlan> plan_step(const StepRequest& request, const std::string& run_dir, const std::string& step_dir,
                           const PlanDefaults& defaults);

// Reads `path` as the step saw it (an output parameter's valueFrom.path): through its
// mounts and private /tmp, symbolic links resolved inside the volume that holds it; from
// the host's own files, never what the step could not see (skiff's directories, /proc,
// /sys, /dev). At most `cap` bytes.
Result<std::string> read_step_file(const SandboxSpec& sandbox, const std::string& path, size_t cap);

// A containerSet step as both launchers run it: the container named `main` (else the last
// one no other depends on) runs as the step's main process, from `main_request` (the
// set's volumeMounts added, its outputs and input artifacts); each other container, from a
// request of its own (no outputs, no input artifacts), runs before it as the supervisor's
// graph (supervisor.h) allows. Retries and their delay from the set's retryStrategy.
struct ContainerSetPlan {
  StepRequest main_request;
  std::string main_name;
  std::vector<std::string> main_dependencies;
  struct Member {
    StepRequest request;
    std::string name;
    std::vector<std::string> dependencies;
  };
  std::vector<Member> members;
  int retries = 0;
  int64_t retry_delay_ms = 0;
};
Result<ContainerSetPlan> plan_container_set(const StepRequest& request);

using EnvList = std::vector<std::pair<std::string, std::string>>;

// The container's environment on top of `base` (later entries win): envFrom first, then
// env in order, each value with $(VAR) expanded from what came before. valueFrom reads
// secretKeyRef / configMapKeyRef from the local store, fieldRef metadata.name /
// metadata.namespace, and resourceFieldRef from the container's resources (quantity.h).
Result<EnvList> resolve_env(const spec::Container& c, EnvList base, const PlanDefaults& defaults,
                            const std::string& pod_name);

// A node id made safe as a file name (anything but [A-Za-z0-9._-] becomes '_').
std::string file_name_for(const std::string& node_id);

// Kubernetes' $(VAR) expansion: "$(NAME)" becomes NAME's value when NAME is defined
// (otherwise stays as written) and "$$" is a literal "$".
std::string expand_vars(const std::string& text, const EnvList& vars);

}  // namespace skiff::runtime
