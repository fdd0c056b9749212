#include "runtime/probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "runtime/fd.h"
#include "runtime/program.h"
#include "util/json_text.h"

namespace skiff::runtime {
namespace {

using Json = nlohmann::json;

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A probe's integer field (seconds, or a threshold) times 1000, within [min_s, 3600].
int seconds_ms(const Json& probe, const char* field, int fallback_s, int min_s) {
  const Json v = probe.contains(field) ? probe[field] : Json();
  int64_t s = v.is_number_integer() ? v.get<int64_t>() : fallback_s;
  return static_cast<int>(std::clamp<int64_t>(s, min_s, 3600)) * 1000;  // at most an hour
}

// Waits until `fd` is ready for `events` or the deadline passes.
bool wait_fd(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - mono_ms();
    if (left <= 0) return false;
    struct pollfd p = {fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

}  // namespace

std::optional<ProbeSpec> parse_probe(const Json& container, const char* field) {
  const Json probe = object_member(container, field);
  if (probe.empty()) return std::nullopt;
  ProbeSpec spec;
  Json action;
  if (probe.contains("httpGet")) {
    spec.kind = ProbeSpec::Kind::kHttpGet;
    action = object_member(probe, "httpGet");
    spec.path = action.contains("path") && action["path"].is_string() ? action["path"].get<std::string>() : "/";
    if (spec.path.empty() || spec.path[0] != '/') spec.path = "/" + spec.path;
  } else if (probe.contains("tcpSocket")) {
    action = object_member(probe, "tcpSocket");
  } else if (probe.contains("exec")) {
    spec.kind = ProbeSpec::Kind::kExec;
    for (const Json& arg : array_member(object_member(probe, "exec"), "command"))
      if (arg.is_string()) spec.command.push_back(arg.get<std::string>());
    if (spec.command.empty()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  const Json port = action.contains("port") ? action["port"] : Json();
  if (port.is_number_integer()) spec.port = port.get<int>();
  if (port.is_string()) {
    for (const Json& p : array_member(container, "ports"))
      if (p.is_object() && p.value("name", "") == port.get<std::string>() && p.contains("containerPort") &&
          p["containerPort"].is_number_integer())
        spec.port = p["containerPort"].get<int>();
    if (!spec.port) spec.port = std::atoi(port.get<std::string>().c_str());
  }
  if (spec.kind != ProbeSpec::Kind::kExec && (spec.port < 1 || spec.port > 65535)) return std::nullopt;
  spec.initial_delay_ms = seconds_ms(probe, "initialDelaySeconds", 0, 0);
  spec.period_ms = seconds_ms(probe, "periodSeconds", 10, 1);
  spec.timeout_ms = seconds_ms(probe, "timeoutSeconds", 1, 1);
  spec.failure_threshold = seconds_ms(probe, "failureThreshold", 3, 1) / 1000;
  spec.success_threshold = seconds_ms(probe, "successThreshold", 1, 1) / 1000;
  return spec;
}

Result<ProbeSpec> parse_readiness_probe(const std::string& probe_json, const std::string& ports_json) {
  Json container = Json::object();
  container["readinessProbe"] = Json::parse(probe_json, nullptr, false);
  if (!ports_json.empty()) container["ports"] = Json::parse(ports_json, nullptr, false);
  if (!container["readinessProbe"].is_object())
    return invalid("readinessProbe: a probe is an object with exec, httpGet or tcpSocket");
  if (auto spec = parse_probe(container, "readinessProbe")) return *spec;
  const Json& p = container["readinessProbe"];
  if (p.contains("grpc")) return invalid("readinessProbe: skiff does not run grpc probes yet; use exec, httpGet or tcpSocket");
  if (p.contains("exec")) return invalid("readinessProbe.exec needs a command: a list of strings");
  if (p.contains("httpGet") || p.contains("tcpSocket"))
    return invalid(std::string("readinessProbe.") + (p.contains("httpGet") ? "httpGet" : "tcpSocket") +
                   ".port must be a number from 1 to 65535 or the name of one of the container's ports");
  return invalid("readinessProbe needs one of exec, httpGet, tcpSocket");
}

void ProbeState::reset(int64_t started, bool initially_ok) {
  *this = ProbeState();
  started_ms = started;
  ok = initially_ok;
}

bool ProbeState::due(const ProbeSpec& spec, int64_t now_ms) const {
  if (in_flight || now_ms < started_ms + spec.initial_delay_ms) return false;
  return last_ms < 0 || now_ms >= last_ms + spec.period_ms;
}

bool ProbeState::record(const ProbeSpec& spec, bool passed, int64_t now_ms) {
  in_flight = false;
  last_ms = now_ms;
  bool was = ok;
  if (passed) {
    failures = 0;
    if (++successes >= spec.success_threshold) ok = true;
  } else {
    successes = 0;
    if (++failures >= spec.failure_threshold) ok = false;
  }
  return ok != was;
}

bool check_exec(const ProbeSpec& spec, const std::vector<std::string>& argv) {
  ProgramLimits limits;
  limits.timeout_ms = spec.timeout_ms;
  limits.max_output = 64 << 10;  // kubelet keeps no more of a probe's output either
  auto out = run_program_limited(argv, "", limits);
  return out && !out->timed_out && out->exit_code == 0;
}

bool check(const ProbeSpec& spec, const std::string& ip) {
  int64_t deadline = mono_ms() + spec.timeout_ms;
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(spec.port));
  if (::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) return false;
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) return false;
  if (!wait_fd(fd.get(), POLLOUT, deadline)) return false;
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return false;
  if (spec.kind == ProbeSpec::Kind::kTcpSocket) return true;
  std::string request = "GET " + spec.path + " HTTP/1.1\r\nHost: " + ip + ":" + std::to_string(spec.port) +
                        "\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    if (!wait_fd(fd.get(), POLLOUT, deadline)) return false;
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0 && errno != EAGAIN) return false;
    if (n > 0) sent += static_cast<size_t>(n);
  }
  std::string head;
  while (head.find("\r\n") == std::string::npos && head.size() < 1024) {
    if (!wait_fd(fd.get(), POLLIN, deadline)) return false;
    char buf[512];
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0 && errno != EAGAIN) return false;
    if (n > 0) head.append(buf, static_cast<size_t>(n));
  }
  // "HTTP/1.1 200 OK"
  size_t space = head.find(' ');
  if (head.rfind("HTTP/", 0) != 0 || space == std::string::npos) return false;
  int code = std::atoi(head.c_str() + space + 1);
  return code >= 200 && code < 400;
}

}  // namespace skiff::runtime
