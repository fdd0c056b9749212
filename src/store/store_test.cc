// The store's behaviour, the same on every backend: SQLite always, PostgreSQL when
// SKIFF_TEST_POSTGRES names a database or SKIFF_TEST_POSTGRES_FILE a file holding its URL
// (ctest's store-postgres test starts one with tests/postgres/postgres.py).
#include "store/store.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace skiff::store {
namespace {

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
      std::replace(test.begin(), test.end(), '/', '-');
      dir_ = ::testing::TempDir() + "/skiff-store-" + std::to_string(::getpid()) + "-" + test;
      std::filesystem::remove_all(dir_);
      std::filesystem::create_directories(dir_);
      url_ = "sqlite:" + dir_ + "/skiff.db";
    } else {
      if (const char* pg = std::getenv("SKIFF_TEST_POSTGRES")) url_ = pg;
      if (const char* file = std::getenv("SKIFF_TEST_POSTGRES_FILE"); file && url_.empty()) {
        std::ifstream in(file);
        std::getline(in, url_);
      }
      if (url_.empty()) GTEST_SKIP() << "no PostgreSQL for this run (ctest -R store-postgres starts one)";
    }
    auto s = Store::open(url_);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    store_ = std::move(*s);
    if (GetParam() == "postgres") wipe();
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  // PostgreSQL keeps its database between tests: start each from empty tables.
  void wipe() {
    auto page = store_->list_workflows({});
    ASSERT_TRUE(page.is_ok());
    for (const auto& wf : page->items) ASSERT_TRUE(store_->delete_workflow(wf.namespace_, wf.name).is_ok());
    for (auto kind : {spec::Kind::kWorkflowTemplate, spec::Kind::kClusterWorkflowTemplate, spec::Kind::kCronWorkflow}) {
      auto objects = store_->list_objects(kind, "");
      ASSERT_TRUE(objects.is_ok());
      for (const auto& o : *objects) ASSERT_TRUE(store_->delete_object(kind, o.namespace_, o.name).is_ok());
    }
  }
  static WorkflowRecord wf(const std::string& ns, const std::string& name, int64_t created,
                           std::map<std::string, std::string> labels = {}) {
    WorkflowRecord w;
    w.uid = "uid-" + ns + "-" + name;
    w.namespace_ = ns;
    w.name = name;
    w.created_ms = created;
    w.labels = std::move(labels);
    w.object = R"({"metadata":{"name":")" + name + R"("}})";
    w.status = "{}";
    return w;
  }
  std::vector<std::string> names(const ListQuery& q) {
    auto page = store_->list_workflows(q);
    EXPECT_TRUE(page.is_ok()) << page.status().message();
    std::vector<std::string> out;
    if (page.is_ok()) {
      for (const auto& w : page->items) out.push_back(w.name);
    }
    return out;
  }

  std::string dir_, url_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, CreateGetDeleteWithArgoErrors) {
  ASSERT_TRUE(store_->create_workflow(wf("argo", "a", 1, {{"app", "web"}})).is_ok());
  auto dup = store_->create_workflow(wf("argo", "a", 2));
  EXPECT_EQ(dup.code(), Code::kAlreadyExists);
  EXPECT_EQ(dup.message(), "workflows.argoproj.io \"a\" already exists");
  ASSERT_TRUE(store_->create_workflow(wf("other", "a", 3)).is_ok()) << "names are per namespace";
  auto got = store_->get_workflow("argo", "a");
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(got->uid, "uid-argo-a");
  EXPECT_EQ(got->labels.at("app"), "web");
  EXPECT_EQ(got->labels.at("workflows.argoproj.io/phase"), "Pending");
  EXPECT_EQ(got->labels.at("workflows.argoproj.io/completed"), "false");
  EXPECT_EQ(got->object, R"({"metadata":{"name":"a"}})");
  ASSERT_TRUE(store_->delete_workflow("argo", "a").is_ok());
  auto gone = store_->get_workflow("argo", "a");
  EXPECT_EQ(gone.status().code(), Code::kNotFound);
  EXPECT_EQ(gone.status().message(), "workflows.argoproj.io \"a\" not found");
  EXPECT_EQ(store_->delete_workflow("argo", "a").code(), Code::kNotFound);
  EXPECT_TRUE(store_->get_workflow("other", "a").is_ok());
}

