// ArtifactExecutor: gives steps their input artifacts and stores their output artifacts,
// around the executor that runs them (host, container), as Argo's executor does in a Pod's
// init and wait containers.
//
// Before a step starts, each of its input artifacts (the engine resolved where each comes
// from: a repository key, raw data, an http URL) is fetched on a worker thread into the
// workflow's run directory, unpacked (a tar.gz gives its one top entry) and shown to the
// step at its path (StepRequest::extra_mounts). A fetch that fails ends the step in Error
// without starting it. After the step exits, the inner executor has copied what it left
// at each output artifact's path out of its filesystem (StepResult::artifact_files); a
// worker packs each (tar.gz unless `archive` says none or zip) and stores it at its key in
// the workflow's repository, and the result reports it as Argo's status does
// ({"name", "path", "s3": {"key"}}).
//
// Which repository (choose_repository): the workflow's artifactRepositoryRef, else the
// namespace's `artifact-repositories` ConfigMap's default (its annotation
// workflows.argoproj.io/default-artifact-repository), else the local repository under the
// data directory. Keys follow the repository's keyFormat (default
// "{{workflow.name}}/{{pod.name}}") plus the file name (<artifact>.tgz).
//
// Threads: start(), wait() and the rest on the owner's thread as executor.h says; fetches
// and stores on a small pool of workers, ringing the interrupt fd when one is done.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "runtime/artifact_repo.h"
#include "runtime/executor.h"

namespace skiff::runtime {

struct RepositoryChoice {
  std::shared_ptr<ArtifactRepository> repo;
  std::string key_format = "{{workflow.name}}/{{pod.name}}";
  bool archive_logs = false;
  // Argo's status.artifactRepositoryRef: {"configMap", "key", "namespace"} or {"default": true}.
  std::string ref_json;
};

// The repository a workflow in `namespace_` uses (see above). `data_dir` holds the config
// maps, secrets and the local repository (<data_dir>/artifacts).
Result<RepositoryChoice> choose_repository(const std::string& data_dir, const std::string& namespace_,
                                           const std::optional<std::pair<std::string, std::string>>& ref);

// The repository an artifact's location (its JSON, as in status) names: a key-only s3
// location is in `fallback`; one with a bucket and endpoint is on that S3 server, with
// its secrets read from `namespace_`.
Result<std::shared_ptr<ArtifactRepository>> repository_of(const std::string& location_json, const std::string& data_dir,
                                                          const std::string& namespace_,
                                                          std::shared_ptr<ArtifactRepository> fallback);

// spec.artifactRepositoryRef of a workflow object (its JSON), as WorkflowContext keeps it.
std::optional<std::pair<std::string, std::string>> repository_ref_of(const std::string& workflow_json);

// The artifactGC strategy an output artifact's status JSON records ("" = none).
std::string gc_strategy_of(const std::string& artifact_json);

struct ArtifactOptions {
  std::string data_dir;
  std::string run_dir;  // for requests without a workflow context (ExecutorOptions::run_dir)
  uint64_t max_download = 16ull << 30;  // bytes of one input artifact
  bool allow_local_git = true;  // git artifacts from this machine (file://): ExecutorOptions::allow_host_path
  int workers = 2;
};

class ArtifactExecutor : public Executor {
 public:
  ArtifactExecutor(std::unique_ptr<Executor> inner, ArtifactOptions options);
  ~ArtifactExecutor() override;

  void start(StepRequest request) override;
  void kill(const std::string& node_id, const std::string& reason) override;
  Result<std::vector<std::string>> exec_command(const std::string& node_id,
                                                const std::vector<std::string>& command) const override;
  std::vector<StepResult> wait(int timeout_ms) override;
  size_t running() const override;
  std::vector<StepStarted> take_started() override;
  void set_interrupt_fd(int fd) override;
  Status open_workflow(WorkflowContext* context) override;
  void release_workflow(const std::string& namespace_, const std::string& name) override;
  // Deletions queued when the executor goes are still carried out (it waits for them).
  void collect_artifacts(const WorkflowContext& workflow, std::vector<std::string> artifacts) override;
  void workflow_ended(const WorkflowContext& workflow, bool succeeded) override;
  Result<LogChunk> read_log(const LogRef& ref, uint64_t offset, size_t max) const override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace skiff::runtime
