// The Kubernetes client against the real test cluster (scripts/k8s-up; ctest k8s/client).
// Every run works in a namespace and a CRD group of its own and deletes them at the end,
// so runs are independent and repeatable. Exits 77 (skipped) when the cluster is not up.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "kube/client.h"
#include "util/json_text.h"

namespace skiff::kube {
namespace {

using nlohmann::json;

std::string g_kubeconfig;

class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<ClusterConfig> config = load_kubeconfig(g_kubeconfig);
    ASSERT_TRUE(config) << config.status().message();
    client_ = new Client(*config);
    run_ = std::to_string(::getpid()) + "-" + std::to_string(std::time(nullptr) % 100000);  // pids recur
    ns_ = "skiff-client-" + run_;
    Result<json> created = client_->create({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns_}}}}, "");
    ASSERT_TRUE(created) << created.status().message();
  }
  static void TearDownTestSuite() {
    if (!client_) return;
    Status s = client_->remove({"v1", "Namespace", "", ns_}, "", {Propagation::kBackground});
    EXPECT_TRUE(s) << s.message();
    delete client_;
    client_ = nullptr;
  }

  static json config_map(const std::string& name, const json& labels = json::object(), const json& data = {{"k", "v"}}) {
    return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"labels", labels}}}, {"data", data}};
  }

  // Polls `predicate` until it holds or `seconds` pass.
  template <class F>
  static bool eventually(F predicate, int seconds = 60) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < end) {
      if (predicate()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  static Client* client_;
  static std::string run_;  // this run's own suffix
  static std::string ns_;
};

Client* ClusterTest::client_ = nullptr;
std::string ClusterTest::run_;
std::string ClusterTest::ns_;

TEST_F(ClusterTest, DiscoversCoreAndGroupKinds) {
  Result<ResourceInfo> cm = client_->resolve("v1", "ConfigMap");
  ASSERT_TRUE(cm) << cm.status().message();
  EXPECT_EQ(cm->group, "");
  EXPECT_EQ(cm->version, "v1");
  EXPECT_EQ(cm->resource, "configmaps");
  EXPECT_TRUE(cm->namespaced);
  Result<ResourceInfo> deploy = client_->resolve("apps/v1", "Deployment");
  ASSERT_TRUE(deploy) << deploy.status().message();
  EXPECT_EQ(deploy->group, "apps");
  EXPECT_EQ(deploy->resource, "deployments");
  Result<ResourceInfo> role = client_->resolve("rbac.authorization.k8s.io/v1", "ClusterRole");
  ASSERT_TRUE(role) << role.status().message();
  EXPECT_FALSE(role->namespaced);

  Result<ResourceInfo> typo = client_->resolve("v1", "Configmap");
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.status().code(), Code::kNotFound);
  EXPECT_EQ(typo.status().message(), "no kind \"Configmap\" in apiVersion \"v1\" on the cluster at " +
                                         client_->config().server + "; did you mean \"ConfigMap\"?");
  Result<ResourceInfo> group = client_->resolve("nothing.skiff.dev/v1", "Foo");
  ASSERT_FALSE(group);
  EXPECT_EQ(group.status().message(), "no kind \"Foo\" in apiVersion \"nothing.skiff.dev/v1\" on the cluster at " +
                                          client_->config().server + " (it serves no apiVersion \"nothing.skiff.dev/v1\")");
  Result<json> got = client_->get({"v1", "Foo", "", "x"}, ns_);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.status().message().rfind("get Foo x: no kind \"Foo\"", 0), 0u) << got.status().message();
}

