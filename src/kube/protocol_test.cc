// The client's handling of answers a real API server gives only under load or after a
// failure (429 with Retry-After, 5xx, a watch stream that ends, BOOKMARK events, 410 Gone
// as an HTTP status, ERROR events), scripted by a local HTTP server. Everything else is
// tested against the real cluster (cluster_test.cc, ctest k8s/client).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "kube/client.h"

namespace skiff::kube {
namespace {

using nlohmann::json;

const char* kResources =
    R"({"kind":"APIResourceList","groupVersion":"v1","resources":[
        {"name":"configmaps","namespaced":true,"kind":"ConfigMap","verbs":["get","list","watch"]},
        {"name":"configmaps/status","namespaced":true,"kind":"ConfigMap","verbs":["get"]}]})";

std::string event(const std::string& type, const std::string& name, const std::string& rv) {
  return json{{"type", type},
              {"object", {{"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"resourceVersion", rv}}}}}}
             .dump() + "\n";
}

class ProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/api/v1", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kResources, "application/json");
    });
    server_.Get("/api/v1/namespaces/ns/configmaps/busy", [this](const httplib::Request&, httplib::Response& res) {
      if (++busy_calls_ == 1) {
        res.status = 429;
        res.set_header("Retry-After", "1");
        res.set_content(R"({"kind":"Status","code":429,"message":"too many requests"})", "application/json");
        return;
      }
      res.set_content(R"({"kind":"ConfigMap","metadata":{"name":"busy"}})", "application/json");
    });
    server_.Get("/api/v1/namespaces/ns/configmaps/down", [this](const httplib::Request&, httplib::Response& res) {
      ++down_calls_;
      res.status = 503;
      res.set_content("upstream connect error", "text/plain");
    });
    server_.Post("/api/v1/namespaces/ns/configmaps", [this](const httplib::Request&, httplib::Response& res) {
      ++post_calls_;
      res.status = 500;
      res.set_content(R"({"kind":"Status","code":500,"message":"etcdserver: request timed out"})", "application/json");
    });
    server_.Get("/api/v1/namespaces/ns/configmaps", [this](const httplib::Request& req, httplib::Response& res) {
      if (!req.has_param("watch")) {  // the relist after 410
        res.set_content(R"({"kind":"ConfigMapList","metadata":{"resourceVersion":"20"},
                            "items":[{"metadata":{"name":"a","resourceVersion":"19"}}]})",
                        "application/json");
        return;
      }
      int n;
      {
        std::lock_guard<std::mutex> lock(mu_);
        watch_rvs_.push_back(req.get_param_value("resourceVersion"));
        n = static_cast<int>(watch_rvs_.size());
      }
      std::string body;
      if (n == 1) {
        body = event("ADDED", "a", "6") + event("BOOKMARK", "", "8");  // then the stream ends
      } else if (n == 2) {
        res.status = 410;
        res.set_content(R"({"kind":"Status","code":410,"reason":"Expired","message":"too old"})", "application/json");
        return;
      } else if (n == 3) {
        body = R"({"type":"ERROR","object":{"kind":"Status","code":500,"message":"internal error"}})" "\n";
      } else {
        body = event("MODIFIED", "a", "21");
      }
      res.set_chunked_content_provider("application/json", [body](size_t, httplib::DataSink& sink) {
        sink.write(body.data(), body.size());
        sink.done();
        return true;
      });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    ClusterConfig config;
    config.server = "http://127.0.0.1:" + std::to_string(port_);
    client_ = std::make_unique<Client>(config, RetryPolicy{3, 5000, 10, 50});
  }
  void TearDown() override {
    client_.reset();  // closes its kept-alive connections, which the server would wait for
    server_.stop();
    thread_.join();
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::unique_ptr<Client> client_;
  std::atomic<int> busy_calls_{0}, down_calls_{0}, post_calls_{0};
  std::mutex mu_;
  std::vector<std::string> watch_rvs_;
};

TEST_F(ProtocolTest, TooManyRequestsIsRetriedAfterRetryAfter) {
  Result<json> got = client_->get({"v1", "ConfigMap", "", "busy"}, "ns");
  ASSERT_TRUE(got) << got.status().message();
  EXPECT_EQ(busy_calls_, 2);
}

TEST_F(ProtocolTest, ARetryAfterPastTheTimeLeftIsNotWaitedFor) {
  ClusterConfig config;
  config.server = "http://127.0.0.1:" + std::to_string(port_);
  Client hurried(config, RetryPolicy{3, 500, 10, 50});  // Retry-After: 1 is more than 500 ms
  Result<json> got = hurried.get({"v1", "ConfigMap", "", "busy"}, "ns");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.status().code(), Code::kUnavailable);
  EXPECT_EQ(got.status().message(), "get ConfigMap ns/busy: too many requests");
  EXPECT_EQ(busy_calls_, 1);
}

TEST_F(ProtocolTest, UnavailableGivesUpAfterTheAttemptsAndSaysSo) {
  Result<json> got = client_->get({"v1", "ConfigMap", "", "down"}, "ns");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.status().code(), Code::kUnavailable);
  EXPECT_EQ(got.status().message(), "get ConfigMap ns/down: HTTP 503 (upstream connect error) (after 3 attempts)");
  EXPECT_EQ(down_calls_, 3);
}

TEST_F(ProtocolTest, ACreateIsNotRepeatedAfterAServerError) {
  Result<json> got = client_->create({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "x"}}}}, "ns");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.status().code(), Code::kUnavailable);
  EXPECT_EQ(got.status().message(), "create ConfigMap ns/x: etcdserver: request timed out");
  EXPECT_EQ(post_calls_, 1);
}

TEST_F(ProtocolTest, WatchResumesFromBookmarksRelistsOnGoneAndRidesOutErrorEvents) {
  std::vector<std::string> seen;
  WatchOptions options;
  options.resource_version = "5";
  Status s = client_->watch("v1", "ConfigMap", "ns", options, [&](const std::string& type, const json& object) {
    if (type == "RELISTED") {
      seen.push_back(type + " " + object["metadata"]["resourceVersion"].get<std::string>() + " " +
                     object["items"][0]["metadata"]["name"].get<std::string>());
    } else {
      seen.push_back(type + " " + object["metadata"]["name"].get<std::string>());
    }
    return type != "MODIFIED";
  });
  EXPECT_TRUE(s) << s.message();
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED a", "RELISTED 20 a", "MODIFIED a"}));
  // The bookmark's resourceVersion is where the second connection resumed; the relist's,
  // the third; an ERROR event (500) is a reconnection from the same point.
  EXPECT_EQ(watch_rvs_, (std::vector<std::string>{"5", "8", "20", "20"}));
}

TEST_F(ProtocolTest, WatchGivesUpWhenTheServerIsGone) {
  ClusterConfig config;
  config.server = "http://127.0.0.1:1";  // nothing listens there
  Client lost(config, RetryPolicy{2, 100, 10, 50});
  WatchOptions options;
  options.resource_version = "5";
  options.max_reconnect_failures = 2;
  Status s = lost.watch("v1", "ConfigMap", "ns", options, [](const std::string&, const json&) { return true; });
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("watch ConfigMap in namespace ns:"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace skiff::kube
