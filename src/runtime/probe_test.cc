#include "runtime/probe.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

namespace skiff::runtime {
namespace {

using Json = nlohmann::json;

TEST(ProbeTest, ParsesKubernetesFieldsAndNamedPorts) {
  Json c = Json::parse(R"({"name":"c","ports":[{"name":"http","containerPort":8080}],
    "readinessProbe":{"httpGet":{"path":"healthz","port":"http"},"periodSeconds":2,"failureThreshold":1},
    "livenessProbe":{"tcpSocket":{"port":9000},"initialDelaySeconds":5}})");
  auto r = parse_probe(c, "readinessProbe");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, ProbeSpec::Kind::kHttpGet);
  EXPECT_EQ(r->port, 8080);
  EXPECT_EQ(r->path, "/healthz");
  EXPECT_EQ(r->period_ms, 2000);
  EXPECT_EQ(r->timeout_ms, 1000);
  EXPECT_EQ(r->failure_threshold, 1);
  auto l = parse_probe(c, "livenessProbe");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->kind, ProbeSpec::Kind::kTcpSocket);
  EXPECT_EQ(l->initial_delay_ms, 5000);
  EXPECT_EQ(l->period_ms, 10000);
  EXPECT_FALSE(parse_probe(c, "startupProbe"));
  auto exec = parse_probe(Json::parse(R"({"livenessProbe":{"exec":{"command":["cat","/tmp/ok"]}}})"), "livenessProbe");
  ASSERT_TRUE(exec);
  EXPECT_EQ(exec->kind, ProbeSpec::Kind::kExec);
  EXPECT_EQ(exec->command, (std::vector<std::string>{"cat", "/tmp/ok"}));
  EXPECT_FALSE(parse_probe(Json::parse(R"({"readinessProbe":{"tcpSocket":{"port":"nope"}}})"), "readinessProbe"));
  // Fields of the wrong type or out of range read as their defaults or bounds, never throw.
  auto odd = parse_probe(Json::parse(R"({"readinessProbe":{"httpGet":{"port":80,"path":7},"failureThreshold":"x",
    "periodSeconds":99999999999,"timeoutSeconds":-5}})"), "readinessProbe");
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->path, "/");
  EXPECT_EQ(odd->failure_threshold, 3);
  EXPECT_EQ(odd->period_ms, 3600 * 1000);
  EXPECT_EQ(odd->timeout_ms, 1000);
}

// initialDelaySeconds, periodSeconds and failureThreshold as kubelet applies them.
TEST(ProbeTest, ScheduleAndThresholds) {
  ProbeSpec spec;
  spec.initial_delay_ms = 5000;
  spec.period_ms = 1000;
  spec.failure_threshold = 3;
  ProbeState s;
  s.reset(100'000, true);
  EXPECT_FALSE(s.due(spec, 104'999));
  EXPECT_TRUE(s.due(spec, 105'000));
  EXPECT_FALSE(s.record(spec, false, 105'000));
  EXPECT_FALSE(s.due(spec, 105'500));
  EXPECT_TRUE(s.due(spec, 106'000));
  EXPECT_FALSE(s.record(spec, false, 106'000));
  EXPECT_TRUE(s.ok);
  EXPECT_TRUE(s.record(spec, false, 107'000));  // the third failure in a row
  EXPECT_FALSE(s.ok);
  EXPECT_TRUE(s.record(spec, true, 108'000));
  EXPECT_TRUE(s.ok);
}

// A real listener on loopback: tcpSocket connects, httpGet reads the status line.
TEST(ProbeTest, ChecksOverTheNetwork) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  std::thread server([fd] {
    for (const char* answer : {"", "HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 503 Service Unavailable\r\n\r\n"}) {
      int c = ::accept(fd, nullptr, nullptr);
      char buf[1024];
      if (*answer) (void)::recv(c, buf, sizeof buf, 0);
      (void)::send(c, answer, std::strlen(answer), MSG_NOSIGNAL);
      ::close(c);
    }
  });
  ProbeSpec tcp;
  tcp.port = port;
  EXPECT_TRUE(check(tcp, "127.0.0.1"));
  ProbeSpec http;
  http.kind = ProbeSpec::Kind::kHttpGet;
  http.port = port;
  EXPECT_TRUE(check(http, "127.0.0.1"));
  EXPECT_FALSE(check(http, "127.0.0.1"));  // 503
  server.join();
  ::close(fd);
  EXPECT_FALSE(check(tcp, "127.0.0.1"));  // nothing listens any more
}

TEST(ProbeTest, ExecPassesOnExitZeroWithinTheTimeout) {
  ProbeSpec spec;
  spec.kind = ProbeSpec::Kind::kExec;
  spec.timeout_ms = 1000;
  EXPECT_TRUE(check_exec(spec, {"/bin/sh", "-c", "exit 0"}));
  EXPECT_FALSE(check_exec(spec, {"/bin/sh", "-c", "exit 1"}));
  EXPECT_FALSE(check_exec(spec, {"/bin/sh", "-c", "sleep 5"}));  // past timeoutSeconds
  EXPECT_FALSE(check_exec(spec, {"/no/such/program"}));
}

}  // namespace
}  // namespace skiff::runtime
