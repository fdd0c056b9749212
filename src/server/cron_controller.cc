#include "server/cron_controller.h"

#include <nlohmann/json.hpp>

#include "engine/workflow_json.h"
#include "expr/eval.h"
#include "expr/template.h"
#include "server/cron_schedule.h"
#include "spec/decode.h"
#include "spec/kinds.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {

using Json = nlohmann::json;

constexpr char kCronLabel[] = "workflows.argoproj.io/cron-workflow";
constexpr char kCompletedLabel[] = "workflows.argoproj.io/completed";
constexpr int kMaxCatchUp = 100000;  // schedule steps walked to find the latest missed run

Result<std::vector<CronSchedule>> schedules_of(const spec::CronSpec& cron) {
  if (cron.schedules.empty()) return invalid("spec.schedule: a CronWorkflow needs schedule or schedules");
  std::vector<CronSchedule> out;
  for (const auto& text : cron.schedules) {
    auto s = CronSchedule::parse(text, cron.timezone);
    if (!s) return s.status();
    out.push_back(std::move(*s));
  }
  return out;
}

// The Workflow a run at `due` creates: workflowMetadata and workflowSpec, named and
// labelled as Argo names and labels it.
Json workflow_of(const spec::CronSpec& cron, const std::string& name, int64_t due) {
  const spec::ObjectMeta& m = cron.workflow_metadata;
  Json meta = Json::object();
  if (!m.generate_name.empty()) meta["generateName"] = m.generate_name;
  if (!m.namespace_.empty()) meta["namespace"] = m.namespace_;
  for (const auto& [k, v] : m.labels) meta["labels"][k] = v;
  for (const auto& [k, v] : m.annotations) meta["annotations"][k] = v;
  meta["name"] = name + "-" + std::to_string(due / 1000);
  meta["labels"][kCronLabel] = name;
  meta["annotations"]["workflows.argoproj.io/scheduled-time"] = engine::rfc3339(due);
  const spec::KindInfo& kind = spec::kind_info(spec::Kind::kWorkflow);
  Json spec = parse_json_or_discarded<Json>(cron.workflow_spec_json);
  return {{"apiVersion", kind.api_version}, {"kind", kind.name}, {"metadata", meta},
          {"spec", spec.is_object() ? spec : Json::object()}};
}

}  // namespace

CronController::CronController(store::Store& store, const engine::Clock& clock, Submit submit, Terminate terminate,
                               Remove remove)
    : store_(store),
      clock_(clock),
      submit_(std::move(submit)),
      terminate_(std::move(terminate)),
      remove_(std::move(remove)) {}

Result<int64_t> CronController::next_run(const spec::CronSpec& cron, int64_t after_ms) {
  auto schedules = schedules_of(cron);
  if (!schedules) return schedules.status();
  int64_t next = -1;
  for (const auto& s : *schedules) {
    int64_t t = s.next_after(after_ms);
    if (t >= 0 && (next < 0 || t < next)) next = t;
  }
  return next;
}

void CronController::tick() {
  auto crons = store_.list_objects(spec::Kind::kCronWorkflow, "");
  if (!crons) {
    std::fprintf(stderr, "skiff server: cannot list cron workflows: %s\n", crons.status().message().c_str());
    return;
  }
  next_wakeup_ = -1;
  std::map<std::pair<std::string, std::string>, Decoded> seen;  // forget the deleted ones
  for (const auto& record : *crons) {
    // A write that came between our read and ours (a user's update): read again, run again
    // (a run already made is found by its name, not made twice).
    for (int attempt = 1; run_one(record) == Code::kConflict && attempt < kAttempts; ++attempt) {
    }
    auto key = std::make_pair(record.namespace_, record.name);
    if (auto it = decoded_.find(key); it != decoded_.end()) seen.emplace(key, std::move(it->second));
  }
  decoded_.swap(seen);
}

const CronController::Decoded& CronController::decoded(const store::ObjectRecord& record) {
  Decoded& d = decoded_[{record.namespace_, record.name}];
  if (d.body == record.body) return d;
  d = Decoded{record.body, Status::ok(), {}};
  spec::Decoded doc = spec::decode_documents(record.body, record.namespace_ + "/" + record.name);
  if (!doc.diagnostics.empty()) {
    d.problem = invalid(format_all(doc.diagnostics));
  } else if (doc.objects.size() != 1 || !doc.objects[0].cron) {
    d.problem = invalid("the stored object is not one CronWorkflow");
  } else {
    d.cron = std::move(*doc.objects[0].cron);
  }
  return d;
}

void CronController::wake_at(int64_t ms) {
  if (ms >= 0 && (next_wakeup_ < 0 || ms < next_wakeup_)) next_wakeup_ = ms;
}

