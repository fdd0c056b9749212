// Kubernetes resource quantities ("128Mi", "1G", "500m", "2", "1.5", "1e9") and the values
// the downward API gives a container for env valueFrom.resourceFieldRef. Stateless.
#pragma once

#include <string>

#include "util/status.h"

namespace skiff::runtime {

// The quantity's value in its base unit (cores, bytes); `what` names it in the error.
Result<double> parse_quantity(const std::string& text, const std::string& what);

// resourceFieldRef {resource, divisor} of a container whose resources are `resources_json`
// ({limits, requests}), as the kubelet computes it: the value divided by the divisor and
// rounded up; a request not set is its limit (API defaulting), a limit not set is this
// machine's capacity (its CPUs, its memory, the root filesystem's size).
Result<std::string> resource_field_value(const std::string& resources_json, const std::string& resource,
                                         const std::string& divisor, const std::string& env_name);

}  // namespace skiff::runtime
