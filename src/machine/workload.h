// The pure parts of running Kubernetes workloads on this machine: which kinds, names and
// hashes as Kubernetes makes them, the rolling-update arithmetic of the Deployment
// controller, restart back-off, and the `status` shapes Argo CD's health checks read
// (cd/health.h). No I/O and no clocks (times are passed in); any thread.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace skiff::machine {

struct KindInfo {
  const char* api_version;
  const char* kind;
  const char* resource;  // Kubernetes' name in messages: "deployments.apps"
  bool namespaced;
};
// The kinds this machine holds (ConfigMap and Secret included), or null.
const KindInfo* machine_kind(const std::string& api_version, const std::string& kind);
// "Namespace, Deployment, ...": for messages.
std::string machine_kinds_text();

// RFC 3339 UTC with seconds ("2026-12-01T05:30:00Z") of a time in ms since the epoch.
std::string rfc3339(int64_t ms);
// The time in ms since the epoch of such a text (as rfc3339 writes it), or -1 when it is
// not one.
int64_t parse_rfc3339(const std::string& text);
// A random RFC 4122 version 4 uid.
std::string new_uid();
// `n` random characters of Kubernetes' name alphabet (no vowels: "bcdfghjklmnpqrstvwxz2456789").
std::string random_suffix(size_t n = 5);

// The pod-template-hash label of a Deployment's pod template: a hash of the template as
// written (Kubernetes hashes its Go struct; the value differs but plays the same part),
// in Kubernetes' name alphabet, at most 10 characters.
std::string pod_template_hash(const nlohmann::json& pod_template);

// Whether `labels` (an object) has every matchLabels pair and meets every matchExpressions
// (In, NotIn, Exists, DoesNotExist) of a label selector. An empty selector matches all.
bool selector_matches(const nlohmann::json& selector, const nlohmann::json& labels);
// A Service's selector (a plain map) as a label selector.
bool labels_match(const nlohmann::json& match_labels, const nlohmann::json& labels);

// The ReplicaSet <deployment>-<hash> for a Deployment's current pod template (replicas 0;
// the rollout sets them), owned by it, labelled and selected with pod-template-hash.
nlohmann::json make_replica_set(const nlohmann::json& deployment, const std::string& hash);
// A Pod named `name` from a pod template, owned by `owner` (a ReplicaSet).
nlohmann::json make_pod(const nlohmann::json& owner, const nlohmann::json& pod_template, const std::string& name);
// An ownerReferences entry naming `owner` as its controller.
nlohmann::json owner_reference(const nlohmann::json& owner);
// Whether `object`'s ownerReferences name the uid.
bool owned_by(const nlohmann::json& object, const std::string& uid);

// --- rollout ---------------------------------------------------------------------------

struct ReplicaSetState {
  std::string name;
  int replicas = 0;  // spec.replicas
  int pods = 0;      // pods that exist (spec.replicas may have been lowered)
  int ready = 0;     // for a Deployment's rollout: available (ready for minReadySeconds)
};

struct RolloutInput {
  int desired = 1;
  bool recreate = false;  // strategy.type Recreate, else RollingUpdate
  nlohmann::json rolling_update;  // strategy.rollingUpdate: maxSurge, maxUnavailable
  ReplicaSetState current;        // the ReplicaSet of the current template
  std::vector<ReplicaSetState> old;
};

// What each ReplicaSet's spec.replicas should become now (the current one's name
// included). Rolling: the current one grows up to desired + maxSurge pods in all, the
// old ones shrink while desired - maxUnavailable stay ready (unready old pods go first).
// Recreate: the old ones go to 0, and the current one grows once no old pod is left.
std::map<std::string, int> plan_rollout(const RolloutInput& in);
// maxSurge/maxUnavailable ("25%" or a number) of `desired`: surge rounds up, unavailable
// down; both 0 makes unavailable 1, as Kubernetes does.
std::pair<int, int> surge_and_unavailable(const nlohmann::json& rolling_update, int desired);