TEST_F(ClusterTest, ErrorsCarryTheActionTheObjectAndTheApisMessage) {
  ASSERT_TRUE(client_->create(config_map("dup"), ns_));
  Result<json> again = client_->create(config_map("dup"), ns_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "create ConfigMap " + ns_ + "/dup: configmaps \"dup\" already exists");

  Result<json> missing = client_->get({"v1", "ConfigMap", "", "nope"}, ns_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().message(), "get ConfigMap " + ns_ + "/nope: configmaps \"nope\" not found");

  Result<json> bad = client_->create(config_map("Not_A_Name"), ns_);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().code(), Code::kInvalid);  // 422
  EXPECT_NE(bad.status().message().find("create ConfigMap " + ns_ + "/Not_A_Name: ConfigMap \"Not_A_Name\" is invalid"),
            std::string::npos)
      << bad.status().message();

  // 409 Conflict: a replace from a stale read; retry_on_conflict reads again and wins.
  Result<json> first = client_->get({"v1", "ConfigMap", "", "dup"}, ns_);
  ASSERT_TRUE(first);
  json stale = *first;
  (*first)["data"]["k"] = "second";
  ASSERT_TRUE(client_->replace(*first, ns_));
  stale["data"]["k"] = "third";
  Result<json> lost = client_->replace(stale, ns_);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.status().code(), Code::kConflict);
  EXPECT_NE(lost.status().message().find("replace ConfigMap " + ns_ + "/dup: Operation cannot be fulfilled"),
            std::string::npos)
      << lost.status().message();
  int attempts = 0;
  Status s = retry_on_conflict([&] {
    Result<json> now = client_->get({"v1", "ConfigMap", "", "dup"}, ns_);
    if (!now) return now.status();
    json update = ++attempts == 1 ? stale : *now;  // the first attempt writes the stale copy
    update["data"]["k"] = "third";
    Result<json> done = client_->replace(update, ns_);
    return done ? Status::ok() : done.status();
  });
  EXPECT_TRUE(s) << s.message();
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ((*client_->get({"v1", "ConfigMap", "", "dup"}, ns_))["data"]["k"], "third");
}

TEST_F(ClusterTest, CreateWithGenerateNameAndDefaultNamespaces) {
  json object = config_map("");
  object["metadata"].erase("name");
  object["metadata"]["generateName"] = "gen-";
  Result<json> created = client_->create(object, ns_);
  ASSERT_TRUE(created) << created.status().message();
  std::string name = (*created)["metadata"]["name"];
  EXPECT_EQ(name.rfind("gen-", 0), 0u);
  EXPECT_GT(name.size(), 4u);
  EXPECT_EQ((*created)["metadata"]["namespace"], ns_);
  // An object's own namespace wins over the default; a cluster-scoped kind has none.
  Result<json> own = client_->get({"v1", "ConfigMap", ns_, name}, "default");
  ASSERT_TRUE(own) << own.status().message();
  Result<json> node_ns = client_->get({"v1", "Namespace", "ignored", ns_}, "default");
  ASSERT_TRUE(node_ns) << node_ns.status().message();
  EXPECT_FALSE((*node_ns)["metadata"].contains("namespace"));
}

TEST_F(ClusterTest, StrategicMergeOfAConfigMapAndADeployment) {
  ASSERT_TRUE(client_->create(config_map("smp", json::object(), {{"a", "1"}, {"b", "2"}}), ns_));
  Result<json> cm = client_->patch({"v1", "ConfigMap", "", "smp"}, ns_, PatchType::kStrategicMerge,
                                   R"({"data":{"b":null,"c":"3"}})");
  ASSERT_TRUE(cm) << cm.status().message();
  EXPECT_EQ((*cm)["data"], json({{"a", "1"}, {"c", "3"}}));

  json deploy = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
    "spec":{"replicas":0,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[
        {"name":"app","image":"busybox:latest","command":["sleep","3600"]},
        {"name":"side","image":"busybox:latest","command":["sleep","3600"]}]}}}})");
  ASSERT_TRUE(client_->create(deploy, ns_));
  // Containers merge by name: "app" gets a new image, "side" is kept.
  Result<json> patched = client_->patch({"apps/v1", "Deployment", "", "web"}, ns_, PatchType::kStrategicMerge,
                                        R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":"busybox:1.36"}]}}}})");
  ASSERT_TRUE(patched) << patched.status().message();
  const json& containers = (*patched)["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 2u);
  EXPECT_EQ(containers[0]["image"], "busybox:1.36");
  EXPECT_EQ(containers[0]["command"], json({"sleep", "3600"}));
  EXPECT_EQ(containers[1]["name"], "side");

  // Foreground: the Deployment waits (finalizer foregroundDeletion) for its ReplicaSets.
  Status s = client_->remove({"apps/v1", "Deployment", "", "web"}, ns_, {Propagation::kForeground, 0});
  ASSERT_TRUE(s) << s.message();
  EXPECT_TRUE(eventually([&] {
    Result<json> gone = client_->get({"apps/v1", "Deployment", "", "web"}, ns_);
    return !gone && gone.status().code() == Code::kNotFound;
  }));
  Status twice = client_->remove({"apps/v1", "Deployment", "", "web"}, ns_, {});
  EXPECT_EQ(twice.code(), Code::kNotFound);
  EXPECT_EQ(twice.message(), "delete Deployment " + ns_ + "/web: deployments.apps \"web\" not found");
}

