// Internal to expr/: binary operators and the built-in functions (expr-lang's and sprig's).
#pragma once

#include <string>
#include <vector>

#include "expr/ast.h"

namespace skiff::expr::detail {

Result<Value> apply_binary(const std::string& op, const Value& l, const Value& r);
Result<Value> call_function(const std::string& name, const std::vector<Value>& args);

// JSONPath subset: $, .key, ['key'], [n], [*], ..key is not supported.
Result<Value> jsonpath(const Value& doc, const std::string& path);

}  // namespace skiff::expr::detail
