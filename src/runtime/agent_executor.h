// AgentExecutor: carries out the templates that run no process of the user's — `http`
// (Argo runs it in its agent pod) and `data` (runtime/data_step.h) — on threads of its
// own, and hands every other step to the executor it wraps.
//
// An http step sends one request: `method` (default GET) to `url`, with `headers` (a
// value, or valueFrom.secretKeyRef read from the workflow's namespace; a `Host` header
// names the virtual host), `body` or `bodyFrom.bytes` (base64), within `timeoutSeconds`
// (no limit when unset, as Argo's agent), trusting any certificate with
// `insecureSkipVerify`. The response body is the node's outputs.result. As Argo's agent
// decides the phase: without `successCondition`, a 2xx status succeeds and anything else
// fails ("received non-2xx response code: 404"); with one, the expression is evaluated over
// `request` {method, url, body, headers} and `response` {statusCode, body, headers (name ->
// list of values, names in Go's canonical form: Content-Type)}, and false fails the step
// ("successCondition '...' evaluated false"). A request that gets no response fails with
// what went wrong. A body past AgentOptions::max_body fails the step rather than fill memory.
//
// Threads: each step runs on a thread of its own (it blocks), at most 64 at once (the rest
// wait their turn); results come back through
// wait() like the wrapped executor's, ringing the interrupt fd. Logs (what was done) are
// kept in memory, capped, until release_workflow().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "runtime/data_step.h"
#include "runtime/executor.h"

namespace skiff::runtime {

struct AgentOptions {
  std::string data_dir;  // the namespaces' secrets and config maps, the local repository
  ExpressionFn evaluate;  // null: a successCondition fails the step saying so
  size_t max_body = 4 << 20;  // bytes of a response body kept (and of outputs.result)
};

class AgentExecutor : public Executor {
 public:
  AgentExecutor(std::unique_ptr<Executor> inner, AgentOptions options);
  ~AgentExecutor() override;

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
  void collect_artifacts(const WorkflowContext& workflow, std::vector<std::string> artifacts) override;
  void workflow_ended(const WorkflowContext& workflow, bool succeeded) override;
  Result<LogChunk> read_log(const LogRef& ref, uint64_t offset, size_t max) const override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace skiff::runtime