TEST_F(ClusterTest, ACustomResourceDefinitionCreatedHereResolvesAndServesItsKind) {
  std::string group = "t" + run_ + ".client.skiff.dev";
  std::string api_version = group + "/v1";
  Result<ResourceInfo> before = client_->resolve(api_version, "Widget");
  ASSERT_FALSE(before);
  EXPECT_EQ(before.status().code(), Code::kNotFound);

  json crd = json::parse(R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "spec":{"scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget"},
      "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object",
        "properties":{"spec":{"type":"object","properties":{
          "size":{"type":"integer"},"color":{"type":"string"},
          "tags":{"type":"array","items":{"type":"string"}}}}}}}}]}})");
  crd["metadata"]["name"] = "widgets." + group;
  crd["spec"]["group"] = group;
  ASSERT_TRUE(client_->apply(crd, "", {"skiff-test", false}));
  ObjectRef crd_ref{"apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets." + group};
  bool established = eventually([&] {
    Result<json> now = client_->get(crd_ref, "");
    if (!now || !(*now)["status"].contains("conditions")) return false;
    for (const json& c : (*now)["status"]["conditions"]) {
      if (c["type"] == "Established" && c["status"] == "True") return true;
    }
    return false;
  });
  ASSERT_TRUE(established);

  Result<ResourceInfo> after = client_->resolve(api_version, "Widget");  // the miss reads discovery again
  ASSERT_TRUE(after) << after.status().message();
  EXPECT_EQ(after->resource, "widgets");
  EXPECT_TRUE(after->namespaced);

  json widget = {{"apiVersion", api_version}, {"kind", "Widget"}, {"metadata", {{"name", "w1"}}},
                 {"spec", {{"color", "red"}}}};
  ObjectRef ref{api_version, "Widget", "", "w1"};
  ASSERT_TRUE(client_->create(widget, ns_));
  Result<json> got = client_->get(ref, ns_);
  ASSERT_TRUE(got) << got.status().message();
  EXPECT_EQ((*got)["spec"]["color"], "red");

  // Server-side apply, twice by one manager: the second changes its own field. (The
  // create's fields belong to the manager "skiff", the client's user agent.)
  json applied = {{"apiVersion", api_version}, {"kind", "Widget"}, {"metadata", {{"name", "w1"}}}, {"spec", {{"size", 2}}}};
  Result<json> a1 = client_->apply(applied, ns_, {"manager-a", false});
  ASSERT_TRUE(a1) << a1.status().message();
  EXPECT_EQ((*a1)["spec"]["size"], 2);
  applied["spec"]["size"] = 3;
  Result<json> a2 = client_->apply(applied, ns_, {"manager-a", false});
  ASSERT_TRUE(a2) << a2.status().message();
  EXPECT_EQ((*a2)["spec"]["size"], 3);
  EXPECT_EQ((*a2)["spec"]["color"], "red");  // the creator's field, untouched
  // Another manager wanting the same field: a conflict, unless it forces.
  applied["spec"]["size"] = 4;
  Result<json> b = client_->apply(applied, ns_, {"manager-b", false});
  ASSERT_FALSE(b);
  EXPECT_EQ(b.status().code(), Code::kConflict);
  EXPECT_NE(b.status().message().find("apply Widget " + ns_ + "/w1: Apply failed with 1 conflict"), std::string::npos)
      << b.status().message();
  Result<json> forced = client_->apply(applied, ns_, {"manager-b", true});
  ASSERT_TRUE(forced) << forced.status().message();
  EXPECT_EQ((*forced)["spec"]["size"], 4);

  Result<json> merged = client_->patch(ref, ns_, PatchType::kMerge, R"({"spec":{"color":"blue","tags":["x"]}})");
  ASSERT_TRUE(merged) << merged.status().message();
  EXPECT_EQ((*merged)["spec"]["color"], "blue");
  Result<json> jsonp = client_->patch(ref, ns_, PatchType::kJson,
                                      R"([{"op":"add","path":"/spec/tags/-","value":"y"},{"op":"remove","path":"/spec/color"}])");
  ASSERT_TRUE(jsonp) << jsonp.status().message();
  EXPECT_EQ((*jsonp)["spec"]["tags"], json({"x", "y"}));
  EXPECT_FALSE((*jsonp)["spec"].contains("color"));
  Result<json> smp = client_->patch(ref, ns_, PatchType::kStrategicMerge, R"({"spec":{"size":5}})");
  ASSERT_FALSE(smp);  // custom resources take no strategic merge (415)
  EXPECT_EQ(smp.status().code(), Code::kInvalid);
  Result<json> schema = client_->patch(ref, ns_, PatchType::kMerge, R"({"spec":{"size":"big"}})");
  ASSERT_FALSE(schema);  // 422 from the CRD's schema
  EXPECT_EQ(schema.status().code(), Code::kInvalid);
  EXPECT_NE(schema.status().message().find("spec.size"), std::string::npos) << schema.status().message();

  Status removed = client_->remove(ref, ns_, {Propagation::kBackground, 0});
  ASSERT_TRUE(removed) << removed.message();
  EXPECT_TRUE(eventually([&] { return !client_->get(ref, ns_); }));
  ASSERT_TRUE(client_->remove(crd_ref, "", {Propagation::kBackground}));
}

