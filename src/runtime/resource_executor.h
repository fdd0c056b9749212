// ResourceExecutor: carries out `resource` steps, and hands every other step to the
// executor it wraps (host, container, fake). A resource step acts on one Kubernetes-shaped
// object as Argo's does with kubectl: get, create, apply, delete, replace or patch, then
// waits until its successCondition holds (or its failureCondition, which fails it), then
// reads its outputs (valueFrom.jsonPath, valueFrom.jqFilter) from the object.
//
// Where a step acts (ResourceTargets): skiff's own kinds (argoproj.io: Workflow,
// WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow) always in skiff itself;
// ConfigMaps and Secrets on the cluster when one is configured, else in skiff; every
// other kind on the cluster, or the step fails saying that no cluster is configured.
//
// Threads: each resource step runs on a thread of its own (its API calls block, and its
// wait polls the object: every 50 ms at first, backing off to every second). Results
// come back through wait() like the wrapped executor's; a finished step rings the
// interrupt fd so the owner's wait() returns at once. Logs (one line per thing done) are
// kept in memory, capped, until release_workflow(): they do not outlive a restart.
// The rest of the Executor contract is as executor.h says.
#pragma once

#include <memory>
#include <string>

#include "kube/object_api.h"
#include "runtime/executor.h"
#include "util/diagnostic.h"

namespace skiff::runtime {

struct ResourceTargets {
  std::shared_ptr<kube::ObjectApi> cluster;  // null: no cluster configured
  std::string cluster_name;                  // "the cluster at https://..." (for messages)
  // How to configure one, for the message of a step that needs a cluster and has none.
  std::string no_cluster_hint = "give skiff --kubeconfig FILE, or set KUBECONFIG";
  // skiff's own kinds (server/local_objects.h); null: steps on them fail saying so.
  std::shared_ptr<kube::ObjectApi> local;
};

// What lint checks in an object's resource templates beyond spec::validate: conditions
// that parse, jsonPath templates that parse (those holding {{...}} are checked when they
// run). Adds one diagnostic per mistake, at the template's line.
void check_resource_templates(const spec::Object& object, Diagnostics& out);

class ResourceExecutor : public Executor {
 public:
  ResourceExecutor(std::unique_ptr<Executor> inner, ResourceTargets targets);
  ~ResourceExecutor() override;

  // skiff's own kinds, once what serves them exists (the server's assembly makes it after
  // the executor). Call before the first step starts.
  void set_local(std::shared_ptr<kube::ObjectApi> local);

  void start(StepRequest request) override;
  void kill(const std::string& node_id, const std::string& reason) override;
  std::vector<StepResult> wait(int timeout_ms) override;
  size_t running() const override;
  std::vector<StepStarted> take_started() override;
  void set_interrupt_fd(int fd) override;
  Status open_workflow(WorkflowContext* context) override;
  void release_workflow(const std::string& namespace_, const std::string& name) override;
  void collect_artifacts(const WorkflowContext& workflow, std::vector<std::string> artifacts) override;
  void workflow_ended(const WorkflowContext& workflow, bool succeeded) override;
  Result<LogChunk> read_log(const LogRef& ref, uint64_t offset, size_t max) const override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace skiff::runtime
