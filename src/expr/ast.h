// Internal to expr/: the expression AST, its parser and evaluator. Values are
// nlohmann::json (null, bool, int64, double, string, array, object), so this header is
// only included by expr's own .cc files.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "expr/scope.h"
#include "util/status.h"

namespace skiff::expr::detail {

using Value = nlohmann::json;

struct Ast {
  enum Kind { kLiteral, kIdent, kMember, kIndex, kUnary, kBinary, kTernary, kCall, kList, kMap, kPointer };
  Kind kind = kLiteral;
  Value literal;        // kLiteral
  std::string name;     // kIdent name, kUnary/kBinary operator, kMember field, kCall function
  std::vector<std::unique_ptr<Ast>> args;  // operands / call arguments / list items / map k,v pairs
};
using AstPtr = std::unique_ptr<Ast>;

struct ParseOptions {
  // govaluate mode for `when`: bare words (which may contain - . / _) are strings.
  bool bare_words_are_strings = false;
};

Result<AstPtr> parse(std::string_view text, const ParseOptions& options = {});
Result<Value> evaluate(const Ast& ast, const Scope& scope);

// Renders a value as Argo puts it into a string (strings as-is, other values as JSON,
// floats in Go's shortest form).
std::string render(const Value& v);

// Dotted variable names read by the expression (for lint).
void collect_variables(const Ast& ast, std::vector<std::string>* out);

}  // namespace skiff::expr::detail