TEST_F(ClusterTest, ListFollowsPagesAndSelectsByLabel) {
  for (const char* name : {"page-a", "page-b", "page-c"}) ASSERT_TRUE(client_->create(config_map(name, {{"set", "pages"}}), ns_));
  ASSERT_TRUE(client_->create(config_map("page-other", {{"set", "other"}}), ns_));
  Result<json> list = client_->list("v1", "ConfigMap", ns_, {"set=pages", "", 1});
  ASSERT_TRUE(list) << list.status().message();
  EXPECT_EQ((*list)["kind"], "ConfigMapList");
  EXPECT_FALSE((*list)["metadata"]["resourceVersion"].get<std::string>().empty());
  std::vector<std::string> names;
  for (const json& item : (*list)["items"]) {
    names.push_back(item["metadata"]["name"]);
    EXPECT_EQ(item["kind"], "ConfigMap");
    EXPECT_EQ(item["apiVersion"], "v1");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"page-a", "page-b", "page-c"}));
  Result<json> by_field = client_->list("v1", "ConfigMap", ns_, {"", "metadata.name=page-b", 0});
  ASSERT_TRUE(by_field) << by_field.status().message();
  EXPECT_EQ((*by_field)["items"].size(), 1u);
  Result<json> bad = client_->list("v1", "ConfigMap", ns_, {"set in (", "", 0});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().code(), Code::kInvalid);
  EXPECT_EQ(bad.status().message().rfind("list ConfigMap in namespace " + ns_ + ": ", 0), 0u) << bad.status().message();
}

