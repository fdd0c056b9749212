// The WorkflowTemplates and ClusterWorkflowTemplates a workflow (or a template) uses: those
// its workflowTemplateRef and templateRefs name, and those theirs name in turn, each read
// from the store by name and decoded once. What a submit, a lint, a retry and a resume
// after a restart hand to the validator and the Runner; templates nothing refers to are
// never read, so one that no longer decodes breaks only the workflows that use it.
// Stateless; any thread (the store serialises itself).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "spec/types.h"
#include "store/store.h"
#include "util/status.h"

namespace skiff::server {

// `referrer_json` is the referring object as JSON (spec::Object::source_json or a stored
// body); `namespace_` is where its namespaced references point ("": any namespace, as for
// a ClusterWorkflowTemplate). A reference to a missing template is left out (the validator
// names it); one whose stored definition no longer decodes is an error naming it. A name
// that holds {{...}} is only known at run time: every template of its scope is read then.
Result<std::vector<spec::Object>> referenced_templates(store::Store& store, const std::string& referrer_json,
                                                       const std::string& namespace_);

// A stored workflow decoded again, with the templates it uses (for a retry, or a resume
// after a restart).
Result<std::pair<spec::Object, std::vector<spec::Object>>> stored_definition(store::Store& store,
                                                                           const store::WorkflowRecord& record);

// spec::validate over `obj` with those templates as its library: kInvalid listing every
// problem.
Status validate_with(const spec::Object& obj, const std::vector<spec::Object>& templates);

}  // namespace skiff::server
