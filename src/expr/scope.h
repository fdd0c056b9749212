// Scope: the variables visible to `{{...}}` substitution and `{{=...}}` expressions.
//
// Argo's variables are dotted names ("inputs.parameters.x", "tasks.a.outputs.result",
// "workflow.name", "item", "item.key"). A Scope maps each full name to its value as text;
// a value may also be marked as JSON (an item that is an object or list, withParam output)
// so expressions see it structured. Scopes chain to a parent so a task's scope can add
// inputs over its DAG's scope without copying. Not thread-safe; owned by its user.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace skiff::expr {

struct ScopeValue {
  std::string text;
  bool is_json = false;  // text is JSON (object, list, number, bool) rather than a plain string
};

class Scope {
 public:
  Scope() = default;
  explicit Scope(const Scope* parent) : parent_(parent) {}

  void set(const std::string& name, std::string value) { vars_[name] = {std::move(value), false}; }
  void set_json(const std::string& name, std::string json) { vars_[name] = {std::move(json), true}; }

  // Looks the name up here, then in the parents.
  const ScopeValue* find(const std::string& name) const;
  // True when some variable starts with `prefix` + "." (so "tasks.a" exists as a map).
  bool has_prefix(const std::string& prefix) const;

  const std::map<std::string, ScopeValue>& own() const { return vars_; }
  const Scope* parent() const { return parent_; }

 private:
  const Scope* parent_ = nullptr;
  std::map<std::string, ScopeValue> vars_;
};

}  // namespace skiff::expr
