// spec.templateDefaults: a partial template merged into every template of the workflow
// before it runs, the template's own fields winning (Argo's mergedTemplateDefaultsInto).
//
// Argo merges the two as a Kubernetes strategic merge patch over the Template type: objects
// merge field by field, lists replace unless the type marks them mergeable (a container's
// env by name and volumeMounts by mountPath, the template's volumes by name), and the
// defaults' type field (container, script, ...) applies only to a template of that type.
// Stateless and thread-safe.
#pragma once

#include "spec/types.h"

namespace skiff::spec {

// Fills what `t` leaves unset from `defaults`.
void apply_template_defaults(Template& t, const TemplateDefaults& defaults);

}  // namespace skiff::spec
