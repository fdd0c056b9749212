// What skiff's executors do with the pod-level fields of templates and workflows
// (spec/pod.h), for lint's warnings and refusals. Both run steps on this machine, so
// scheduling fields (nodeSelector, affinity, tolerations, priority...) and identities
// (serviceAccountName) mean nothing to them. podSpecPatch is applied to the step's
// containers (apply_pod_spec_patch); a patch of anything else fails the step, naming it,
// rather than being ignored. Stateless.
#pragma once

#include <string>

#include "spec/pod.h"
#include "util/status.h"

namespace skiff::runtime {

// `executor` is "host", "container" or "kubernetes" (the --executor names).
spec::PodFieldSupport pod_field_support(const std::string& executor);

// Applies the podSpecPatch entries of `t` (its pod.json's "podSpecPatch": the workflow's,
// then the template's, {{...}} resolved; JSON or YAML) to its containers, as Kubernetes'
// strategic merge would: containers by name ("main" is the template's own, others its
// sidecars and init containers), their resources merged key by key, env by name, image,
// command, args and workingDir replaced. Anything else in a patch is kInvalid, naming it.
Status apply_pod_spec_patch(spec::Template& t);

}  // namespace skiff::runtime
