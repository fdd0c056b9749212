#include "server/cron_controller.h"

#include <nlohmann/json.hpp>

#include "engine/workflow_json.h"
#include "expr/eval.h"
#include "expr/template.h"
#include "server/cron_schedule.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {

using Json = nlohmann::json;

constexpr char kCronLabel[] = "workflows.argoproj.io/cron-workflow";
constexpr char kCompletedLabel[] = "workflows.argoproj.io/completed";
constexpr int kMaxCatchUp = 100000;  // schedule steps walked to find the latest missed run

Result<std::vector<CronSchedule>> schedules_of(const Json& spec) {
  std::vector<std::string> texts;
  if (spec.contains("schedule") && spec["schedule"].is_string()) texts.push_back(spec["schedule"]);
  for (const auto& s : spec.value("schedules", Json::array())) {
    if (s.is_string()) texts.push_back(s);
  }
  if (texts.empty()) return invalid("spec.schedule: a CronWorkflow needs schedule or schedules");
  std::vector<CronSchedule> out;
  for (const auto& t : texts) {
    auto s = CronSchedule::parse(t, spec.value("timezone", ""));
    if (!s) return s.status();
    out.push_back(std::move(*s));
  }
  return out;
}

int64_t limit_of(const Json& spec, const char* field, int64_t fallback) {
  return spec.contains(field) && spec[field].is_number_integer() ? spec[field].get<int64_t>() : fallback;
}

}  // namespace

CronController::CronController(store::Store& store, const engine::Clock& clock, Submit submit, Terminate terminate,
                               Remove remove)
    : store_(store),
      clock_(clock),
      submit_(std::move(submit)),
      terminate_(std::move(terminate)),
      remove_(std::move(remove)) {}

Result<int64_t> CronController::next_run(const std::string& cron_json, int64_t after_ms) {
  Json cron = parse_json_or_discarded<Json>(cron_json);
  if (!cron.is_object()) return invalid("the CronWorkflow is not a JSON object");
  auto schedules = schedules_of(cron.value("spec", Json::object()));
  if (!schedules) return schedules.status();
  int64_t next = -1;
  for (const auto& s : *schedules) {
    int64_t t = s.next_after(after_ms);
    if (t >= 0 && (next < 0 || t < next)) next = t;
  }
  return next;
}

void CronController::tick() {
  auto crons = store_.list_objects(store::ObjectKind::kCronWorkflow, "");
  if (!crons) {
    std::fprintf(stderr, "skiff server: cannot list cron workflows: %s\n", crons.status().message().c_str());
    return;
  }
  next_wakeup_ = -1;
  for (const auto& record : *crons) {
    // A write that came between our read and ours (a user's update): read again, run again
    // (a run already made is found by its name, not made twice).
    for (int attempt = 1; run_one(record) == Code::kConflict && attempt < kAttempts; ++attempt) {
    }
  }
}

void CronController::wake_at(int64_t ms) {
  if (ms >= 0 && (next_wakeup_ < 0 || ms < next_wakeup_)) next_wakeup_ = ms;
}

Code CronController::run_one(const store::ObjectRecord& record) {
  auto fresh = store_.get_object(store::ObjectKind::kCronWorkflow, record.namespace_, record.name);
  if (!fresh) return fresh.status().code();  // deleted meanwhile
  Json cron = parse_json_or_discarded<Json>(fresh->body);
  if (!cron.is_object()) return Code::kInvalid;
  const Json spec = cron.value("spec", Json::object());
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
    int64_t keep_ok = limit_of(spec, "successfulJobsHistoryLimit", 3);
    int64_t keep_failed = limit_of(spec, "failedJobsHistoryLimit", 1);
    for (const auto& wf : children->items) {
      bool done = wf.labels.count(kCompletedLabel) && wf.labels.at(kCompletedLabel) == "true";
      if (!done) {
        active.push_back(wf.name);
      } else if (wf.phase == "Succeeded" ? keep_ok-- <= 0 : keep_failed-- <= 0) {
        (void)remove_(ns, wf.name);
      }
    }
  }

  Json conditions = Json::array();
  auto schedules = schedules_of(spec);
  if (!schedules) {
    conditions.push_back({{"type", "SpecError"}, {"status", "True"}, {"message", schedules.status().message()}});
  } else if (!spec.value("suspend", false)) {
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
      int64_t deadline = limit_of(spec, "startingDeadlineSeconds", -1);
      std::string policy = spec.value("concurrencyPolicy", "Allow");
      if (deadline >= 0 && now - due > deadline * 1000) {
        skip = "missed the run at " + engine::rfc3339(due) + " by more than startingDeadlineSeconds";
      } else if (policy == "Forbid" && !active.empty()) {
        skip = "concurrencyPolicy Forbid: " + active.front() + " is still running";
      } else if (std::string when = spec.value("when", ""); !when.empty()) {
        expr::Scope scope;
        scope.set("cronworkflow.name", name);
        scope.set("cronworkflow.namespace", ns);
        scope.set("cronworkflow.lastScheduledTime", before.value("lastScheduledTime", ""));
        auto text = expr::substitute(when, scope);
        auto ok = text ? expr::evaluate_when(*text) : Result<bool>(text.status());
        if (!ok) {
          conditions.push_back({{"type", "SpecError"}, {"status", "True"}, {"message", "when: " + ok.status().message()}});
          skip = "when cannot be evaluated";
        } else if (!*ok) {
          skip = "when \"" + when + "\" is false";
        }
      }
      if (skip.empty()) {
        if (policy == "Replace") {
          for (const auto& a : active) (void)terminate_(ns, a);
        }
        Json wf = {{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "Workflow"}};
        Json meta = spec.value("workflowMetadata", Json::object());
        meta["name"] = name + "-" + std::to_string(due / 1000);
        meta["labels"][kCronLabel] = name;
        meta["annotations"]["workflows.argoproj.io/scheduled-time"] = engine::rfc3339(due);
        wf["metadata"] = meta;
        wf["spec"] = spec.value("workflowSpec", Json::object());
        auto created = submit_(wf.dump(), ns);
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
  for (const auto& a : active) refs.push_back({{"kind", "Workflow"}, {"namespace", ns}, {"name", a}});
  status["active"] = refs;
  status["conditions"] = conditions;
  status["phase"] = spec.value("suspend", false) ? "Suspended" : "Active";
  if (status == before) return Code::kOk;
  cron["status"] = status;
  store::ObjectRecord updated = *fresh;  // at the version read: compare-and-swap
  updated.body = cron.dump();
  Status saved = store_.update_object(store::ObjectKind::kCronWorkflow, updated);
  if (saved.code() == Code::kNotFound) {
    for (const auto& wf : created_now) (void)remove_(ns, wf);  // deleted meanwhile: so are its runs
  }
  return saved.code();
}

}  // namespace skiff::server
