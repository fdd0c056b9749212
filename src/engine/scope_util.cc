// Helpers shared by the DAG and steps controllers: loop expansion, argument resolution,
// and the variables a finished node contributes to its siblings' scope.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "engine/engine_impl.h"
#include "engine/workflow_json.h"
#include "expr/eval.h"
#include "expr/template.h"
#include "util/json_text.h"
#include "util/strings.h"

namespace skiff::engine::detail {

namespace {

using Json = nlohmann::json;

constexpr size_t kMaxItems = 100000;

// How Go's %v prints an item value inside a node name.
std::string label_value(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string item_label(const Json& item) {
  if (item.is_object()) {
    std::vector<std::string> parts;
    for (auto it = item.begin(); it != item.end(); ++it) parts.push_back(it.key() + ":" + label_value(it.value()));
    std::sort(parts.begin(), parts.end());
    return join(parts, ",");
  }
  return label_value(item);
}

// A printf format for withSequence: exactly one integer conversion, nothing dangerous.
// On success `*ll` is the same format with the conversion widened to long long.
bool safe_int_format(const std::string& f, std::string* ll) {
  int conversions = 0;
  *ll = f;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') continue;
    if (i + 1 < f.size() && f[i + 1] == '%') {
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < f.size() && (std::isdigit(static_cast<unsigned char>(f[j])) || f[j] == '-' || f[j] == '+' || f[j] == ' ' || f[j] == '#')) ++j;
    if (j >= f.size() || !std::strchr("dioxX", f[j]) || j - i > 6) return false;
    ll->insert(j + ll->size() - f.size(), "ll");
    ++conversions;
    i = j;
  }
  return conversions == 1 && f.size() < 256;
}

Result<long long> int_field(const std::string& text, const expr::Scope& scope, const char* what) {
  auto v = expr::substitute(text, scope);
  if (!v) return v.status();
  char* end = nullptr;
  long long n = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || !end || *end) return invalid(std::string("withSequence.") + what + " \"" + *v + "\" is not an integer");
  return n;
}

}  // namespace

