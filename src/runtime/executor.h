// Executor: runs the steps the engine asks for and reports how they ended.
//
// One implementation per place a step can run: the host's tools in a private mount and PID
// namespace, runc containers, later Kubernetes Pods. start() never blocks on the step;
// wait() blocks up to a timeout for exits, driving the process poll loop.
// Single-threaded: the thread that drives the Runner owns the executor (read_log excepted).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/types.h"
#include "util/status.h"

namespace skiff::runtime {

// What a step inherits from its workflow. One executor may serve many workflows.
struct WorkflowContext {
  std::string namespace_ = "default";
  std::string name;     // the workflow's name: with namespace_, what release_workflow() names
  std::string uid;      // the workflow's uid (resource steps' owner references)
  int64_t created_ms = 0;  // when it started (epoch ms): keyFormat's workflow.creationTimestamp
  std::string run_dir;  // where its logs, claims and state live; set by open_workflow()
  bool host_network = false;
  std::vector<std::string> image_pull_secrets;  // names of docker-registry secrets
  // spec.artifactRepositoryRef (configMap, key) when given (runtime/artifact_executor.h).
  std::optional<std::pair<std::string, std::string>> artifact_repository_ref;
  std::string artifact_gc;  // spec.artifactGC.strategy: every output artifact's default
  std::optional<bool> archive_logs;  // spec.archiveLogs (a template's archiveLocation wins; else the repository's)
  std::string pod_gc_json;  // spec.podGC as written: Pods' garbage collection (kubernetes executor)
};

// The context of a workflow whose (effective) spec is `spec` (run_dir left to open_workflow()).
WorkflowContext workflow_context(const spec::WorkflowSpec& spec, const std::string& namespace_,
                                 const std::string& name);

struct StepRequest {
  std::shared_ptr<const WorkflowContext> workflow;  // null: ExecutorOptions::workflow
  std::string node_id;
  std::string node_name;  // as the workflow's status names it ("wf.a"): Pods' node-name annotation
  std::string pod_name;
  // Fully resolved: container or script (with source); its pod-level fields (`pod`,
  // `metadata`) are the step's own, the workflow's defaults applied (spec/pod.h).
  spec::Template tmpl;
  std::vector<spec::Volume> volumes;
  std::vector<spec::ClaimTemplate> claims;
  // Files and directories of skiff's own shown to the step (input artifacts): each bound
  // at `target`, writable, over whatever the volumes put there.
  struct Mount {
    std::string source;
    std::string target;
  };
  std::vector<Mount> extra_mounts;
  // The step may already be running (or have ended) under a supervisor started before a
  // restart: follow it, or report how it ended, rather than start it again. A step that
  // never started is started.
  bool adopt = false;
};

struct StepResult {
  std::string node_id;
  int exit_code = 0;
  std::string stdout_text;  // capped (see ExecutorOptions::max_stdout)
  std::map<std::string, std::string> output_parameters;  // outputs.parameters[].valueFrom.path
  // Output artifacts saved to the repository, by name, as Argo's status shows them (JSON):
  // filled by ArtifactExecutor (artifact_executor.h) from `artifact_files`.
  std::map<std::string, std::string> output_artifacts;
  // What the step left at each output artifact's path, copied out of its filesystem before
  // it was removed: name -> a file or directory under the workflow's run directory. An
  // artifact not there is absent; one that could not be copied maps to "!" + the reason.
  std::map<std::string, std::string> artifact_files;
  std::string message;
  bool error = false;  // could not start / infrastructure failure, not the step's own exit
  std::string reason;  // why the main container ended, as Kubernetes says it: "OOMKilled" ("" = its own exit)
  // What it left at its terminationMessagePath (at most 4 KiB), or with
  // FallbackToLogsOnError and a failure, its log's tail (runtime/termination_message.h).
  std::string termination_message;
  // A containerSet's containers as they ended: [{"name", "phase", "exitCode", "message"}]
  // as JSON ("" for other steps).
  std::string containers_json;
};

// A step whose process is up (an image pull may delay this well after start()).
struct StepStarted {
  std::string node_id;
  std::string ip;  // where it can be reached: its network namespace's address, or 127.0.0.1
};

// Which step's log: its workflow and its step key (StepRequest::node_id).
struct LogRef {
  std::string namespace_ = "default";
  std::string workflow;
  std::string node_id;
};

// A piece of a step's combined log.
struct LogChunk {
  std::string data;   // the bytes from the offset asked for (at most the maximum asked for)
  bool more = false;  // the step may still write (false: the log ends after `data`)
};

// A line of a step's combined log (stdout and stderr as the step wrote them).
using LogSink = std::function<void(const std::string& node_id, std::string_view line)>;

struct ExecutorOptions {
  std::string run_dir;    // the executor's own directory (steps/ scratch space), and the
                          // default workflow's run_dir
  std::string data_dir;   // secrets, config maps, named volumes, images ("" = run_dir/../..)
  WorkflowContext workflow;  // for requests that name none (its run_dir defaults to run_dir)
  int kill_grace_ms = 10000;       // SIGTERM, then SIGKILL after this long
  size_t max_stdout = 256 * 1024;  // kept for outputs.result (Argo caps result similarly)
  size_t max_output_parameter = 256 * 1024;
  size_t max_log = 0;              // bytes of a step's log file kept (0: no cap)
  bool detach_steps = false;       // steps outlive this process (a server); else die with it
  LogSink log_sink;                // optional: every log line as it is produced
  // What a workflow may do to this machine. `skiff run` (one user running their own
  // workflows) allows both; `skiff server` serving tokens for many namespaces only when
  // its operator says so. Refused steps end in Error with a message saying how to allow.
  bool allow_host_path = true;   // hostPath volumes; host executor: the host's files writable
  bool allow_privileged = true;  // securityContext.privileged (every capability and device)
  // More of skiff's own files that no step may reach, beside the data and run directories
  // (a database or TLS key kept elsewhere); the host executor shows them empty.
  std::vector<std::string> private_paths;
};

// The error of a step asking for securityContext.privileged where allow_privileged is false.
Status privileged_not_allowed();

class Executor {
 public:
  virtual ~Executor() = default;
  virtual void start(StepRequest request) = 0;
  // Kills the step's process group: SIGTERM, then SIGKILL after the grace period. The
  // result is reported by wait() with `message` = reason.
  virtual void kill(const std::string& node_id, const std::string& reason) = 0;
  // The command line that runs `command` inside the running step's main container (for an
  // exec probe): run it on any thread, with a time limit. kUnavailable where the executor
  // cannot (the host sandbox), kNotFound when the step does not run.
  virtual Result<std::vector<std::string>> exec_command(const std::string& node_id,
                                                        const std::vector<std::string>& command) const {
    return Status(Code::kUnavailable, "this executor cannot run commands inside a step");
  }
  // Results of steps that ended, waiting at most timeout_ms (-1: until one ends).
  virtual std::vector<StepResult> wait(int timeout_ms) = 0;
  virtual size_t running() const = 0;
  // Steps whose process came up since the last call.
  virtual std::vector<StepStarted> take_started() = 0;
  // wait() also returns as soon as `fd` is readable (the owner drains it): how a server's
  // loop learns of new work without waiting out its timeout. -1 = none.
  virtual void set_interrupt_fd(int fd) = 0;

  // Makes the workflow's place for its steps' files and sets context->run_dir; called before
  // its first step (again for a workflow resumed after a restart: what is there is kept).
  virtual Status open_workflow(WorkflowContext* context) = 0;
  // Deletes everything kept for the workflow (logs, claims, state), also for one of an
  // earlier process. Its steps have ended (those still running keep running; their files go).
  virtual void release_workflow(const std::string& namespace_, const std::string& name) = 0;
  // Deletes stored artifacts of the workflow (each its status JSON, {"s3": {"key"}, ...})
  // from its repository, in the background: artifactGC. Executors that store none ignore it.
  virtual void collect_artifacts(const WorkflowContext& workflow, std::vector<std::string> artifacts) {}
  // The workflow ended (all its steps too), Succeeded or not: podGC's OnWorkflow* strategies.
  virtual void workflow_ended(const WorkflowContext& workflow, bool succeeded) {}
  // The step's combined log (stdout and stderr as written) from byte `offset` on, at most
  // `max` bytes. kNotFound while it has none (not started, or released). Any thread (see
  // above): reads only what the steps wrote, no state of the run loop.
  virtual Result<LogChunk> read_log(const LogRef& ref, uint64_t offset, size_t max) const = 0;
};

}  // namespace skiff::runtime