Code CronController::run_one(const store::ObjectRecord& record) {
  auto fresh = store_.get_object(spec::Kind::kCronWorkflow, record.namespace_, record.name);
  if (!fresh) return fresh.status().code();  // deleted meanwhile
  Json cron = parse_json_or_discarded<Json>(fresh->body);
  if (!cron.is_object()) return Code::kInvalid;
  const Decoded& d = decoded(*fresh);
  const spec::CronSpec& spec = d.cron;  // defaults when it does not decode
  Json status = cron.value("status", Json::object());
  const Json before = status;
  const std::string& ns = record.namespace_;
  const std::string& name = record.name;
  int64_t now = clock_.now_ms();

  // Children: the active ones, and finished ones beyond the history limits go.
  store::ListQuery q;
  q.namespace_ = ns;
  q.label_selector = std::string(kCronLabel) + "=" + name;
  auto children = store_.list_workflows(q);  // newest first
  std::vector<std::string> active, created_now;
  if (children) {
    int64_t keep_ok = spec.successful_jobs_history_limit.value_or(3);
    int64_t keep_failed = spec.failed_jobs_history_limit.value_or(1);
    for (const auto& wf : children->items) {
      bool done = wf.labels.count(kCompletedLabel) && wf.labels.at(kCompletedLabel) == "true";
      if (!done) {
        active.push_back(wf.name);
      } else if (wf.phase == spec::WorkflowPhase::kSucceeded ? keep_ok-- <= 0 : keep_failed-- <= 0) {
        (void)remove_(ns, wf.name);
      }
    }
  }

  Json conditions = Json::array();
  auto schedules = d.problem ? schedules_of(spec) : Result<std::vector<CronSchedule>>(d.problem);
  if (!schedules) {
    conditions.push_back({{"type", "SpecError"}, {"status", "True"}, {"message", schedules.status().message()}});
  } else if (!spec.suspend) {
    // The latest firing time in (last run, now].
    int64_t last = status.contains("lastScheduledTime") ? engine::parse_rfc3339(status.value("lastScheduledTime", "")) : -1;
    if (last < 0) last = fresh->created_ms;
    int64_t due = -1;
    for (const auto& s : *schedules) {
      int steps = 0;
      for (int64_t t = s.next_after(last); t >= 0 && t <= now && steps < kMaxCatchUp; t = s.next_after(t), ++steps) {
        if (t > due) due = t;
      }
    }
    if (due >= 0) {
      status["lastScheduledTime"] = engine::rfc3339(due);
      std::string skip;
      int64_t deadline = spec.starting_deadline_seconds.value_or(-1);
      const std::string& policy = spec.concurrency_policy;  // "" is Allow
      if (deadline >= 0 && now - due > deadline * 1000) {
        skip = "missed the run at " + engine::rfc3339(due) + " by more than startingDeadlineSeconds";
      } else if (policy == "Forbid" && !active.empty()) {
        skip = "concurrencyPolicy Forbid: " + active.front() + " is still running";
      } else if (!spec.when.empty()) {
        expr::Scope scope;
        scope.set("cronworkflow.name", name);
        scope.set("cronworkflow.namespace", ns);
        scope.set("cronworkflow.lastScheduledTime", before.value("lastScheduledTime", ""));
        auto text = expr::substitute(spec.when, scope);
        auto ok = text ? expr::evaluate_when(*text) : Result<bool>(text.status());
        if (!ok) {
          conditions.push_back({{"type", "SpecError"}, {"status", "True"}, {"message", "when: " + ok.status().message()}});
          skip = "when cannot be evaluated";
        } else if (!*ok) {
          skip = "when \"" + spec.when + "\" is false";
        }
      }
      if (skip.empty()) {
        if (policy == "Replace") {
          for (const auto& a : active) (void)terminate_(ns, a);
        }
        auto created = submit_(workflow_of(spec, name, due).dump(), ns);
        if (created) {
          active.push_back(*created);
          created_now.push_back(*created);
        } else if (created.status().code() != Code::kAlreadyExists) {
          conditions.push_back({{"type", "SubmissionError"}, {"status", "True"}, {"message", created.status().message()}});
        }
      } else {
        std::fprintf(stderr, "skiff server: cron workflow %s/%s skipped a run: %s\n", ns.c_str(), name.c_str(), skip.c_str());
      }
    }
    for (const auto& s : *schedules) wake_at(s.next_after(std::max(now, last)));  // the next firing
  }
  if (!active.empty()) wake_at(now + kActivePollMs);  // to see them end, and keep the history limits
  Json refs = Json::array();
  for (const auto& a : active) refs.push_back({{"kind", spec::kind_name(spec::Kind::kWorkflow)}, {"namespace", ns}, {"name", a}});
  status["active"] = refs;
  status["conditions"] = conditions;
  status["phase"] = spec.suspend ? "Suspended" : "Active";
  if (status == before) return Code::kOk;
  cron["status"] = status;
  store::ObjectRecord updated = *fresh;  // at the version read: compare-and-swap
  updated.body = cron.dump();
  Status saved = store_.update_object(spec::Kind::kCronWorkflow, updated);
  if (saved.code() == Code::kNotFound) {
    for (const auto& wf : created_now) (void)remove_(ns, wf);  // deleted meanwhile: so are its runs
  }
  return saved.code();
}

}  // namespace skiff::server
