// The cron controller over a real SQLite store with a hand-moved clock; workflows it
// submits are recorded in the store as the server would, and finished by the test.
#include "server/cron_controller.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

namespace skiff::server {
namespace {

using Json = nlohmann::json;

class FakeClock final : public engine::Clock {
 public:
  int64_t now_ms() const override { return now; }
  int64_t now = 1'798'761'600'000;  // 2027-01-01T00:00:00Z
};

constexpr int64_t kMinute = 60'000;

class CronTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("skiff-cron-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    auto s = store::Store::open("sqlite:" + (dir_ / "db").string());
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    store_ = std::move(*s);
    cron_ = std::make_unique<CronController>(
        *store_, clock_,
        [this](const std::string& json, const std::string& ns) -> Result<std::string> {
          Json wf = Json::parse(json);
          store::WorkflowRecord r;
          r.name = wf["metadata"]["name"];
          r.uid = r.name;
          r.namespace_ = ns;
          r.phase = spec::WorkflowPhase::kRunning;
          r.created_ms = clock_.now;
          for (auto& [k, v] : wf["metadata"]["labels"].items()) r.labels[k] = v;
          r.object = json;
          r.status = "{}";
          if (Status st = store_->create_workflow(r); !st) return st;
          submitted.push_back(r.name);
          if (while_submitting) std::exchange(while_submitting, nullptr)();
          return r.name;
        },
        [this](const std::string&, const std::string& name) {
          terminated.push_back(name);
          return finish(name, spec::WorkflowPhase::kFailed);
        },
        [this](const std::string& ns, const std::string& name) { return store_->delete_workflow(ns, name); });
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Status finish(const std::string& name, spec::WorkflowPhase phase) {
    return store_->save_progress(name, phase, clock_.now, "{}", {});
  }

  void create(const std::string& spec_json) {
    Json cron = {{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "CronWorkflow"}, {"metadata", {{"name", "nightly"}}}};
    cron["spec"] = Json::parse(spec_json);
    cron["spec"]["workflowSpec"] = {{"entrypoint", "main"}, {"templates", Json::array()}};
    ASSERT_TRUE(store_->create_object(spec::Kind::kCronWorkflow, {"argo", "nightly", cron.dump(), clock_.now, 1}).is_ok());
  }

  Json status() {
    auto rec = store_->get_object(spec::Kind::kCronWorkflow, "argo", "nightly");
    return Json::parse(rec->body).value("status", Json::object());
  }

  void at(int64_t ms) {
    clock_.now = ms;
    cron_->tick();
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<CronController> cron_;
  std::vector<std::string> submitted, terminated;
  std::function<void()> while_submitting;  // once, between the controller's read and its write
};

TEST_F(CronTest, RunsWhenDueNamedByTheScheduledTime) {
  int64_t t0 = clock_.now;
  create(R"({"schedule": "*/5 * * * *"})");
  at(t0 + 4 * kMinute);
  EXPECT_TRUE(submitted.empty());
  at(t0 + 5 * kMinute + 300);
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(submitted[0], "nightly-" + std::to_string((t0 + 5 * kMinute) / 1000));
  EXPECT_EQ(status()["lastScheduledTime"], "2027-01-01T00:05:00Z");
  EXPECT_EQ(status()["active"][0]["name"], submitted[0]);
  at(t0 + 6 * kMinute);  // nothing new is due
  EXPECT_EQ(submitted.size(), 1u);
  // The labels Argo sets.
  store::ListQuery q;
  q.label_selector = "workflows.argoproj.io/cron-workflow=nightly";
  EXPECT_EQ(store_->list_workflows(q)->items.size(), 1u);
}

TEST_F(CronTest, MissedRunsCollapseIntoTheLatestUnlessPastTheStartingDeadline) {
  int64_t t0 = clock_.now;
  create(R"({"schedule": "* * * * *", "startingDeadlineSeconds": 30})");
  at(t0 + 10 * kMinute + 10'000);  // ten runs missed; the latest is 10 s late
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(submitted[0], "nightly-" + std::to_string((t0 + 10 * kMinute) / 1000));
  at(t0 + 20 * kMinute + 45'000);  // the latest is 45 s late: skipped
  EXPECT_EQ(submitted.size(), 1u);
  EXPECT_EQ(status()["lastScheduledTime"], "2027-01-01T00:20:00Z");
}

TEST_F(CronTest, ForbidSkipsWhileOneRunsReplaceStopsIt) {
  int64_t t0 = clock_.now;
  create(R"({"schedule": "* * * * *", "concurrencyPolicy": "Forbid"})");
  at(t0 + kMinute);
  at(t0 + 2 * kMinute);
  EXPECT_EQ(submitted.size(), 1u);
  ASSERT_TRUE(finish(submitted[0], spec::WorkflowPhase::kSucceeded).is_ok());
  at(t0 + 3 * kMinute);
  EXPECT_EQ(submitted.size(), 2u);

  auto rec = store_->get_object(spec::Kind::kCronWorkflow, "argo", "nightly");
  Json cron = Json::parse(rec->body);
  cron["spec"]["concurrencyPolicy"] = "Replace";
  rec->body = cron.dump();
  ASSERT_TRUE(store_->update_object(spec::Kind::kCronWorkflow, *rec).is_ok());
  at(t0 + 4 * kMinute);
  ASSERT_EQ(terminated.size(), 1u);
  EXPECT_EQ(terminated[0], submitted[1]);
  EXPECT_EQ(submitted.size(), 3u);
}

TEST_F(CronTest, SuspendAndWhenHoldItBack) {
  int64_t t0 = clock_.now;
  create(R"({"schedule": "* * * * *", "suspend": true})");
  at(t0 + kMinute);
  EXPECT_TRUE(submitted.empty());
  EXPECT_EQ(status()["phase"], "Suspended");
  auto rec = store_->get_object(spec::Kind::kCronWorkflow, "argo", "nightly");
  Json cron = Json::parse(rec->body);
  cron["spec"]["suspend"] = false;
  cron["spec"]["when"] = "{{cronworkflow.name}} == daily";
  rec->body = cron.dump();
  ASSERT_TRUE(store_->update_object(spec::Kind::kCronWorkflow, *rec).is_ok());
  at(t0 + 2 * kMinute);
  EXPECT_TRUE(submitted.empty());
  cron["spec"]["when"] = "{{cronworkflow.name}} == nightly";
  rec = store_->get_object(spec::Kind::kCronWorkflow, "argo", "nightly");
  Json current = Json::parse(rec->body);
  current["spec"] = cron["spec"];
  rec->body = current.dump();
  ASSERT_TRUE(store_->update_object(spec::Kind::kCronWorkflow, *rec).is_ok());
  at(t0 + 3 * kMinute);
  EXPECT_EQ(submitted.size(), 1u);
}

// The strict decoder takes quoted booleans and integers (YAML users quote them); the
// controller reads the spec the decoder made, so they mean what they say. (It once re-read
// the raw JSON: `suspend: "true"` threw and took the server down, a quoted limit was ignored.)
TEST_F(CronTest, QuotedValuesMeanWhatTheDecoderReadInThem) {
  int64_t t0 = clock_.now;
  create(R"({"schedule": "* * * * *", "suspend": "true", "successfulJobsHistoryLimit": "1"})");
  at(t0 + kMinute);
  EXPECT_TRUE(submitted.empty());
  EXPECT_EQ(status()["phase"], "Suspended");
  EXPECT_TRUE(status()["conditions"].empty()) << status().dump();

  auto rec = store_->get_object(spec::Kind::kCronWorkflow, "argo", "nightly");
  Json cron = Json::parse(rec->body);
  cron["spec"]["suspend"] = "false";
  rec->body = cron.dump();
  ASSERT_TRUE(store_->update_object(spec::Kind::kCronWorkflow, *rec).is_ok());
  for (int i = 2; i <= 4; ++i) {
    at(t0 + i * kMinute);
    ASSERT_EQ(submitted.size(), static_cast<size_t>(i - 1));
    ASSERT_TRUE(finish(submitted.back(), spec::WorkflowPhase::kSucceeded).is_ok());
  }
  at(t0 + 4 * kMinute + 1000);
  store::ListQuery q;
  q.label_selector = "workflows.argoproj.io/cron-workflow=nightly";
  auto page = store_->list_workflows(q);
  ASSERT_TRUE(page.is_ok());
  ASSERT_EQ(page->items.size(), 1u) << "successfulJobsHistoryLimit \"1\" keeps one";
  EXPECT_EQ(page->items[0].name, submitted.back());
}

// What the controller submits: workflowMetadata's labels and annotations with Argo's own,
// and the workflowSpec as written.
TEST_F(CronTest, RunsCarryWorkflowMetadataAndSpec) {
  int64_t t0 = clock_.now;
  create(R"({"schedule": "* * * * *", "workflowMetadata": {"labels": {"team": "web"}, "annotations": {"note": "x"}}})");
  at(t0 + kMinute);
  ASSERT_EQ(submitted.size(), 1u);
  auto wf = store_->get_workflow("argo", submitted[0]);
  ASSERT_TRUE(wf.is_ok());
  Json object = Json::parse(wf->object);
  EXPECT_EQ(object["kind"], "Workflow");
  EXPECT_EQ(object["metadata"]["labels"]["team"], "web");
  EXPECT_EQ(object["metadata"]["labels"]["workflows.argoproj.io/cron-workflow"], "nightly");
  EXPECT_EQ(object["metadata"]["annotations"]["note"], "x");
  EXPECT_EQ(object["metadata"]["annotations"]["workflows.argoproj.io/scheduled-time"], "2027-01-01T00:01:00Z");
  EXPECT_EQ(object["spec"], Json::parse(R"({"entrypoint": "main", "templates": []})"));
}

TEST_F(CronTest, HistoryLimitsDeleteOlderFinishedRuns) {
  int64_t t0 = clock_.now;
  create(R"({"schedule": "* * * * *", "successfulJobsHistoryLimit": 2, "failedJobsHistoryLimit": 1})");
  for (int i = 1; i <= 6; ++i) {
    at(t0 + i * kMinute);
    ASSERT_EQ(submitted.size(), static_cast<size_t>(i));
    ASSERT_TRUE(finish(submitted.back(), i % 2 ? spec::WorkflowPhase::kFailed : spec::WorkflowPhase::kSucceeded).is_ok());
  }
  at(t0 + 6 * kMinute + 1000);  // cleans up without a new run
  store::ListQuery q;
  q.label_selector = "workflows.argoproj.io/cron-workflow=nightly";
  std::vector<std::string> left;
  auto page = store_->list_workflows(q);
  ASSERT_TRUE(page.is_ok());
  for (const auto& wf : page->items) left.push_back(wf.name);
  std::sort(left.begin(), left.end());
  std::vector<std::string> want = {submitted[3], submitted[4], submitted[5]};  // 2 succeeded + the last failed
  std::sort(want.begin(), want.end());
  EXPECT_EQ(left, want);
}

// A user's update that lands while the controller works on the same CronWorkflow: the
// controller's status write is stale (409), so it reads again and runs again (the run it
// made already exists: no second one), and both writes survive.
TEST_F(CronTest, AUserUpdateAndAStatusWriteDoNotOverwriteEachOther) {
  int64_t t0 = clock_.now;
  create(R"({"schedule": "* * * * *"})");
  while_submitting = [this] {
    auto rec = store_->get_object(spec::Kind::kCronWorkflow, "argo", "nightly");
    Json cron = Json::parse(rec->body);
    cron["spec"]["failedJobsHistoryLimit"] = 4;
    rec->body = cron.dump();
    ASSERT_TRUE(store_->update_object(spec::Kind::kCronWorkflow, *rec).is_ok());
  };
  at(t0 + kMinute);
  EXPECT_EQ(submitted.size(), 1u);
  auto rec = store_->get_object(spec::Kind::kCronWorkflow, "argo", "nightly");
  Json cron = Json::parse(rec->body);
  EXPECT_EQ(cron["spec"]["failedJobsHistoryLimit"], 4);
  EXPECT_EQ(status()["lastScheduledTime"], "2027-01-01T00:01:00Z");
  EXPECT_EQ(status()["active"][0]["name"], submitted[0]);
  at(t0 + kMinute + 1000);
  EXPECT_EQ(submitted.size(), 1u);
}

// A CronWorkflow deleted while the controller was starting its run: the run goes too (as
// the delete route removes the runs it found before).
TEST_F(CronTest, ARunMadeForACronWorkflowDeletedMeanwhileGoesWithIt) {
  int64_t t0 = clock_.now;
  create(R"({"schedule": "* * * * *"})");
  while_submitting = [this] {
    ASSERT_TRUE(store_->delete_object(spec::Kind::kCronWorkflow, "argo", "nightly").is_ok());
  };
  at(t0 + kMinute);
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(store_->get_workflow("argo", submitted[0]).status().code(), Code::kNotFound);
}

// The controller loop sleeps till the next firing; while a run goes on, a second at most.
TEST_F(CronTest, NextWakeupIsTheNextFiringOrSoonWhileRunsGoOn) {
  int64_t t0 = clock_.now;
  at(t0);
  EXPECT_EQ(cron_->next_wakeup_ms(), -1);  // no CronWorkflows: only a poke wakes it
  create(R"({"schedule": "*/5 * * * *"})");
  at(t0 + kMinute);
  EXPECT_EQ(cron_->next_wakeup_ms(), t0 + 5 * kMinute);
  at(t0 + 5 * kMinute);
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(cron_->next_wakeup_ms(), t0 + 5 * kMinute + 1000);
  ASSERT_TRUE(finish(submitted[0], spec::WorkflowPhase::kSucceeded).is_ok());
  at(t0 + 6 * kMinute);
  EXPECT_EQ(cron_->next_wakeup_ms(), t0 + 10 * kMinute);
}

TEST_F(CronTest, TimezonesAndBadSchedules) {
  spec::CronSpec paris;
  paris.schedules = {"0 9 * * *"};
  paris.timezone = "Europe/Paris";
  auto next = CronController::next_run(paris, clock_.now);
  ASSERT_TRUE(next.is_ok());
  EXPECT_EQ(*next, clock_.now + 8 * 60 * kMinute);  // 09:00 in Paris is 08:00 UTC in winter
  spec::CronSpec wrong;
  wrong.schedules = {"61 * * * *"};
  auto bad = CronController::next_run(wrong, clock_.now);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("minute"), std::string::npos);
  create(R"({"schedule": "every day"})");
  at(clock_.now + kMinute);
  EXPECT_EQ(status()["conditions"][0]["type"], "SpecError");
}

}  // namespace
}  // namespace skiff::server
