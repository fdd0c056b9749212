#include "expr/scope.h"

namespace skiff::expr {

const ScopeValue* Scope::find(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent_) {
    auto it = s->vars_.find(name);
    if (it != s->vars_.end()) return &it->second;
  }
  return nullptr;
}

bool Scope::has_prefix(const std::string& prefix) const {
  std::string p = prefix + ".";
  for (const Scope* s = this; s; s = s->parent_) {
    auto it = s->vars_.lower_bound(p);
    if (it != s->vars_.end() && it->first.compare(0, p.size(), p) == 0) return true;
  }
  return false;
}

}  // namespace skiff::expr
