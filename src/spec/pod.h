// Pod-level fields: the parts of a template or workflow spec that say where and as whom a
// step's Pod runs (nodeSelector, tolerations, serviceAccountName, securityContext, ...),
// kept by the decoder in PodFields, merged as Argo's controller merges them when it makes a
// Pod, and checked against what an executor does with them.
//
// Argo's rule (workflow/controller/workflowpod.go): a field set on the template wins over
// the workflow's; hostAliases add up (the workflow's first); labels and annotations merge
// key by key (podMetadata, then the template's metadata); podSpecPatch: both apply, the
// workflow's first. Stateless and thread-safe.
#pragma once

#include <set>
#include <string>

#include "spec/types.h"
#include "spec/validate.h"
#include "util/diagnostic.h"

namespace skiff::spec {

// One pod-level field under its three names; a null name means "not on that side".
struct PodField {
  const char* on_template;  // as a template writes it
  const char* on_workflow;  // as a workflow spec writes it
  const char* on_pod;       // as the Pod spec (and PodFields::json) names it
};
extern const PodField kPodFields[];
extern const size_t kPodFieldCount;

// `t` as its step runs: its pod-level fields with the workflow's as defaults (Argo's rule
// above). Call on a copy of the template; the copy's PodFields::written is left as is.
void apply_pod_defaults(Template& t, const WorkflowSpec& workflow);

// A Workflow's own pod-level fields over those of the WorkflowTemplate its
// workflowTemplateRef names (`merged` starts as that template's spec): field by field, the
// workflow's win, as in Argo's merge of the two specs.
void override_pod_fields(WorkflowSpec& merged, const WorkflowSpec& workflow);

// What an executor does with pod-level fields, by their Pod name. Fields in neither set
// are ignored: the step runs without them, and lint warns.
struct PodFieldSupport {
  std::string executor;           // "host", "container": named in the messages
  std::set<std::string> acts_on;  // honoured: nothing to say
  std::set<std::string> refuses;  // the step would do something else without it: an error
};

// Appends a warning for each pod-level field `obj` sets that `support` ignores, and for
// each field no executor of skiff's acts on yet (podGC, podDisruptionBudget, ...: see
// decode.cc's note_not_acted_on), and an error for each pod-level field `support` refuses, naming the field, its JSON path and line. With `library`, the
// templates `obj` reaches through workflowTemplateRef and templateRef are checked as well
// (at their own files and paths); without, `obj` alone (lint checks every file's objects).
void check_pod_fields(const Object& obj, const Library* library, const PodFieldSupport& support,
                      Diagnostics& warnings, Diagnostics& errors);

}  // namespace skiff::spec
