// Runner: drives many workflows at once over one executor, and keeps the store current.
// It is the one bridge between engine and executor: it turns the engine's actions into
// executor requests and the executor's reports into engine events, for `skiff server`
// (its runner thread, api.cc) and `skiff run` (its main thread, over a store in memory).
// A new kind of action is carried out here, once, for both.
//
// Each workflow has its own Operator; the Runner gives the executor step keys
// "<uid>/<node id>" (node ids are unique only within a workflow) and routes exits back by
// them. One turn: wait for step events (or the earliest timer), hand them to their
// operators, fire due timers, write the workflows' changed nodes and status to the store
// (one transaction for all of them), and only then carry out the turn's actions — so a step
// never starts before its node is on disk. A turn is bounded, so that its owner serves
// other work between turns however big a workflow is: it writes at most a few thousand
// nodes (the rest go in the next turns) and spends at most ~50 ms starting steps (the
// rest wait in their workflow's queue). With a step limit (set_max_steps), steps beyond it
// wait there too and free slots go to the workflows in turn (round robin), so a huge DAG
// cannot starve the rest. Mutexes and semaphores (`synchronization`) are shared by all of
// its workflows through one LockManager: the engine asks (AcquireLock) and the Runner answers
// it, and the others a release lets in, in the same turn. Single-threaded: one thread calls
// add() and turn().
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/operator.h"
#include "runtime/executor.h"
#include "server/events.h"
#include "server/lock_manager.h"
#include "server/metrics.h"
#include "spec/pod.h"
#include "spec/types.h"
#include "spec/validate.h"
#include "store/store.h"

namespace skiff::server {

class Runner {
 public:
  Runner(runtime::Executor& executor, store::Store& store, const engine::Clock& clock, std::string data_dir);
  ~Runner();

  // Someone following one workflow as it runs (`skiff run`'s live view): called with the
  // run's operator before it starts; returns an observer that is told every change from
  // the first on, on the runner's thread (nullptr: none). The observer must outlive the run.
  using Watch = std::function<engine::Observer*(const engine::Operator&)>;

  // Creates the workflow's record (kAlreadyExists if its namespace has one of that name)
  // and starts it. `templates` (WorkflowTemplates, ClusterWorkflowTemplates) serve its
  // workflowTemplateRef/templateRef; the run keeps its own copies. Returns the record.
  Result<store::WorkflowRecord> add(spec::Object workflow, std::vector<spec::Object> templates,
                                    engine::RunOptions options, const Watch& watch = {});
  // The operator of the run with that uid (nullptr: none). The caller may keep it after
  // the run ends and the runner lets go of it: it holds on to what the operator reads.
  std::shared_ptr<const engine::Operator> operator_of(const std::string& uid) const;

  // Takes up a stored workflow that had not finished when the server stopped (or was
  // killed). Its operator starts again from the top, and every step the store says had
  // finished is answered from the store instead of being run again, so decisions, node ids
  // and outputs come out as before and nothing is duplicated. A step that was running kept
  // running under its supervisor (runtime/supervisor.h): the executor adopts it and reports
  // its real end. Nodes keep their stored start times (deadlines count from them), and
  // those the store holds in a finished phase keep their stored record.
  Status resume(const store::WorkflowRecord& record, spec::Object workflow, std::vector<spec::Object> templates);
  // `argo retry`: runs a finished, unsuccessful workflow again, keeping the steps that
  // succeeded (answered from the store) and running the rest anew.
  Status retry(const store::WorkflowRecord& record, spec::Object workflow, std::vector<spec::Object> templates);
  // `argo stop` (exit handlers still run) and `argo terminate` (they do not).
  Status stop(const std::string& namespace_, const std::string& name, const std::string& message, bool terminate);

  // Deletes a workflow: its record, nodes and what the executor keeps for it (logs,
  // claims: Executor::release_workflow). A running one is terminated first and its files
  // go once its steps have ended.
  Status remove(const std::string& namespace_, const std::string& name);

  // `argo suspend`, `argo resume [--node-field-selector]` and `argo node set` on a running
  // workflow. A workflow-level suspend is kept in the stored definition (spec.suspend) and
  // what was set on Suspend nodes in their stored records, so both outlive a restart.
  Status suspend(const std::string& namespace_, const std::string& name);
  Status resume(const std::string& namespace_, const std::string& name, const std::string& selector);
  Result<int> set_nodes(const std::string& namespace_, const std::string& name, const std::string& selector,
                        const engine::NodeUpdate& update);

  // At most `n` steps running at once across all workflows (0: no limit).
  void set_max_steps(size_t n) { max_steps_ = n; }
  // At most `n` nodes in one workflow (0: no limit): see engine::RunOptions::max_nodes.
  void set_max_nodes(size_t n) { max_nodes_ = n; }
  // Whether to keep disk space in reserve in the data directory (the default), so that a
  // delete can still be stored on a full disk. A run whose store is in memory needs none.
  void set_space_reserve(bool keep) { keep_reserve_ = keep; }
  // What the executor does with pod-level fields (runtime/pod_support.h): a workflow setting
  // one it refuses is not started; those it ignores become the workflow's SpecWarning.
  void set_pod_support(spec::PodFieldSupport support) { pod_support_ = std::move(support); }