TEST_F(ClusterTest, OneClientServesSeveralThreads) {
  Result<ClusterConfig> config = load_kubeconfig(g_kubeconfig);
  ASSERT_TRUE(config);
  Client fresh(*config);  // its discovery cache starts empty: the threads fill it at once
  std::atomic<int> ok{0};
  std::vector<std::string> errors;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        std::string name = "thread-" + std::to_string(t) + "-" + std::to_string(i);
        Result<json> made = fresh.create(config_map(name, {{"set", "threads"}}), ns_);
        Result<json> read = made ? fresh.get({"v1", "ConfigMap", "", name}, ns_) : made;
        if (read && (*read)["metadata"]["name"] == name) {
          ++ok;
        } else {
          std::lock_guard<std::mutex> lock(mu);
          errors.push_back(read.status().message());
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok, 20) << (errors.empty() ? "" : errors[0]);
  Result<json> all = fresh.list("v1", "ConfigMap", ns_, {"set=threads", "", 7});
  ASSERT_TRUE(all) << all.status().message();
  EXPECT_EQ((*all)["items"].size(), 20u);
}

// The events a watch reports, as "TYPE name" lines.
struct Recorder {
  std::mutex mu;
  std::vector<std::string> events;
  void add(const std::string& type, const json& object) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(type + " " + object["metadata"].value("name", ""));
  }
  std::vector<std::string> snapshot() {
    std::lock_guard<std::mutex> lock(mu);
    return events;
  }
};

