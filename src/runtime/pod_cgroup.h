// The Pod's own resources (Argo 4's podResources, the Pod spec's `resources`) on the
// container executor: one cgroup a step's containers (main, sidecars, init containers, a
// containerSet's) all run under, holding the pod-level cpu and memory limits, so they
// share one budget as on a Kubernetes node with PodLevelResources.
//
// cgroup v1 (limits under the memory and cpu hierarchies) and v2 (memory.max, cpu.max,
// controllers enabled down to it). Requests are not acted on: one machine has no
// scheduler to place the pod by them. Called from the launcher's thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace skiff::runtime {

struct PodLimits {
  std::optional<int64_t> memory_bytes;
  std::optional<int64_t> cpu_quota_us;  // per 100 ms period
};

// The limits in a pod spec's JSON (PodFields::json: {"resources": {"limits": ...}}); none
// when it sets no cpu or memory limit. kInvalid for a limit that is not a quantity, or a
// memory limit below the 4Mi a container needs.
Result<PodLimits> pod_limits(const std::string& pod_json);

struct PodCgroup {
  std::string path;               // "/skiff/pod-...": containers' cgroupsPath go below it
  std::vector<std::string> dirs;  // its directories (v1: in every hierarchy), to remove once the step ended
  std::string oom_dir;            // the memory cgroup with the limit ("" = no memory limit)
};

// Makes the cgroup `path` with `limits`. Nothing (no cgroup) when `limits` has none.
Result<std::optional<PodCgroup>> make_pod_cgroup(const std::string& path, const PodLimits& limits);
// Removes what make_pod_cgroup made (its containers must be gone); errors are ignored.
void remove_pod_cgroup(const PodCgroup& cgroup);

}  // namespace skiff::runtime
