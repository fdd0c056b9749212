// Evaluation of expression ASTs over a Scope, and the public entry points of eval.h.
#include "expr/eval.h"

#include <fmt/format.h>

#include <cmath>

#include "expr/ast.h"
#include "expr/functions.h"
#include "util/json_text.h"
#include "util/strings.h"

namespace skiff::expr {

namespace detail {

std::string render(const Value& v) {
  switch (v.type()) {
    case Value::value_t::string: return v.get<std::string>();
    case Value::value_t::null: return "";
    case Value::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case Value::value_t::number_float: {
      double d = v.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) return fmt::format("{}", static_cast<int64_t>(d));
      return fmt::format("{}", d);
    }
    default: return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

namespace {


// A scope variable's value: JSON when marked so (and parseable), else the text.
Value scope_value(const ScopeValue& sv) {
  if (sv.is_json) {
    Value v = parse_json_or_discarded<Value>(sv.text);
    if (!v.is_discarded()) return v;
  }
  return sv.text;
}

// Every variable under `prefix.` as a nested object: inputs.parameters -> {"x": "1"}.
Value object_for_prefix(const Scope& scope, const std::string& prefix) {
  std::vector<const Scope*> chain;
  for (const Scope* s = &scope; s; s = s->parent()) chain.push_back(s);
  Value out = Value::object();
  std::string p = prefix + ".";
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {  // children override parents
    const auto& vars = (*it)->own();
    for (auto v = vars.lower_bound(p); v != vars.end() && starts_with(v->first, p); ++v) {
      std::vector<std::string> parts = split(std::string_view(v->first).substr(p.size()), '.');
      Value* cur = &out;
      bool ok = true;
      for (size_t i = 0; i + 1 < parts.size() && ok; ++i) {
        Value& next = (*cur)[parts[i]];
        if (next.is_null()) next = Value::object();
        ok = next.is_object();
        cur = &next;
      }
      if (ok && (!(*cur).contains(parts.back()) || !(*cur)[parts.back()].is_object()))
        (*cur)[parts.back()] = scope_value(v->second);
    }
  }
  return out;
}

Result<Value> member(const Value& base, const std::string& key, const std::string& where) {
  if (base.is_object()) {
    auto it = base.find(key);
    if (it == base.end()) return invalid("no field \"" + key + "\" in " + where);
    return *it;
  }
  if (base.is_array()) {
    char* end = nullptr;
    long long i = std::strtoll(key.c_str(), &end, 10);
    if (end && *end == 0 && !key.empty()) {
      if (i < 0) i += static_cast<long long>(base.size());
      if (i < 0 || i >= static_cast<long long>(base.size())) return invalid("index " + key + " out of range in " + where);
      return base[static_cast<size_t>(i)];
    }
  }
  if (base.is_string() && !key.empty() && std::isdigit(static_cast<unsigned char>(key[0]))) {
    const std::string& s = base.get_ref<const std::string&>();
    size_t i = std::strtoull(key.c_str(), nullptr, 10);
    if (i < s.size()) return Value(std::string(1, s[i]));
  }
  return invalid("cannot read \"" + key + "\" of " + where + " (a " + base.type_name() + ")");
}

class Evaluator {
 public:
  explicit Evaluator(const Scope& scope) : scope_(scope) {}

  Result<Value> eval(const Ast& a) {
    switch (a.kind) {
      case Ast::kLiteral: return a.literal;
      case Ast::kPointer:
        if (pointers_.empty()) return invalid("\"#\" used outside a predicate");
        return pointers_.back();
      case Ast::kIdent:
      case Ast::kMember:
      case Ast::kIndex: {
        std::vector<std::string> parts;
        if (path_of(a, &parts)) return resolve(parts);
        if (a.kind == Ast::kIdent) return invalid("unknown name " + a.name);
        auto base = eval(*a.args[0]);
        if (!base) return base;
        if (a.kind == Ast::kMember) return member(*base, a.name, "value");
        auto key = eval(*a.args[1]);
        if (!key) return key;
        return member(*base, render(*key), "value");
      }
      case Ast::kUnary: return unary(a);
      case Ast::kBinary: return binary(a);
      case Ast::kTernary: {
        auto c = eval(*a.args[0]);
        if (!c) return c;
        if (!c->is_boolean()) return invalid("the condition of ?: is not a bool");
        return eval(*a.args[c->get<bool>() ? 1 : 2]);
      }
      case Ast::kList: {
        Value out = Value::array();
        for (const auto& e : a.args) {
          auto v = eval(*e);
          if (!v) return v;
          out.push_back(std::move(*v));
        }
        return out;
      }
      case Ast::kMap: {
        Value out = Value::object();
        for (size_t i = 0; i + 1 < a.args.size(); i += 2) {
          auto v = eval(*a.args[i + 1]);
          if (!v) return v;
          out[render(a.args[i]->literal)] = std::move(*v);
        }
        return out;
      }
      case Ast::kCall: return call(a);
    }
    return invalid("unsupported expression");
  }

 private:
  // Identifier chains with constant keys name scope variables: inputs.parameters['a-b'].
  static bool path_of(const Ast& a, std::vector<std::string>* parts) {
    if (a.kind == Ast::kIdent) {
      parts->push_back(a.name);
      return true;
    }
    if (a.kind == Ast::kMember) {
      if (!path_of(*a.args[0], parts)) return false;
      parts->push_back(a.name);
      return true;
    }
    if (a.kind == Ast::kIndex && a.args[1]->kind == Ast::kLiteral &&
        (a.args[1]->literal.is_string() || a.args[1]->literal.is_number_integer())) {
      if (!path_of(*a.args[0], parts)) return false;
      parts->push_back(render(a.args[1]->literal));
      return true;
    }
    return false;
  }

  // The longest dotted prefix that is a variable wins; the rest are member accesses into
  // its (JSON) value. A name that is only a prefix (inputs.parameters) is an object.
  Result<Value> resolve(const std::vector<std::string>& parts) {
    for (size_t k = parts.size(); k >= 1; --k) {
      std::string name = join(std::vector<std::string>(parts.begin(), parts.begin() + k), ".");
      const ScopeValue* sv = scope_.find(name);
      if (!sv) continue;
      // A JSON variable that is also a prefix of others (inputs.parameters, Argo's JSON list,
      // over inputs.parameters.x) is the object of those others, as Argo drops the less
      // specific key before it builds an expression's environment. A plain text one keeps
      // its text (workflow.creationTimestamp beside its .Y, .m, ... forms).
      Value v = scope_.has_prefix(name) && sv->is_json ? object_for_prefix(scope_, name) : scope_value(*sv);
      for (size_t i = k; i < parts.size(); ++i) {
        auto next = member(v, parts[i], name);
        if (!next) return next;
        v = std::move(*next);
        name += "." + parts[i];
      }
      return v;
    }
    std::string full = join(parts, ".");
    if (scope_.has_prefix(full)) return object_for_prefix(scope_, full);
    return invalid("unknown name " + full);
  }

  Result<Value> unary(const Ast& a) {
    auto v = eval(*a.args[0]);
    if (!v) return v;
    if (a.name == "!") {
      if (!v->is_boolean()) return invalid("\"!\" needs a bool, got " + render(*v));
      return Value(!v->get<bool>());
    }
    if (!v->is_number()) return invalid("unary \"" + a.name + "\" needs a number, got " + render(*v));
    if (a.name == "+") return v;
    if (v->is_number_integer()) return Value(-v->get<int64_t>());
    return Value(-v->get<double>());
  }

  Result<Value> binary(const Ast& a) {
    const std::string& op = a.name;
    if (op == "&&" || op == "and" || op == "||" || op == "or") {
      auto l = eval(*a.args[0]);
      if (!l) return l;
      if (!l->is_boolean()) return invalid("\"" + op + "\" needs bools, got " + render(*l));
      bool is_and = op == "&&" || op == "and";
      if (l->get<bool>() != is_and) return Value(!is_and);
      auto r = eval(*a.args[1]);
      if (!r) return r;
      if (!r->is_boolean()) return invalid("\"" + op + "\" needs bools, got " + render(*r));
      return r;
    }
    if (op == "??") {
      auto l = eval(*a.args[0]);
      if (l && !l->is_null()) return l;
      return eval(*a.args[1]);
    }
    auto l = eval(*a.args[0]);
    if (!l) return l;
    auto r = eval(*a.args[1]);
    if (!r) return r;
    return apply_binary(op, *l, *r);
  }

  Result<Value> call(const Ast& a) {
    const std::string& f = a.name;
    if (f == "filter" || f == "map" || f == "all" || f == "any" || f == "none" || f == "one" || f == "count") {
      if (a.args.size() != 2) return invalid(f + "() takes a list and a predicate");
      auto list = eval(*a.args[0]);
      if (!list) return list;
      if (!list->is_array()) return invalid(f + "() needs a list");
      Value out = Value::array();
      int64_t hits = 0;
      for (const auto& e : *list) {
        pointers_.push_back(e);
        auto v = eval(*a.args[1]);
        pointers_.pop_back();
        if (!v) return v;
        if (f == "map") {
          out.push_back(*v);
          continue;
        }
        if (!v->is_boolean()) return invalid(f + "() predicate must be a bool");
        if (v->get<bool>()) {
          ++hits;
          if (f == "filter") out.push_back(e);
        }
      }
      if (f == "filter" || f == "map") return out;
      if (f == "count") return Value(hits);
      if (f == "all") return Value(hits == static_cast<int64_t>(list->size()));
      if (f == "any") return Value(hits > 0);
      if (f == "none") return Value(hits == 0);
      return Value(hits == 1);
    }
    std::vector<Value> args;
    for (const auto& e : a.args) {
      auto v = eval(*e);
      if (!v) return v;
      args.push_back(std::move(*v));
    }
    return call_function(f, args);
  }

  const Scope& scope_;
  std::vector<Value> pointers_;
};

}  // namespace

Result<Value> evaluate(const Ast& ast, const Scope& scope) { return Evaluator(scope).eval(ast); }

}  // namespace detail

namespace {

Result<detail::Value> eval_text(std::string_view expression, const Scope& scope) {
  auto ast = detail::parse(expression);
  if (!ast) return Status(Code::kInvalid, "expression \"" + std::string(expression) + "\": " + ast.status().message());
  auto v = detail::evaluate(**ast, scope);
  if (!v) return Status(Code::kInvalid, "expression \"" + std::string(expression) + "\": " + v.status().message());
  return v;
}

}  // namespace

Result<std::string> evaluate_to_string(std::string_view expression, const Scope& scope) {
  auto v = eval_text(expression, scope);
  if (!v) return v.status();
  return detail::render(*v);
}

Result<bool> evaluate_bool(std::string_view expression, const Scope& scope) {
  auto v = eval_text(expression, scope);
  if (!v) return v.status();
  if (!v->is_boolean()) return invalid("expression \"" + std::string(expression) + "\" gives " + detail::render(*v) + ", not a bool");
  return v->get<bool>();
}

Result<std::string> evaluate_to_json(std::string_view expression, const Scope& scope) {
  auto v = eval_text(expression, scope);
  if (!v) return v.status();
  return v->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<bool> evaluate_when(std::string_view condition) {
  detail::ParseOptions options;
  options.bare_words_are_strings = true;
  auto ast = detail::parse(condition, options);
  if (!ast) return invalid("when \"" + std::string(condition) + "\": " + ast.status().message());
  Scope empty;
  auto v = detail::evaluate(**ast, empty);
  if (!v) return invalid("when \"" + std::string(condition) + "\": " + v.status().message());
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) {
    // govaluate gives back a lone word as itself; Argo accepts the words true/false.
    if (*v == "true") return true;
    if (*v == "false") return false;
  }
  return invalid("when \"" + std::string(condition) + "\" does not evaluate to true or false (got " + detail::render(*v) + ")");
}

}  // namespace skiff::expr