Result<std::optional<std::vector<LoopItem>>> expand_loop(const spec::Task& task, const expr::Scope& scope) {
  std::vector<Json> items;
  if (task.with_items) {
    for (const auto& it : *task.with_items) {
      Json v = parse_json_or_discarded<Json>(it.json);
      if (v.is_string()) {
        auto s = expr::substitute(v.get<std::string>(), scope);
        if (!s) return s.status();
        v = *s;
      }
      items.push_back(std::move(v));
    }
  } else if (!task.with_param.empty()) {
    auto text = expr::substitute(task.with_param, scope);
    if (!text) return text.status();
    Json v = parse_json_or_discarded<Json>(*text);
    if (v.is_discarded() || !v.is_array())
      return invalid("withParam value could not be parsed as a JSON list: " + std::string(trim(*text)).substr(0, 200));
    for (auto& e : v) items.push_back(std::move(e));
  } else if (task.with_sequence) {
    const auto& seq = *task.with_sequence;
    long long start = 0, end = -1;
    if (!seq.start.empty()) {
      auto s = int_field(seq.start, scope, "start");
      if (!s) return s.status();
      start = *s;
    }
    if (!seq.count.empty()) {
      auto c = int_field(seq.count, scope, "count");
      if (!c) return c.status();
      if (*c < 0) return invalid("withSequence.count must not be negative");
      end = start + *c - 1;
    } else if (!seq.end.empty()) {
      auto e = int_field(seq.end, scope, "end");
      if (!e) return e.status();
      end = *e;
    } else {
      return invalid("withSequence needs count or end");
    }
    std::string format;
    if (!seq.format.empty() && !safe_int_format(seq.format, &format))
      return invalid("withSequence.format \"" + seq.format + "\" must hold one integer conversion such as %d or %02d");
    long long span = seq.count.empty() ? std::llabs(end - start) + 1 : end - start + 1;
    if (span > static_cast<long long>(kMaxItems)) return invalid("withSequence: more than 100000 items");
    long long step = seq.count.empty() && end < start ? -1 : 1;
    for (long long k = 0, i = start; k < span; ++k, i += step) {
      std::string s = std::to_string(i);
      if (!seq.format.empty()) {
        char buf[300];
        std::snprintf(buf, sizeof buf, format.c_str(), i);
        s = buf;
      }
      items.push_back(s);
    }
  } else {
    return std::optional<std::vector<LoopItem>>();
  }
  if (items.size() > kMaxItems) return invalid("more than 100000 loop items");
  std::vector<LoopItem> out;
  out.reserve(items.size());
  for (const auto& v : items) out.push_back(LoopItem{item_label(v), v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
  return std::optional<std::vector<LoopItem>>(std::move(out));
}

Call child_of(const Call& parent, std::string name, std::string display, std::string boundary_id) {
  Call c;
  c.name = std::move(name);
  c.display_name = std::move(display);
  c.boundary_id = std::move(boundary_id);
  c.exit_handler = parent.exit_handler;
  c.depth = parent.depth + 1;
  return c;
}

void bind_item(expr::Scope& scope, const LoopItem& item) {
  Json v = parse_json_or_discarded<Json>(item.json);
  if (v.is_string()) {
    scope.set("item", v.get<std::string>());
    return;
  }
  if (v.is_object()) {
    scope.set_json("item", item.json);
    for (auto it = v.begin(); it != v.end(); ++it)
      scope.set("item." + it.key(), it.value().is_string() ? it.value().get<std::string>() : it.value().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  if (v.is_array()) scope.set_json("item", item.json);
  else scope.set("item", item.json);  // numbers and bools as their text
}

namespace {

// Every string in `v` with its {{...}} resolved in `scope`.
Status substitute_strings(Json& v, const expr::Scope& scope) {
  if (v.is_string()) {
    auto s = expr::substitute(v.get<std::string>(), scope);
    if (!s) return s.status();
    v = std::move(*s);
  } else if (v.is_structured()) {
    for (auto& e : v)
      if (Status st = substitute_strings(e, scope); !st) return st;
  }
  return Status::ok();
}

const char* const kLocationKeys[] = {"s3", "raw", "http", "git", "artifactory", "hdfs", "oss", "gcs", "azure", "plugin"};

}  // namespace

// True when `text` is one reference alone ("{{tasks.p.outputs.parameters.x}}") to an
// output a skipped node left absent.
static bool names_absent(const std::string& text, const expr::Scope& scope) {
  std::string_view t = trim(text);
  if (t.size() < 5 || t.substr(0, 2) != "{{" || t.substr(t.size() - 2) != "}}") return false;
  std::string_view name = trim(t.substr(2, t.size() - 4));
  if (name.find_first_of("{}") != std::string_view::npos) return false;
  const expr::ScopeValue* v = scope.find(std::string(name));
  return v && v->is_json && v->text == "null";
}

static std::string artifact_json(const Json& v) { return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

Result<std::string> resolve_artifact(const spec::Artifact& a, const expr::Scope& scope, const std::string& what) {
  Json found;
  if (!a.from.empty() || !a.from_expression.empty()) {
    Result<std::string> text = !a.from.empty() ? expr::substitute(a.from, scope)
                                               : expr::evaluate_to_string(a.from_expression, scope);
    if (!text) return text.status().with_context(what);
    found = parse_json_or_discarded<Json>(*text);
    if (!found.is_object()) {
      return invalid(what + ": " + (!a.from.empty() ? "from \"" + a.from + "\"" : "fromExpression \"" + a.from_expression + "\"") +
                     " did not name an artifact (it gave \"" + text->substr(0, 120) + "\"); name one as "
                     "\"{{steps.X.outputs.artifacts.Y}}\", \"{{tasks.X.outputs.artifacts.Y}}\" or \"{{inputs.artifacts.Y}}\"");
    }
  } else {
    found = parse_json_or_discarded<Json>(a.source_json);
    if (!found.is_object()) return invalid(what + ": not an artifact");
    if (Status st = substitute_strings(found, scope); !st) return st.with_context(what);
  }
  // Only where it is: the consumer's own declaration says where it goes (path, mode).
  Json location = Json::object();
  for (const char* key : kLocationKeys)
    if (found.contains(key)) location[key] = found[key];
  if (location.empty() && !a.optional) return invalid(what + " names no location (s3, raw, http, ...) to read it from");
  if (!a.sub_path.empty()) location["subPath"] = a.sub_path;
  return artifact_json(location);
}

Status resolve_arguments(const spec::Task& task, const expr::Scope& scope, Call& call) {
  for (const auto& a : task.arguments.artifacts) {
    auto where = resolve_artifact(a, scope, "argument artifact \"" + a.name + "\" of \"" + task.name + "\"");
    if (!where) return where.status();
    call.artifact_args.emplace_back(a.name, std::move(*where));
  }
  NameValues& out = call.args;
  for (const auto& p : task.arguments.parameters) {
    std::string value;
    if (p.value && names_absent(*p.value, scope)) continue;  // the input's own default applies
    if (p.value) {
      auto v = expr::substitute(*p.value, scope);
      if (!v) return v.status();
      value = std::move(*v);
    } else if (p.value_from && !p.value_from->expression.empty()) {
      auto v = expr::evaluate_to_string(p.value_from->expression, scope);
      if (!v) return v.status();
      value = std::move(*v);
    } else {
      return invalid("argument \"" + p.name + "\" of \"" + task.name + "\" has no value");
    }
    out.emplace_back(p.name, std::move(value));
  }
  return Status::ok();
}

void bind_node_outputs(expr::Scope& scope, const std::string& prefix, const Node& node) {
  scope.set(prefix + ".id", node.id);
  scope.set(prefix + ".status", phase_name(node.phase));
  scope.set(prefix + ".startedAt", rfc3339(node.started_at_ms));
  scope.set(prefix + ".finishedAt", rfc3339(node.finished_at_ms));
  if (node.outputs.result) scope.set(prefix + ".outputs.result", *node.outputs.result);
  if (node.outputs.exit_code) {
    scope.set(prefix + ".exitCode", std::to_string(*node.outputs.exit_code));
    scope.set(prefix + ".outputs.exitCode", std::to_string(*node.outputs.exit_code));
  }
  for (const auto& [k, v] : node.outputs.parameters) scope.set(prefix + ".outputs.parameters." + k, v);
  for (const auto& [k, v] : node.outputs.artifacts) scope.set_json(prefix + ".outputs.artifacts." + k, v);
  for (const auto& k : node.outputs.absent) scope.set_json(prefix + ".outputs.parameters." + k, "null");
  // A Retry node over a daemon carries its attempt's address.
  if (!node.pod_name.empty() || !node.pod_ip.empty())
    scope.set(prefix + ".ip", node.pod_ip.empty() ? "127.0.0.1" : node.pod_ip);
}

void skipped_outputs(Node& node, const spec::Template* tmpl) {
  if (!tmpl || node.phase != NodePhase::kSkipped) return;
  for (const auto& p : tmpl->outputs.parameters) {
    if (p.value_from && p.value_from->default_value) node.outputs.parameters.emplace_back(p.name, *p.value_from->default_value);
    else node.outputs.absent.push_back(p.name);
  }
}

void bind_aggregate_outputs(expr::Scope& scope, const std::string& prefix, const std::vector<const Node*>& children) {
  Json results = Json::array();
  std::map<std::string, Json> params;
  Json each = Json::array();  // {name: value} of every child with output parameters
  for (const Node* c : children) {
    if (!c->outputs.parameters.empty()) {
      Json one = Json::object();
      for (const auto& [k, v] : c->outputs.parameters) one[k] = v;
      each.push_back(std::move(one));
    }
    if (c->outputs.result) {
      // Argo puts each result in the list as JSON when it parses, else as a string.
      Json r = parse_json_or_discarded<Json>(*c->outputs.result);
      results.push_back(r.is_discarded() || r.is_string() ? Json(*c->outputs.result) : r);
    }
    for (const auto& [k, v] : c->outputs.parameters) {
      auto& list = params[k];
      if (list.is_null()) list = Json::array();
      list.push_back(v);
    }
  }
  if (!results.empty()) scope.set(prefix + ".outputs.result", results.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  for (const auto& [k, v] : params) scope.set(prefix + ".outputs.parameters." + k, v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (!each.empty()) scope.set(prefix + ".outputs.parameters", each.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Status template_outputs(const spec::Template& tmpl, const expr::Scope& scope, NodeOutputs& out) {
  for (const auto& p : tmpl.outputs.parameters) {
    if (!p.value_from) continue;
    std::optional<std::string> value;
    if (!p.value_from->parameter.empty()) {
      auto v = expr::substitute(p.value_from->parameter, scope);
      if (v) value = *v;
    } else if (!p.value_from->expression.empty()) {
      auto v = expr::evaluate_to_string(p.value_from->expression, scope);
      if (v) value = *v;
    }
    if (!value) value = p.value_from->default_value;
    if (!value) return invalid("output parameter \"" + p.name + "\" could not be resolved and has no default");
    out.parameters.emplace_back(p.name, *value);
  }
  for (const auto& a : tmpl.outputs.artifacts) {
    auto where = resolve_artifact(a, scope, "output artifact \"" + a.name + "\"");
    if (!where) {
      if (a.optional) continue;
      return where.status();
    }
    Json v = parse_json_or_discarded<Json>(*where);
    v["name"] = a.name;
    out.artifacts.emplace_back(a.name, artifact_json(v));
  }
  return Status::ok();
}

}  // namespace skiff::engine::detail