TEST_P(StoreTest, ListsNewestFirstInPages) {
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(store_->create_workflow(wf("argo", "w" + std::to_string(i), 1000 + i)).is_ok());
  ASSERT_TRUE(store_->create_workflow(wf("argo", "same-time-b", 2000)).is_ok());
  ASSERT_TRUE(store_->create_workflow(wf("argo", "same-time-a", 2000)).is_ok());
  ListQuery q;
  q.namespace_ = "argo";
  q.limit = 10;
  std::vector<std::string> all;
  int pages = 0;
  for (;;) {
    auto page = store_->list_workflows(q);
    ASSERT_TRUE(page.is_ok()) << page.status().message();
    ++pages;
    for (const auto& w : page->items) all.push_back(w.name);
    if (page->continue_token.empty()) break;
    q.continue_token = page->continue_token;
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(all.size(), 27u);
  EXPECT_EQ(all[0], "same-time-a");  // equal times: by uid
  EXPECT_EQ(all[1], "same-time-b");
  EXPECT_EQ(all[2], "w24");
  EXPECT_EQ(all.back(), "w0");
  q.continue_token = "not-a-token";
  EXPECT_EQ(store_->list_workflows(q).status().code(), Code::kInvalid);
}

TEST_P(StoreTest, LabelAndFieldSelectors) {
  ASSERT_TRUE(store_->create_workflow(wf("argo", "a", 1, {{"app", "web"}, {"tier", "front"}})).is_ok());
  ASSERT_TRUE(store_->create_workflow(wf("argo", "b", 2, {{"app", "web"}, {"tier", "db"}})).is_ok());
  ASSERT_TRUE(store_->create_workflow(wf("argo", "c", 3, {{"app", "batch"}, {"example.com/canary", "yes"}})).is_ok());
  ASSERT_TRUE(store_->create_workflow(wf("dev", "d", 4, {{"app", "web"}})).is_ok());
  auto sel = [&](const std::string& labels, const std::string& fields = "", const std::string& ns = "") {
    ListQuery q;
    q.label_selector = labels;
    q.field_selector = fields;
    q.namespace_ = ns;
    return names(q);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(sel("app=web"), (V{"d", "b", "a"}));
  EXPECT_EQ(sel("app==web,tier!=db"), (V{"d", "a"}));
  EXPECT_EQ(sel("app in (batch, web),tier"), (V{"b", "a"}));
  EXPECT_EQ(sel("app notin (web)"), (V{"c"}));
  EXPECT_EQ(sel("!tier,app"), (V{"d", "c"}));
  EXPECT_EQ(sel("example.com/canary=yes"), (V{"c"}));
  EXPECT_EQ(sel("app=web", "", "argo"), (V{"b", "a"}));
  EXPECT_EQ(sel("", "metadata.name=b"), (V{"b"}));
  EXPECT_EQ(sel("", "metadata.namespace!=argo"), (V{"d"}));
  EXPECT_EQ(sel("workflows.argoproj.io/phase=Pending", "metadata.name=c"), (V{"c"}));
  ListQuery bad;
  bad.label_selector = "app in web";
  auto r = store_->list_workflows(bad);
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_NE(r.status().message().find("\"app in web\" needs a (list)"), std::string::npos) << r.status().message();
  bad.label_selector = "app=it's";
  EXPECT_EQ(store_->list_workflows(bad).status().code(), Code::kInvalid);
  bad.label_selector = "";
  bad.field_selector = "spec.entrypoint=x";
  EXPECT_NE(store_->list_workflows(bad).status().message().find("field \"spec.entrypoint\" is not supported"),
            std::string::npos);
}

TEST_P(StoreTest, ProgressUpsertsNodesAndFollowsThePhase) {
  ASSERT_TRUE(store_->create_workflow(wf("argo", "run", 1)).is_ok());
  const std::string uid = "uid-argo-run";
  ASSERT_TRUE(store_->save_progress(uid, spec::WorkflowPhase::kRunning, 0, R"({"phase":"Running"})",
                                    {{"run", R"({"phase":"Running"})"}, {"run-1", R"({"phase":"Pending"})"}})
                  .is_ok());
  ASSERT_TRUE(store_->save_progress(uid, spec::WorkflowPhase::kRunning, 0, R"({"phase":"Running"})",
                                    {{"run-1", R"({"phase":"Succeeded"})"}, {"run-2", R"({"phase":"Running"})"}})
                  .is_ok());
  auto nodes = store_->nodes(uid);
  ASSERT_TRUE(nodes.is_ok());
  ASSERT_EQ(nodes->size(), 3u);
  EXPECT_EQ((*nodes)[1].id, "run-1");
  EXPECT_EQ((*nodes)[1].body, R"({"phase":"Succeeded"})");
  auto map = store_->nodes_json(uid);  // one JSON object, by id, as the database builds it
  ASSERT_TRUE(map.is_ok()) << map.status().message();
  EXPECT_EQ(nlohmann::json::parse(*map),
            nlohmann::json::parse(R"({"run":{"phase":"Running"},"run-1":{"phase":"Succeeded"},"run-2":{"phase":"Running"}})"));
  EXPECT_EQ(nlohmann::json::parse(*store_->nodes_json("no-such-uid")), nlohmann::json::object());
  // Nodes only (no status): the workflow's phase and status stay; its version moves on.
  ASSERT_TRUE(store_->save_many({{uid, spec::WorkflowPhase::kPending, 0, "", {{"run-3", R"({"phase":"Pending"})"}}}}).is_ok());
  EXPECT_EQ(store_->get_workflow("argo", "run")->phase, spec::WorkflowPhase::kRunning);
  EXPECT_EQ(store_->get_workflow("argo", "run")->status, R"({"phase":"Running"})");
  ListQuery running;
  running.label_selector = "workflows.argoproj.io/phase=Running";
  EXPECT_EQ(names(running), std::vector<std::string>{"run"});
  auto open = store_->unfinished();
  ASSERT_TRUE(open.is_ok());
  ASSERT_EQ(open->size(), 1u);
  ASSERT_TRUE(store_->save_progress(uid, spec::WorkflowPhase::kSucceeded, 99, R"({"phase":"Succeeded"})", {}).is_ok());
  auto done = store_->get_workflow("argo", "run");
  EXPECT_EQ(done->phase, spec::WorkflowPhase::kSucceeded);
  EXPECT_EQ(done->finished_ms, 99);
  EXPECT_EQ(done->version, 5);
  EXPECT_EQ(done->labels.at("workflows.argoproj.io/completed"), "true");
  EXPECT_TRUE(store_->unfinished()->empty());
  EXPECT_EQ(store_->save_progress("no-such-uid", spec::WorkflowPhase::kRunning, 0, "{}", {}).code(), Code::kNotFound);
  ASSERT_TRUE(store_->delete_workflow("argo", "run").is_ok());
  EXPECT_TRUE(store_->nodes(uid)->empty()) << "nodes go with their workflow";
}

TEST_P(StoreTest, NamedObjects) {
  ObjectRecord t{"argo", "build", R"({"v":1})", 5, 0};
  ASSERT_TRUE(store_->create_object(spec::Kind::kWorkflowTemplate, t).is_ok());
  auto dup = store_->create_object(spec::Kind::kWorkflowTemplate, t);
  EXPECT_EQ(dup.code(), Code::kAlreadyExists);
  EXPECT_EQ(dup.message(), "WorkflowTemplate \"build\" already exists");
  ASSERT_TRUE(store_->create_object(spec::Kind::kCronWorkflow, t).is_ok()) << "kinds are separate";
  ASSERT_TRUE(store_->create_object(spec::Kind::kClusterWorkflowTemplate, {"", "shared", "{}", 6, 0}).is_ok());
  t.body = R"({"v":2})";
  ASSERT_TRUE(store_->update_object(spec::Kind::kWorkflowTemplate, t).is_ok());
  auto got = store_->get_object(spec::Kind::kWorkflowTemplate, "argo", "build");
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(got->body, R"({"v":2})");
  EXPECT_EQ(got->version, 2);
  EXPECT_EQ(got->created_ms, 5);
  EXPECT_EQ(store_->update_object(spec::Kind::kWorkflowTemplate, {"argo", "nope", "{}", 0, 0}).code(), Code::kNotFound);
  EXPECT_EQ(store_->list_objects(spec::Kind::kWorkflowTemplate, "argo")->size(), 1u);
  EXPECT_EQ(store_->list_objects(spec::Kind::kClusterWorkflowTemplate, "")->size(), 1u);
  auto versions = store_->list_object_versions(spec::Kind::kWorkflowTemplate, "");
  ASSERT_TRUE(versions.is_ok());
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ((*versions)[0].name, "build");
  EXPECT_EQ((*versions)[0].version, 2);
  EXPECT_EQ((*versions)[0].body, "");
  ASSERT_TRUE(store_->delete_object(spec::Kind::kWorkflowTemplate, "argo", "build").is_ok());
  auto gone = store_->get_object(spec::Kind::kWorkflowTemplate, "argo", "build");
  EXPECT_EQ(gone.status().code(), Code::kNotFound);
  EXPECT_EQ(gone.status().message(), "WorkflowTemplate \"build\" not found");
}

// Kubernetes' resourceVersion: an update names the version it read, and a stale one is a
// conflict (two writers, two servers on one PostgreSQL); version 0 updates whatever is there.
TEST_P(StoreTest, StaleObjectUpdatesConflict) {
  ASSERT_TRUE(store_->create_object(spec::Kind::kCronWorkflow, {"argo", "nightly", R"({"v":1})", 5, 0}).is_ok());
  auto read = store_->get_object(spec::Kind::kCronWorkflow, "argo", "nightly");
  ASSERT_TRUE(read.is_ok());
  ObjectRecord first = *read, second = *read;
  first.body = R"({"v":"first"})";
  ASSERT_TRUE(store_->update_object(spec::Kind::kCronWorkflow, first).is_ok());
  second.body = R"({"v":"second"})";
  Status stale = store_->update_object(spec::Kind::kCronWorkflow, second);
  EXPECT_EQ(stale.code(), Code::kConflict);
  EXPECT_EQ(stale.message(), "Operation cannot be fulfilled on CronWorkflow \"nightly\": the object has been modified; "
                             "please apply your changes to the latest version and try again");
  auto now = store_->get_object(spec::Kind::kCronWorkflow, "argo", "nightly");
  ASSERT_TRUE(now.is_ok());
  EXPECT_EQ(now->body, R"({"v":"first"})") << "the stale write changed nothing";
  ObjectRecord latest = *now;
  latest.body = R"({"v":"third"})";
  ASSERT_TRUE(store_->update_object(spec::Kind::kCronWorkflow, latest).is_ok());
  ObjectRecord any{"argo", "nightly", R"({"v":"any"})", 0, 0};
  ASSERT_TRUE(store_->update_object(spec::Kind::kCronWorkflow, any).is_ok());
  EXPECT_EQ(store_->update_object(spec::Kind::kCronWorkflow, {"argo", "nope", "{}", 0, 3}).code(), Code::kNotFound);
}

TEST_P(StoreTest, SurvivesReopening) {
  ASSERT_TRUE(store_->create_workflow(wf("argo", "kept", 1)).is_ok());
  ASSERT_TRUE(store_->save_progress("uid-argo-kept", spec::WorkflowPhase::kRunning, 0, "{}", {{"n1", "{}"}}).is_ok());
  store_.reset();
  auto again = Store::open(url_);
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ((*again)->get_workflow("argo", "kept")->phase, spec::WorkflowPhase::kRunning);
  EXPECT_EQ((*again)->nodes("uid-argo-kept")->size(), 1u);
  store_ = std::move(*again);
}

// A phase word this version does not know (a newer skiff's, or a damaged row) reads as
// Pending everywhere: the record, the counts by phase, and the workflows to resume.
TEST_P(StoreTest, UnknownStoredPhaseTextReadsAsPending) {
  ASSERT_TRUE(store_->create_workflow(wf("argo", "odd", 1)).is_ok());
  ASSERT_TRUE(store_->create_workflow(wf("argo", "done", 2)).is_ok());
  ASSERT_TRUE(store_->save_progress("uid-argo-done", spec::WorkflowPhase::kSucceeded, 9, "{}", {}).is_ok());
  store_.reset();
  {
    auto db = open_db(url_);
    ASSERT_TRUE(db.is_ok()) << db.status().message();
    ASSERT_TRUE((*db)->exec("UPDATE workflows SET phase = 'Paused' WHERE name = 'odd'").is_ok());
  }
  auto again = Store::open(url_);
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  store_ = std::move(*again);
  EXPECT_EQ(store_->get_workflow("argo", "odd")->phase, spec::WorkflowPhase::kPending);
  auto counts = store_->count_by_phase();
  ASSERT_TRUE(counts.is_ok());
  EXPECT_EQ((*counts)[spec::WorkflowPhase::kPending], 1);
  EXPECT_EQ((*counts)[spec::WorkflowPhase::kSucceeded], 1);
  auto open = store_->unfinished();
  ASSERT_TRUE(open.is_ok());
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].name, "odd");
}

