#include "runtime/pod_support.h"

namespace skiff::runtime {

spec::PodFieldSupport pod_field_support(const std::string& executor) {
  spec::PodFieldSupport s;
  s.executor = executor;
  s.refuses = {"podSpecPatch"};
  // The host executor always shares the host's network; containers get their own unless
  // hostNetwork says otherwise, run with the Pod's securityContext (user, groups) and pull
  // with imagePullSecrets.
  s.acts_on = {"hostNetwork"};
  if (executor == "container") s.acts_on.insert({"securityContext", "imagePullSecrets"});
  return s;
}

}  // namespace skiff::runtime
