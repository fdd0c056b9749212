// Argo's expression language (expr-lang, as in `{{=...}}`, retryStrategy.expression,
// outputs valueFrom.expression, `when` after substitution) over a Scope.
//
// Supported: literals (numbers, 'single' and "double" quoted strings, true/false/nil,
// [lists], {maps}), arithmetic (+ - * / % **), comparison, `&&`/`and`, `||`/`or`, `!`/`not`,
// ternary `?:`, `??`, `in`, `contains`, `startsWith`, `endsWith`, `matches`, member access
// (a.b, a['b-c'], a[0]), and functions: asInt, asFloat, string, int, float, len, jsonpath,
// toJson, fromJson(sprig), lower, upper, trim, split, join, filter/map/all/any with `#`,
// and the commonly used sprig.* (sprig.trim, sprig.upper, sprig.lower, sprig.replace,
// sprig.contains, sprig.hasPrefix, sprig.hasSuffix, sprig.splitList, sprig.join,
// sprig.toString, sprig.int, sprig.float64, sprig.default, sprig.empty, sprig.add, sprig.sub,
// sprig.mul, sprig.div, sprig.max, sprig.min, sprig.quote, sprig.squote, sprig.trimSuffix,
// sprig.trimPrefix, sprig.repeat, sprig.substr, sprig.b64enc, sprig.b64dec, sprig.toJson,
// sprig.fromJson, sprig.list, sprig.dict, sprig.get, sprig.ternary, sprig.regexMatch).
// Stateless; limits on input length and nesting depth guard against hostile input.
#pragma once

#include <string>
#include <string_view>

#include "expr/scope.h"
#include "util/status.h"

namespace skiff::expr {

// The value as Argo renders it into a string: strings as-is, integers without a decimal
// point, floats in Go's shortest form, bools as true/false, nil as "", lists and maps as JSON.
Result<std::string> evaluate_to_string(std::string_view expression, const Scope& scope);

// Truthiness for `when` and retry `expression`: the result must be a bool.
Result<bool> evaluate_bool(std::string_view expression, const Scope& scope);

// The value as JSON text (for withParam from an expression, outputs to JSON).
Result<std::string> evaluate_to_json(std::string_view expression, const Scope& scope);

// Argo's `when`: `{{...}}` already substituted; then evaluated as govaluate would
// (`heads == heads`, `5 > 3`, `'a' != 'b'`, `true`, `x =~ "re"`, `&&`, `||`, `!`, parens,
// bare words compared as strings). Returns an error naming the text when it cannot.
Result<bool> evaluate_when(std::string_view substituted_condition);

}  // namespace skiff::expr
