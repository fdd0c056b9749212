// Validation like `argo lint`: structural problems a workflow has before it runs.
//
// Checks: entrypoint and every template/templateRef exist (templateRef resolved against
// the WorkflowTemplates given in `library`); template names, task names and step names are
// unique; each template has exactly one type; `depends`/`dependencies` name existing tasks
// and form no cycle (the cycle is printed); `depends` parses; required inputs (no value, no
// default) are supplied by every caller; `{{...}}` references that are static (inputs,
// workflow.parameters, tasks/steps outputs of tasks that exist) resolve; withItems/withParam/
// withSequence shapes; retryStrategy, enum values, deadlines; `metrics.prometheus` entries
// (name, help, label keys and values, exactly one type, histogram buckets). Stateless and
// thread-safe.
#pragma once

#include <vector>

#include "spec/types.h"
#include "util/diagnostic.h"

namespace skiff::spec {

// Templates that templateRef / workflowTemplateRef may name, by metadata.name.
struct Library {
  std::vector<const Object*> workflow_templates;
  std::vector<const Object*> cluster_workflow_templates;
  const Object* find(const std::string& name, bool cluster_scope) const;
};

// Appends every problem found in `obj` to `out`. `supplied` holds parameter names given on
// the command line (-p), which satisfy required workflow arguments.
void validate(const Object& obj, const Library& library, Diagnostics& out,
              const std::vector<std::string>& supplied = {});

}  // namespace skiff::spec
