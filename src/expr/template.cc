#include "expr/template.h"

#include "expr/ast.h"
#include "expr/eval.h"
#include "util/strings.h"

namespace skiff::expr {

namespace {

constexpr size_t kMaxTemplate = 4 << 20;

// Calls `on_tag(tag_text, whole_match)` for every {{...}} in order and `on_text` between.
template <typename OnText, typename OnTag>
Status scan(std::string_view text, OnText on_text, OnTag on_tag) {
  if (text.size() > kMaxTemplate) return invalid("text with {{...}} longer than 4 MiB");
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;  // like Argo: an unclosed tag is plain text
    on_text(text.substr(pos, open - pos));
    if (Status st = on_tag(trim(text.substr(open + 2, close - open - 2)), text.substr(open, close + 2 - open), open); !st)
      return st;
    pos = close + 2;
  }
  on_text(text.substr(pos));
  return Status::ok();
}

}  // namespace

Result<std::string> substitute(std::string_view text, const Scope& scope, const SubstituteOptions& options) {
  if (text.find("{{") == std::string_view::npos) return std::string(text);
  std::string out;
  Status st = scan(
      text, [&](std::string_view plain) { out += plain; },
      [&](std::string_view tag, std::string_view whole, size_t) -> Status {
        if (!tag.empty() && tag[0] == '=') {
          auto v = evaluate_to_string(tag.substr(1), scope);
          if (!v) {
            if (options.allow_unresolved) {
              out += whole;
              return Status::ok();
            }
            return v.status();
          }
          out += *v;
          return Status::ok();
        }
        const ScopeValue* sv = scope.find(std::string(tag));
        if (!sv) {
          if (options.allow_unresolved) {
            out += whole;
            return Status::ok();
          }
          return invalid("unresolved reference \"{{" + std::string(tag) + "}}\"");
        }
        out += sv->text;
        return Status::ok();
      });
  if (!st) return st;
  return out;
}

Result<std::vector<Reference>> references(std::string_view text) {
  std::vector<Reference> refs;
  Status st = scan(
      text, [](std::string_view) {},
      [&](std::string_view tag, std::string_view, size_t offset) -> Status {
        Reference r;
        r.is_expression = !tag.empty() && tag[0] == '=';
        r.text = std::string(r.is_expression ? trim(tag.substr(1)) : tag);
        r.offset = offset;
        refs.push_back(std::move(r));
        return Status::ok();
      });
  if (!st) return st;
  return refs;
}

Result<std::vector<std::string>> expression_variables(std::string_view expression) {
  auto ast = detail::parse(expression);
  if (!ast) return Status(Code::kInvalid, "expression \"" + std::string(expression) + "\": " + ast.status().message());
  std::vector<std::string> vars;
  detail::collect_variables(**ast, &vars);
  return vars;
}

}  // namespace skiff::expr
