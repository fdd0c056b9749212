// What skiff's executors do with the pod-level fields of templates and workflows
// (spec/pod.h), for lint's warnings and refusals. Both run steps on this machine, so
// scheduling fields (nodeSelector, affinity, tolerations, priority...) and identities
// (serviceAccountName) mean nothing to them; podSpecPatch, which may rewrite the step's
// containers, is refused rather than ignored. Stateless.
#pragma once

#include <string>

#include "spec/pod.h"

namespace skiff::runtime {

// `executor` is "host" or "container" (the --executor names).
spec::PodFieldSupport pod_field_support(const std::string& executor);

}  // namespace skiff::runtime