// --- restarts --------------------------------------------------------------------------

// The wait before restart number `restarts` + 1 (kubelet's: 10 s doubling, at most 5 min).
int64_t restart_backoff_ms(int restarts);

// --- status ----------------------------------------------------------------------------

struct ContainerState {
  std::string name;
  std::string image;
  bool running = false;
  bool ready = false;
  int restart_count = 0;
  int64_t started_ms = 0;        // running: since when
  std::string waiting_reason;    // not running: "ContainerCreating", "CrashLoopBackOff", "ErrImagePull"
  std::string waiting_message;
  bool terminated = false;       // ended for good (restartPolicy), or last state
  int exit_code = 0;
  std::string terminated_reason;  // "Completed", "Error", "OOMKilled"
};

struct PodState {
  std::string phase = "Pending";  // Pending | Running | Succeeded | Failed
  std::string ip;
  int64_t start_ms = 0;
  std::vector<ContainerState> containers;
};
nlohmann::json pod_status(const PodState& state);

struct DeploymentCounts {
  int replicas = 0;  // pods of all its ReplicaSets
  int updated = 0;   // pods of the current one
  int ready = 0;
  int available = 0;
  bool created = false;  // the current ReplicaSet was made on this turn
};
// A Deployment's status as Kubernetes' deployment controller writes it, from
// `deployment` as stored (its status is the one written last: progress is measured
// against its counts, and a condition keeps its times while its status and reason hold).
//   Available    True MinimumReplicasAvailable while available >= replicas -
//                maxUnavailable (0 for Recreate), else False MinimumReplicasUnavailable
//   Progressing  True NewReplicaSetCreated / FoundNewReplicaSet / ReplicaSetUpdated
//                (lastUpdateTime moves on at each progress: more updated, ready or
//                available pods, fewer old ones), True NewReplicaSetAvailable once
//                complete, False ProgressDeadlineExceeded ("ReplicaSet \"x\" has timed out
//                progressing.") when spec.progressDeadlineSeconds (default 600) passed
//                since the last progress; Unknown DeploymentPaused while spec.paused (no
//                deadline) and DeploymentResumed after it (the deadline counts from
//                there); none when progressDeadlineSeconds is 2147483647.
// `now_ms` is the time of this turn (the caller's clock).
nlohmann::json deployment_status(const nlohmann::json& deployment, const DeploymentCounts& counts,
                                 const std::string& current_replica_set, int64_t now_ms);
inline constexpr int64_t kNoProgressDeadline = 2147483647;  // Kubernetes' "never" (MaxInt32)
nlohmann::json replica_set_status(const nlohmann::json& replica_set, int pods, int ready);

// --- StatefulSets and Jobs ---------------------------------------------------------------

// Pod <set>-<ordinal> of a StatefulSet at `revision` (its controller-revision-hash label),
// each volumeClaimTemplate mounted from the claim <template>-<set>-<ordinal>.
nlohmann::json make_stateful_pod(const nlohmann::json& stateful_set, int ordinal, const std::string& revision);
// The PersistentVolumeClaims of that Pod (their volumeClaimTemplates, named as above).
std::vector<nlohmann::json> stateful_claims(const nlohmann::json& stateful_set, int ordinal);

struct StatefulCounts {
  int replicas = 0, ready = 0, updated = 0;  // updated: pods at update_revision
  std::string current_revision, update_revision;
};
nlohmann::json stateful_set_status(const nlohmann::json& stateful_set, const StatefulCounts& counts);

struct JobCounts {
  int active = 0, succeeded = 0, failed = 0;
  bool complete = false, failed_for_good = false;  // a pod succeeded; failures passed backoffLimit
  int64_t start_ms = 0, end_ms = 0;
};
nlohmann::json job_status(const JobCounts& counts, int backoff_limit);

}  // namespace skiff::machine
