// WorkloadController: realises what MachineObjects holds on this machine, as Kubernetes'
// controllers and kubelet would on a one-node cluster, and writes Kubernetes-shaped
// `status` back so that Argo CD's health checks (cd/health.h) read it unchanged.
//
//   Deployment  a ReplicaSet <deployment>-<pod-template-hash> per pod template; a new
//               template rolls (RollingUpdate with maxSurge/maxUnavailable, or Recreate)
//               and the old ReplicaSets go to 0 replicas (machine/workload.h)
//   ReplicaSet  Pods <replicaset>-<5 chars> up to spec.replicas, the extra ones deleted
//   Pod         its containers as one OCI container step of the executor (the first
//               container; the others as its sidecars, sharing its network namespace and
//               IP), restarted by restartPolicy with kubelet's back-off; readiness and
//               liveness probes (runtime/probe.h); a liveness failure restarts it
//   StatefulSet Pods <set>-<ordinal> in order (each once those before it are ready, unless
//               podManagementPolicy Parallel), a PVC <template>-<pod> per volumeClaimTemplate
//               (kept when the set goes, as Kubernetes' default Retain); a new template
//               replaces Pods from the highest ordinal, one at a time (unless OnDelete)
//   Job         one Pod at a time until one succeeds (Complete) or more than backoffLimit
//               failed (Failed, BackoffLimitExceeded); the next Pod waits the back-off
//   Service     its ports published on 127.0.0.1 (machine/service_proxy.h) to the ready
//               Pods it selects; the port is in metadata.annotations[skiff.io/published-ports]
//               ("80:34567,...") and status.loadBalancer.ingress[{ip, ports}]
//   PVC         phase Bound (the volume is a directory under the data dir, made on use)
//
// Threads: one of its own, which owns the executor (make it with detach_steps off:
// containers end with the server, and a restarted server starts them again from the stored
// objects); probes run on short-lived threads of their own. poke(), read_log() and
// events() may be called from any thread.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "machine/objects.h"
#include "runtime/probe.h"
#include "machine/service_proxy.h"
#include "runtime/executor.h"
#include "runtime/fd.h"

namespace skiff::machine {

inline constexpr const char* kPublishedPortsAnnotation = "skiff.io/published-ports";

// A Kubernetes Event about a Pod (Pulled, Started, Killing, BackOff, Unhealthy, Failed).
struct MachineEvent {
  std::string namespace_, pod, type, reason, message;  // type: Normal | Warning
  int64_t first_ms = 0, last_ms = 0;
  int count = 1;
};

class WorkloadController {
 public:
  WorkloadController(MachineObjects& objects, std::shared_ptr<runtime::Executor> executor);
  ~WorkloadController();  // stops every container, withdraws every port
  WorkloadController(const WorkloadController&) = delete;
  WorkloadController& operator=(const WorkloadController&) = delete;

  // Reconciles soon (an object changed).
  void poke();
  // A container's log, of its current (or last) run. kNotFound when it has none.
  Result<runtime::LogChunk> read_log(const std::string& namespace_, const std::string& pod, const std::string& container,
                                     uint64_t offset, size_t max) const;
  // The most recent events (at most 1,000 are kept), oldest first.
  std::vector<MachineEvent> events() const;

 private:
  struct Run;
  struct ProbeResult {
    std::string pod_key, node;
    bool liveness = false, passed = false;
  };
  struct ProbeInbox {  // where probe threads leave their results
    std::mutex mu;
    std::vector<ProbeResult> results;
    runtime::Fd wake;  // a copy of wake_
  };

  void loop();
  void reconcile(int64_t now);
  void reconcile_deployments(int64_t now);
  void reconcile_replica_sets();
  void reconcile_pods(int64_t now);
  void reconcile_services();
  void start(Run& run, const nlohmann::json& pod, int64_t now);
  void on_exit(const runtime::StepResult& result, int64_t now);
  void probe(Run& run, int64_t now);
  void take_probe_results(int64_t now);
  bool ready(const std::string& namespace_, const std::string& pod) const;
  // Ready for at least `min_ready_ms` (a Deployment's minReadySeconds), as of `now`.
  bool available(const std::string& namespace_, const std::string& pod, int64_t min_ready_ms, int64_t now) const;
  void track_readiness(int64_t now);  // when each run became ready
  std::string pod_ip(const std::string& namespace_, const std::string& pod) const;  // "" when not running
  void event(const Run& run, const char* type, const std::string& reason, const std::string& message, int64_t now);
  void stop_all();
  void reconcile_stateful_sets(int64_t now);
  void reconcile_jobs(int64_t now);
  static std::string run_name(const Run& run);

  MachineObjects& objects_;
  std::shared_ptr<runtime::Executor> executor_;  // this thread alone uses it
  runtime::Fd wake_;  // eventfd: poke() and probe results
  std::atomic<bool> stopping_{false};
  ServiceProxy proxy_;

  // Controller thread only.
  std::map<std::string, std::unique_ptr<Run>> runs_;  // by "<namespace>/<pod>"
  std::map<std::string, std::string> nodes_;          // executor node id -> pod key
  std::map<std::string, std::pair<int, int64_t>> job_retries_;  // Job uid -> (failures seen, next Pod not before)

  mutable std::mutex mu_;  // guards what other threads read
  // "<ns>/<pod>/<container>" -> (run_name, node id) of its current run
  std::map<std::string, std::pair<std::string, std::string>> log_nodes_;
  std::deque<MachineEvent> events_;
  std::shared_ptr<ProbeInbox> probe_inbox_ = std::make_shared<ProbeInbox>();

  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace skiff::machine
