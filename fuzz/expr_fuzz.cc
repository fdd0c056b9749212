// libFuzzer target: substitution, expressions, `when` and `depends` on arbitrary input
// must return a value or an error, never crash or hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "expr/depends.h"
#include "expr/eval.h"
#include "expr/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  skiff::expr::Scope scope;
  scope.set("inputs.parameters.x", "1");
  scope.set_json("item", R"({"a":[1,2,{"b":"c"}]})");
  (void)skiff::expr::substitute(text, scope);
  (void)skiff::expr::evaluate_to_string(text, scope);
  (void)skiff::expr::evaluate_when(text);
  (void)skiff::expr::references(text);
  (void)skiff::expr::expression_variables(text);
  (void)skiff::expr::DependsExpr::parse(text);
  return 0;
}
