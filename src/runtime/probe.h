// Readiness and liveness probes of a container on this machine, as kubelet runs them:
// httpGet and tcpSocket from the host to the Pod's IP, exec inside the container (`runc
// exec`, through runtime::Executor::exec_command). Used for the Pods of "this machine"
// (machine/controller.h) and for daemon steps' readinessProbe (process_executor.cc). The schedule is pure
// (ProbeState::due/record); check() and check_exec() do the I/O with the probe's timeout and
// are called on a worker thread.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace skiff::runtime {

struct ProbeSpec {
  enum class Kind { kHttpGet, kTcpSocket, kExec } kind = Kind::kTcpSocket;
  int port = 0;
  std::vector<std::string> command;  // exec
  std::string path = "/";      // httpGet
  int initial_delay_ms = 0;    // initialDelaySeconds
  int period_ms = 10'000;      // periodSeconds
  int timeout_ms = 1'000;      // timeoutSeconds
  int failure_threshold = 3;
  int success_threshold = 1;
};

// The probe a container's `field` ("readinessProbe") describes, or nullopt (none, or not
// one this machine runs). Named ports are looked up in the container's ports.
std::optional<ProbeSpec> parse_probe(const nlohmann::json& container, const char* field);
// A daemon step's readinessProbe and its container's ports, as JSON text (spec::Container):
// the probe, or kInvalid saying what is wrong with it.
Result<ProbeSpec> parse_readiness_probe(const std::string& probe_json, const std::string& ports_json);

// One probe's schedule and verdict for one run of a container.
struct ProbeState {
  int64_t started_ms = 0;   // when the container started
  int64_t last_ms = -1;     // when it was last run (-1: never)
  bool in_flight = false;
  int failures = 0, successes = 0;
  bool ok = false;          // readiness: ready; liveness: alive (starts true, see reset)

  void reset(int64_t started, bool initially_ok);
  bool due(const ProbeSpec& spec, int64_t now_ms) const;
  // Records a result; returns true when the verdict (ok) changed.
  bool record(const ProbeSpec& spec, bool passed, int64_t now_ms);
};

// Runs an httpGet or tcpSocket probe against `ip` (blocking up to spec.timeout_ms): true
// when it passed (a TCP connect, or an HTTP status 200-399).
bool check(const ProbeSpec& spec, const std::string& ip);
// Runs an exec probe's command line (Executor::exec_command's) within spec.timeout_ms: true
// when it exits 0.
bool check_exec(const ProbeSpec& spec, const std::vector<std::string>& argv);

}  // namespace skiff::runtime