TEST_F(ClusterTest, WatchSeesChangesAndResumesAcrossDroppedConnections) {
  ASSERT_TRUE(client_->create(config_map("w-before", {{"set", "watch"}}), ns_));
  Recorder seen;
  std::atomic<bool> stop{false};
  WatchOptions options;
  options.label_selector = "set=watch";
  options.timeout_seconds = 1;  // the server ends each connection after a second: the watch resumes
  options.cancelled = [&] { return stop.load(); };
  Status result;
  std::thread watcher([&] {
    result = client_->watch("v1", "ConfigMap", ns_, options, [&](const std::string& type, const json& object) {
      seen.add(type, object);
      return !(type == "DELETED" && object["metadata"]["name"] == "w-new");
    });
  });
  ASSERT_TRUE(eventually([&] { return !seen.snapshot().empty(); }, 30));  // the initial list
  ASSERT_TRUE(client_->create(config_map("w-new", {{"set", "watch"}}), ns_));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_TRUE(client_->patch({"v1", "ConfigMap", "", "w-new"}, ns_, PatchType::kMerge, R"({"data":{"k":"2"}})"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_TRUE(client_->remove({"v1", "ConfigMap", "", "w-new"}, ns_, {}));
  bool done = eventually([&] { return seen.snapshot().size() >= 4; }, 30);
  stop = true;
  watcher.join();
  ASSERT_TRUE(done);
  EXPECT_TRUE(result) << result.message();
  EXPECT_EQ(seen.snapshot(), (std::vector<std::string>{"ADDED w-before", "ADDED w-new", "MODIFIED w-new", "DELETED w-new"}));
}

TEST_F(ClusterTest, WatchOfOneNameFromAResourceVersion) {
  Result<json> start = client_->list("v1", "ConfigMap", ns_);
  ASSERT_TRUE(start);
  ASSERT_TRUE(client_->create(config_map("one-a"), ns_));
  ASSERT_TRUE(client_->create(config_map("one-b"), ns_));
  ASSERT_TRUE(client_->remove({"v1", "ConfigMap", "", "one-b"}, ns_, {}));
  WatchOptions options;
  options.name = "one-b";
  options.resource_version = (*start)["metadata"]["resourceVersion"];
  Recorder seen;
  Status s = client_->watch("v1", "ConfigMap", ns_, options, [&](const std::string& type, const json& object) {
    seen.add(type, object);
    return type != "DELETED";
  });
  EXPECT_TRUE(s) << s.message();
  EXPECT_EQ(seen.snapshot(), (std::vector<std::string>{"ADDED one-b", "DELETED one-b"}));
}

// Compacts the cluster's etcd up to its current revision, as the API server does every
// five minutes: older resourceVersions become too old to watch from. Through etcd's HTTP
// gateway (scripts/k8s-up: plain HTTP on 127.0.0.1:12379).
Status compact_etcd() {
  net::HttpClient etcd;
  std::string base = "http://127.0.0.1:12379/v3/kv/";
  net::Request range;
  range.method = "POST";
  range.url = base + "range";
  range.body = R"({"key":"AA=="})";
  Result<net::Response> got = etcd.send(range);
  if (!got || got->status != 200) return failed("etcd range: " + (got ? got->body : got.status().message()));
  auto header = parse_json_or_discarded<json>(got->body);
  if (!header.is_object() || !header["header"].contains("revision")) return failed("etcd range: " + got->body);
  net::Request compact;
  compact.method = "POST";
  compact.url = base + "compaction";
  compact.body = json{{"revision", header["header"]["revision"]}, {"physical", true}}.dump();
  got = etcd.send(compact);
  if (!got || got->status != 200) return failed("etcd compaction: " + (got ? got->body : got.status().message()));
  return Status::ok();
}

// Events have no watch cache in the API server: a watch of them from a compacted
// resourceVersion is answered from etcd with an ERROR event, code 410 (Expired).
TEST_F(ClusterTest, WatchFromACompactedResourceVersionRelists) {
  // Labelled: the cluster's controllers write Events of their own in this namespace.
  json event = {{"apiVersion", "v1"}, {"kind", "Event"}, {"metadata", {{"name", "old-rv"}, {"labels", {{"set", "compacted"}}}}},
                {"involvedObject", {{"kind", "ConfigMap"}, {"name", "x"}, {"namespace", ns_}}},
                {"reason", "Test"}, {"message", "for the watch"}, {"type", "Normal"}};
  ASSERT_TRUE(client_->create(event, ns_));
  Status compacted = compact_etcd();
  ASSERT_TRUE(compacted) << compacted.message();
  WatchOptions options;
  options.label_selector = "set=compacted";
  options.resource_version = "2";
  std::vector<std::string> types;
  json list;
  Status s = client_->watch("v1", "Event", ns_, options, [&](const std::string& type, const json& object) {
    types.push_back(type);
    list = object;
    return false;
  });
  EXPECT_TRUE(s) << s.message();
  ASSERT_EQ(types, std::vector<std::string>{"RELISTED"});
  EXPECT_EQ(list["kind"], "EventList");
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["items"][0]["metadata"]["name"], "old-rv");
  EXPECT_FALSE(list["metadata"]["resourceVersion"].get<std::string>().empty());
}

TEST_F(ClusterTest, WatchOfAnUnknownKindOrWithABadSelectorFails) {
  WatchOptions options;
  Status unknown = client_->watch("v1", "Nope", ns_, options, [](const std::string&, const json&) { return true; });
  EXPECT_EQ(unknown.code(), Code::kNotFound);
  options.label_selector = "a in (";
  options.resource_version = "0";
  Status bad = client_->watch("v1", "ConfigMap", ns_, options, [](const std::string&, const json&) { return true; });
  EXPECT_EQ(bad.code(), Code::kInvalid) << bad.message();
}

}  // namespace
}  // namespace skiff::kube

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* state = std::getenv("SKIFF_K8S_STATE");
  std::string env_path = std::string(state && *state ? state : "/var/tmp/skiff-k8s") + "/env.json";
  std::ifstream in(env_path);
  if (!in) {
    std::fprintf(stderr, "the test cluster is not up (no %s): run scripts/k8s-up\n", env_path.c_str());
    return 77;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto env = skiff::parse_json_or_discarded<nlohmann::json>(text);
  if (!env.is_object() || !env.contains("kubeconfig") || !env["kubeconfig"].is_string()) {
    std::fprintf(stderr, "%s names no kubeconfig\n", env_path.c_str());
    return 1;
  }
  skiff::kube::g_kubeconfig = env["kubeconfig"];
  return RUN_ALL_TESTS();
}