// Workflows have their own tables: the objects calls refuse them rather than mix them in.
TEST_P(StoreTest, ObjectCallsRefuseKindsKeptElsewhere) {
  Status s = store_->create_object(spec::Kind::kWorkflow, {"argo", "w", "{}", 1, 0});
  EXPECT_EQ(s.code(), Code::kInternal);
  EXPECT_EQ(store_->list_objects(spec::Kind::kWorkflow, "").status().code(), Code::kInternal);
}

TEST(StoreOpen, RefusesUnknownUrlsAndUnreachableServers) {
  auto bad = Store::open("mysql://x");
  EXPECT_EQ(bad.status().code(), Code::kInvalid);
  EXPECT_NE(bad.status().message().find("expected sqlite:PATH or postgres://"), std::string::npos);
  auto down = Store::open("postgres://nobody@127.0.0.1:1/x?connect_timeout=2");
  EXPECT_EQ(down.status().code(), Code::kUnavailable);
  EXPECT_NE(down.status().message().find("connecting to PostgreSQL"), std::string::npos);
}

TEST(StoreOpen, ANewSqliteDatabaseIsItsOwnersOnly) {
  std::string dir = ::testing::TempDir() + "/skiff-store-mode-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    auto s = Store::open("sqlite:" + dir + "/skiff.db");
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    ASSERT_TRUE((*s)->create_object(spec::Kind::kWorkflowTemplate, {"argo", "t", "{}", 1, 1}).is_ok());
    for (const char* f : {"/skiff.db", "/skiff.db-wal"}) {
      auto perms = std::filesystem::status(dir + f).permissions();
      EXPECT_EQ(perms, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write) << f;
    }
  }
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace skiff::store
