// `{{...}}` substitution as Argo does it: `{{name}}` is replaced by the variable's text and
// `{{=expression}}` by the expression's value (strings as-is, other values as JSON).
// Whitespace inside the braces is allowed (`{{ inputs.parameters.x }}`). Stateless.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "expr/scope.h"
#include "util/status.h"

namespace skiff::expr {

struct SubstituteOptions {
  // When true, references that are not in the scope are left as written (used when a
  // later phase will resolve them, e.g. a DAG task's outputs before the task has run).
  // When false, an unresolved reference is an error naming it.
  bool allow_unresolved = false;
};

Result<std::string> substitute(std::string_view text, const Scope& scope,
                               const SubstituteOptions& options = {});

// Every reference in `text`: plain names for `{{name}}` and the whole expression for
// `{{=expr}}` (with `is_expression` set). Used by lint to check references statically.
struct Reference {
  std::string text;
  bool is_expression = false;
  size_t offset = 0;  // of the opening braces in `text`
};
Result<std::vector<Reference>> references(std::string_view text);

// Dotted variable names an expression reads (e.g. "inputs.parameters.x"), for lint.
Result<std::vector<std::string>> expression_variables(std::string_view expression);

}  // namespace skiff::expr
