// CronController: runs the stored CronWorkflows, as Argo's cron controller does.
//
// Once a tick it reads every CronWorkflow and, for one whose schedule (any of `schedules`,
// in its `timezone`) came due since it last ran, creates the Workflow of its workflowSpec
// named "<cron>-<scheduled unix seconds>" with the label workflows.argoproj.io/cron-workflow
// — a name fixed by the scheduled time, so a restart never runs the same time twice. Runs
// missed while the server was down collapse into the most recent one, which is skipped when
// it is later than startingDeadlineSeconds allows. `suspend` and `when` hold it back;
// concurrencyPolicy Allow runs beside active children, Forbid skips, Replace stops them
// first. Finished children beyond successfulJobsHistoryLimit (default 3) and
// failedJobsHistoryLimit (default 1) are deleted. What it did is kept in the object's
// `status` (lastScheduledTime, active, phase, conditions).
//
// It works from the typed spec::CronSpec the strict decoder gives, so whatever the decoder
// accepts (`suspend: "true"`, a quoted history limit) means the same here; a spec is
// decoded again only when the stored text changed. Only `status` is written as JSON.
//
// It runs on the controller loop (controller.h) and wants its next tick at the earliest
// next firing of any CronWorkflow, or a second from now while one has runs going (to see
// them end); the API pokes the loop when a CronWorkflow changes. Its status writes are
// compare-and-swap on the version it read: when a user's update came between, it reads
// the object again and does its work again (a run already made is found by its name).
//
// Thread: the controller loop's.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>

#include "engine/operator.h"
#include "server/controller.h"
#include "spec/types.h"
#include "store/store.h"
#include "util/status.h"

namespace skiff::server {

class CronController final : public Controller {
 public:
  // Creates a workflow from its JSON in a namespace (through the same checks as the API).
  using Submit = std::function<Result<std::string>(const std::string& workflow_json, const std::string& namespace_)>;
  // Stops a running workflow as `argo terminate` does.
  using Terminate = std::function<Status(const std::string& namespace_, const std::string& name)>;

  // Deletes a workflow with its logs.
  using Remove = std::function<Status(const std::string& namespace_, const std::string& name)>;

  CronController(store::Store& store, const engine::Clock& clock, Submit submit, Terminate terminate, Remove remove);

  // Looks at every CronWorkflow once.
  void tick() override;
  int64_t next_wakeup_ms() const override { return next_wakeup_; }

  // The first time any of a CronWorkflow's schedules fires after `after_ms` (-1: never);
  // errors name the bad schedule or time zone.
  static Result<int64_t> next_run(const spec::CronSpec& cron, int64_t after_ms);

 private:
  static constexpr int kAttempts = 5;            // reads of one CronWorkflow a tick, when writes conflict
  static constexpr int64_t kActivePollMs = 1000;  // how soon to look again while runs go on

  // A stored CronWorkflow's spec as decoded from `body` (`problem` when it does not decode).
  struct Decoded {
    std::string body;
    Status problem;
    spec::CronSpec cron;
  };

  // One CronWorkflow: kOk, or why its status was not written (kConflict: read it again).
  Code run_one(const store::ObjectRecord& record);
  const Decoded& decoded(const store::ObjectRecord& record);
  void wake_at(int64_t ms);

  store::Store& store_;
  const engine::Clock& clock_;
  int64_t next_wakeup_ = -1;
  Submit submit_;
  Terminate terminate_;
  Remove remove_;
  std::map<std::pair<std::string, std::string>, Decoded> decoded_;  // by (namespace, name)
};

}  // namespace skiff::server