  // Where workflows' declared metrics and the runner's own figures go (nullptr: nowhere).
  void set_metrics(MetricsRegistry* metrics) { metrics_ = metrics; }
  // Where workflow and node phase changes are told as events (nullptr: nowhere).
  void set_events(EventLog* events) { events_ = events; }

  // One turn, waiting at most `max_wait_ms` for something to happen.
  void turn(int max_wait_ms);
  // How long the owner may sleep before the next turn (at most `max_ms`) when no step is
  // running to wake it: until the earliest timer; 0 while steps run or wait for a start.
  int idle_ms(int max_ms) const;
  // Whether, as the last turn left them, only a call from outside (resume, stop) can move
  // the workflows on: no step runs or waits to start, nothing waits to be written, and no
  // timer is set. A call since then may have given them work: turn() before asking again.
  bool stalled() const;
  // Workflows that finished since the last call and that their ttlStrategy deletes
  // (secondsAfterCompletion / Success / Failure): when, as epoch ms.
  struct Expiry {
    std::string namespace_, name;
    int64_t due_ms = 0;
  };
  std::vector<Expiry> take_expiries() { return std::exchange(expiries_, {}); }
  // When a finished workflow's ttlStrategy deletes it (-1: never).
  static int64_t expiry(const spec::WorkflowSpec& spec, spec::WorkflowPhase phase, int64_t finished_ms);

  // Workflows not finished yet (or with steps still winding down).
  size_t active() const { return runs_.size(); }

 private:
  struct Run;
  Status restart(const store::WorkflowRecord& record, spec::Object workflow, std::vector<spec::Object> templates,
                 bool succeeded_only);
  Result<std::unique_ptr<Run>> prepare(spec::Object workflow, std::vector<spec::Object> templates,
                                       engine::RunOptions& options);
  void carry_out(Run& run, std::vector<engine::Action> actions);
  // What changed in `run` since it was last written, at most `*budget` nodes of it (and
  // counts them off); false when there is nothing to write.
  bool collect(Run& run, store::Store::Progress* out, size_t* budget);
  // Events for phase changes, told after the turn is stored.
  void note_node_event(Run& run, const engine::Node& node);
  void note_workflow_event(Run& run, const engine::WorkflowStatus& status);
  // Writes every run's changes in one transaction, up to a turn's worth of nodes.
  void persist_all();
  void route_started();
  // Starts a step through the executor (the slot is free).
  void launch(Run& run, engine::StartStep start, bool adopt = false);
  // Whether a step may start now: a slot is free and the turn has time left.
  bool may_launch() const;
  // Hands free slots to queued steps, one workflow at a time; whether it started any.
  bool dispatch();
  // Whether work is left from the last turn (steps to start, nodes to write).
  bool behind() const;
  // Ends a run whose record was deleted while it ran.
  void forget(Run& run);
  // artifactGC OnWorkflowDeletion: the stored workflow's artifacts that go with it.
  void collect_deleted_artifacts(const std::string& namespace_, const std::string& name);
  // The run of that workflow; with `running_only`, only while it has not finished.
  Run* find(const std::string& namespace_, const std::string& name, bool running_only = true);
  Status keep_suspend_flag(Run& run, bool suspended);
  // After a restart: Suspend nodes the store says were resumed or set get that again.
  void replay_suspend_nodes(Run& run);
  // Synchronization: the engine's lock requests and releases, and the answers they bring
  // (to this run or to others); then status.synchronization of the workflows they changed.
  void acquire_lock(Run& run, const engine::AcquireLock& request);
  void answer_locks(const std::vector<std::pair<std::string, LockManager::Answer>>& answers);
  void refresh_lock_status();
  // Disk space held back so that a delete can still be stored on a full disk.
  void keep_reserve();
  bool release_reserve();

  runtime::Executor& executor_;
  store::Store& store_;
  const engine::Clock& clock_;
  std::string data_dir_;
  std::map<std::string, std::shared_ptr<Run>> runs_;  // by uid (shared: see operator_of)
  size_t rotation_ = 0;
  size_t max_steps_ = 0;
  size_t max_nodes_ = 0;
  bool keep_reserve_ = true;
  spec::PodFieldSupport pod_support_;
  size_t live_total_ = 0;  // steps given to the executor and not yet exited
  size_t queued_total_ = 0;
  size_t dispatch_cursor_ = 0;
  std::chrono::steady_clock::time_point slice_end_;  // this turn's time for starting steps
  bool save_failed_ = false;                         // the last write of progress failed
  std::vector<Expiry> expiries_;
  MetricsRegistry* metrics_ = nullptr;
  EventLog* events_ = nullptr;
  uint64_t reserve_check_ = 0;
  LockManager locks_;
};

}  // namespace skiff::server
