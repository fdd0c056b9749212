#include "cd/diff.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "cd/diff_text.h"
#include "cd/managed_fields.h"
#include "util/base64.h"
#include "util/json_text.h"

namespace skiff::cd {
namespace {

using nlohmann::json;

// Fields the API server or the tools around it set: never drift, never "removed".
constexpr const char* kServerMetadata[] = {"uid", "resourceVersion", "generation", "creationTimestamp",
                                           "managedFields", "selfLink", "deletionTimestamp",
                                           "deletionGracePeriodSeconds"};
constexpr const char* kToolAnnotations[] = {"kubectl.kubernetes.io/last-applied-configuration",
                                            "argocd.argoproj.io/tracking-id", "deployment.kubernetes.io/revision"};
constexpr const char* kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";

// ---- values spelt differently ------------------------------------------------------

// A Kubernetes quantity ("500m", "1Gi", "1e3", 2) as a number, or nullopt.
std::optional<long double> quantity(const json& v) {
  if (v.is_number()) return v.get<long double>();
  if (!v.is_string()) return std::nullopt;
  const std::string s = v.get<std::string>();
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  long double number = std::strtold(s.c_str(), &end);
  if (end == s.c_str()) return std::nullopt;
  std::string suffix(end);
  static const std::pair<const char*, long double> kSuffixes[] = {
      {"", 1},      {"n", 1e-9L}, {"u", 1e-6L}, {"m", 1e-3L}, {"k", 1e3L},  {"M", 1e6L},
      {"G", 1e9L},  {"T", 1e12L}, {"P", 1e15L}, {"E", 1e18L}, {"Ki", 0x1p10L}, {"Mi", 0x1p20L},
      {"Gi", 0x1p30L}, {"Ti", 0x1p40L}, {"Pi", 0x1p50L}, {"Ei", 0x1p60L}};
  for (const auto& [name, scale] : kSuffixes)
    if (suffix == name) return number * scale;
  return std::nullopt;  // strtold already took any exponent ("1e3")
}

bool quantity_field(const std::string& pointer) {
  for (const char* part : {"/requests/", "/limits/", "/hard/", "/capacity/", "/sizeLimit"})
    if (pointer.find(part) != std::string::npos) return true;
  return false;
}

bool same_scalar(const json& desired, const json& live, const std::string& pointer) {
  if (desired == live) return true;
  if (desired.is_number() && live.is_number()) return desired.get<double>() == live.get<double>();
  if (quantity_field(pointer)) {
    std::optional<long double> a = quantity(desired), b = quantity(live);
    if (a && b) return std::fabs(*a - *b) <= 1e-12L * std::max(std::fabs(*a), std::fabs(*b));
  }
  // int-or-string fields (targetPort, maxSurge): 8080 and "8080" are the same value.
  if (desired.is_number() && live.is_string()) return desired.dump() == live.get<std::string>();
  if (desired.is_string() && live.is_number()) return desired.get<std::string>() == live.dump();
  return false;
}

// Nothing set: the API server drops these, so a live object lacking them is no drift.
bool empty_value(const json& v) {
  if (v.is_null()) return true;
  if (v.is_object() || v.is_array()) {
    for (const json& child : v)
      if (!empty_value(child)) return false;
    return true;
  }
  return false;
}

// ---- lists by merge key ------------------------------------------------------------

// The field that identifies the elements of list `name` (Kubernetes' patchMergeKey), or
// "" for lists compared by position.
std::string merge_key(const std::string& name, const json& sample) {
  if (!sample.is_array() || sample.empty()) return "";
  auto all_have = [&](const char* key) {
    return std::all_of(sample.begin(), sample.end(), [&](const json& e) { return e.is_object() && e.contains(key); });
  };
  if (name == "volumeMounts") return all_have("mountPath") ? "mountPath" : "";
  if (name == "volumeDevices") return all_have("devicePath") ? "devicePath" : "";
  if (name == "hostAliases") return all_have("ip") ? "ip" : "";
  if (name == "ports") return all_have("containerPort") ? "containerPort" : all_have("port") ? "port" : "";
  if (name == "conditions") return all_have("type") ? "type" : "";
  // containers, initContainers, env, volumes, imagePullSecrets, ... are keyed by name.
  return all_have("name") ? "name" : "";
}

long find_by_key(const json& list, const std::string& key, const json& value) {
  if (!list.is_array()) return -1;
  for (size_t i = 0; i < list.size(); ++i)
    if (list[i].is_object() && list[i].contains(key) && same_scalar(value, list[i][key], ""))
      return static_cast<long>(i);
  return -1;
}

// ---- the comparison ----------------------------------------------------------------

struct Comparison {
  std::vector<std::string> paths;
  void differ(const std::string& pointer) { paths.push_back(pointer); }

  // The live object seen through the desired one: live's value for every field desired
  // sets or `previous` (what skiff applied before) set; records the pointers that differ.
  // `live` or `previous` null: absent. Returns nullopt when live has nothing to show.
  // Worked example:
  //   desired  {spec: {replicas: 2, containers: [{name: web, image: a}]}, labels: {x: 1}}
  //   live     {spec: {replicas: 2, containers: [{name: side}, {name: web, image: b, imagePullPolicy: Always}]},
  //             labels: {x: 1, y: 2}, status: ...}
  //   previous {labels: {x: 1, y: 2}}  (skiff applied y before; git dropped it)
  //   result   {spec: {replicas: 2, containers: [{name: web, image: b}]}, labels: {x: 1, y: 2}}
  //   paths    /spec/containers/1/image (web matched by name), /labels/y (applied, dropped, live)
  //   not      imagePullPolicy (a default), container "side" (live only), status.
  std::optional<json> project(const json& desired, const json* live, const json* previous, const std::string& pointer,
                              const std::string& name) {
    if (!live) {
      if (!empty_value(desired)) differ(pointer);
      return std::nullopt;
    }
    if (desired.is_object() && live->is_object()) return project_object(desired, *live, previous, pointer);
    if (desired.is_array() && live->is_array()) return project_array(desired, *live, previous, pointer, name);
    if (desired.is_object() || desired.is_array() || live->is_object() || live->is_array()) {
      if (!(empty_value(desired) && empty_value(*live))) differ(pointer);
      return *live;
    }
    if (same_scalar(desired, *live, pointer)) return desired;  // shown in desired's spelling
    differ(pointer);
    return *live;
  }

  json project_object(const json& desired, const json& live, const json* previous, const std::string& pointer) {
    json out = json::object();
    for (auto it = desired.begin(); it != desired.end(); ++it) {
      if (it->is_null()) continue;
      auto found = live.find(it.key());
      const json* prev = previous && previous->is_object() && previous->contains(it.key()) ? &(*previous)[it.key()] : nullptr;
      std::optional<json> child = project(*it, found == live.end() ? nullptr : &*found, prev,
                                          pointer + "/" + pointer_token(it.key()), it.key());
      if (child) out[it.key()] = std::move(*child);
    }
    if (previous && previous->is_object()) {
      for (auto it = previous->begin(); it != previous->end(); ++it) {
        if ((desired.contains(it.key()) && !desired[it.key()].is_null()) || !live.contains(it.key())) continue;
        differ(pointer + "/" + pointer_token(it.key()));  // applied before, no longer desired
        out[it.key()] = live[it.key()];
      }
    }
    return out;
  }

  json project_array(const json& desired, const json& live, const json* previous, const std::string& pointer,
                     const std::string& name) {
    std::string key = merge_key(name, desired);
    if (key.empty() && desired.empty()) key = merge_key(name, live);
    if (key.empty()) {
      if (desired.size() != live.size()) {
        differ(pointer);
        return live;
      }
      json out = json::array();
      for (size_t i = 0; i < desired.size(); ++i) {
        std::optional<json> child = project(desired[i], &live[i], nullptr, pointer + "/" + std::to_string(i), "");
        out.push_back(child ? std::move(*child) : json());
      }
      return out;
    }
    json out = json::array();
    for (size_t i = 0; i < desired.size(); ++i) {
      const json& element = desired[i];
      long at = element.is_object() && element.contains(key) ? find_by_key(live, key, element[key]) : -1;
      long prev_at = previous && at >= 0 ? find_by_key(*previous, key, element[key]) : -1;
      const json* prev = prev_at >= 0 ? &(*previous)[static_cast<size_t>(prev_at)] : nullptr;
      std::string element_pointer = pointer + "/" + std::to_string(at >= 0 ? at : static_cast<long>(i));
      if (at < 0) {
        differ(element_pointer);
        continue;
      }
      std::optional<json> child = project(element, &live[static_cast<size_t>(at)], prev, element_pointer, "");
      if (child) out.push_back(std::move(*child));
    }
    // Elements skiff applied before and the desired list dropped, still live.
    if (previous && previous->is_array()) {
      for (const json& element : *previous) {
        if (!element.is_object() || !element.contains(key)) continue;
        if (find_by_key(desired, key, element[key]) >= 0) continue;
        long at = find_by_key(live, key, element[key]);
        if (at < 0) continue;
        differ(pointer + "/" + std::to_string(at));
        out.push_back(live[static_cast<size_t>(at)]);
      }
    }
    return out;
  }
};

// ---- normalisation -----------------------------------------------------------------

json normalize(const json& object) {
  json out = object;
  if (!out.is_object()) return out;
  out.erase("status");
  if (out.contains("metadata") && out["metadata"].is_object()) {
    json& metadata = out["metadata"];
    for (const char* field : kServerMetadata) metadata.erase(field);
    if (metadata.contains("annotations") && metadata["annotations"].is_object())
      for (const char* annotation : kToolAnnotations) metadata["annotations"].erase(annotation);
  }
  // A Secret's stringData is write-only: the API server merges it into data.
  if (out.value("kind", json()) == "Secret" && out.value("apiVersion", json()) == "v1" && out.contains("stringData") &&
      out["stringData"].is_object()) {
    if (!out.contains("data") || !out["data"].is_object()) out["data"] = json::object();
    for (auto it = out["stringData"].begin(); it != out["stringData"].end(); ++it)
      if (it->is_string()) out["data"][it.key()] = base64_encode(it->get<std::string>());
    out.erase("stringData");
  }
  return out;
}

// Pointers, deepest and highest index first, so erasing one leaves the others valid.
void erase_pointers(json& doc, std::vector<std::string> pointers) {
  auto tokens = [](const std::string& p) {
    std::vector<std::string> t;
    for (size_t i = 1; i <= p.size();) {
      size_t next = p.find('/', i);
      if (next == std::string::npos) next = p.size();
      t.push_back(p.substr(i, next - i));
      i = next + 1;
    }
    return t;
  };
  auto numeric = [](const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; };
  std::sort(pointers.begin(), pointers.end(), [&](const std::string& a, const std::string& b) {
    std::vector<std::string> ta = tokens(a), tb = tokens(b);
    for (size_t i = 0; i < std::min(ta.size(), tb.size()); ++i) {
      if (ta[i] == tb[i]) continue;
      // Indices by value (no leading zeros in indices: longer is larger).
      if (numeric(ta[i]) && numeric(tb[i]) && ta[i].size() != tb[i].size()) return ta[i].size() > tb[i].size();
      return ta[i] > tb[i];
    }
    return ta.size() > tb.size();
  });
  for (const std::string& pointer : pointers) {
    if (pointer.empty()) continue;
    try {
      json::json_pointer p(pointer);
      if (!doc.contains(p)) continue;
      json& parent = doc.at(p.parent_pointer());
      if (parent.is_object()) parent.erase(p.back());
      else if (parent.is_array()) parent.erase(std::stoul(p.back()));
    } catch (const std::exception&) {
      // Not a pointer into this document (a malformed ignoreDifferences entry): nothing to remove.
    }
  }
}

// The pointers into `doc` that a jq path (`.a.b`, `.a[0]`, `.a[]`, `.a["k"]`) names, or
// none when the expression is more than a path.
std::vector<std::string> jq_pointers(const json& doc, const std::string& expression) {
  std::vector<std::pair<const json*, std::string>> at = {{&doc, ""}};
  size_t i = 0;
  auto ident_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; };
  while (i < expression.size()) {
    std::vector<std::pair<const json*, std::string>> next;
    if (expression[i] == '.' && i + 1 < expression.size() && ident_char(expression[i + 1])) {
      size_t start = ++i;
      while (i < expression.size() && ident_char(expression[i])) ++i;
      std::string key = expression.substr(start, i - start);
      for (auto& [node, pointer] : at)
        if (node->is_object() && node->contains(key)) next.push_back({&(*node)[key], pointer + "/" + pointer_token(key)});
    } else if (expression.compare(i, 2, "[]") == 0 || expression.compare(i, 3, ".[]") == 0) {
      i += expression[i] == '.' ? 3 : 2;
      for (auto& [node, pointer] : at)
        if (node->is_array())
          for (size_t k = 0; k < node->size(); ++k) next.push_back({&(*node)[k], pointer + "/" + std::to_string(k)});
    } else if (expression[i] == '[' || (expression[i] == '.' && i + 1 < expression.size() && expression[i + 1] == '[')) {
      if (expression[i] == '.') ++i;
      size_t close = expression.find(']', i);
      if (close == std::string::npos) return {};
      json index = json::parse(expression.substr(i + 1, close - i - 1), nullptr, false);
      i = close + 1;
      for (auto& [node, pointer] : at) {
        if (index.is_number_unsigned() && node->is_array() && index.get<size_t>() < node->size())
          next.push_back({&(*node)[index.get<size_t>()], pointer + "/" + index.dump()});
        else if (index.is_string() && node->is_object() && node->contains(index.get<std::string>()))
          next.push_back({&(*node)[index.get<std::string>()], pointer + "/" + pointer_token(index.get<std::string>())});
      }
    } else {
      return {};  // pipes, select(), ...: not a plain path
    }
    at = std::move(next);
  }
  std::vector<std::string> out;
  for (auto& [node, pointer] : at) out.push_back(pointer);
  return out;
}

// `live_pointer` translated into `target`: list elements matched by merge key, not index.
std::optional<std::string> translate(const json& live, const json& target, const std::string& live_pointer) {
  json::json_pointer p(live_pointer);
  std::vector<std::string> tokens;
  for (json::json_pointer q = p; !q.empty(); q = q.parent_pointer()) tokens.insert(tokens.begin(), q.back());
  const json* l = &live;
  const json* t = &target;
  std::string out, name;
  for (const std::string& token : tokens) {
    if (l->is_object()) {
      if (!t->is_object() || !t->contains(token) || !l->contains(token)) return std::nullopt;
      l = &(*l)[token];
      t = &(*t)[token];
      out += "/" + pointer_token(token);
      name = token;
      continue;
    }
    if (!l->is_array() || !t->is_array()) return std::nullopt;
    size_t index = std::stoul(token);
    if (index >= l->size()) return std::nullopt;
    std::string key = merge_key(name, *l);
    long at = key.empty() ? static_cast<long>(index) : (*l)[index].contains(key) ? find_by_key(*t, key, (*l)[index][key]) : -1;
    if (at < 0 || static_cast<size_t>(at) >= t->size()) return std::nullopt;
    l = &(*l)[index];
    t = &(*t)[static_cast<size_t>(at)];
    out += "/" + std::to_string(at);
    name.clear();
  }
  return out;
}

// What skiff (or kubectl) applied before, for "no longer desired" fields.
json previously_applied(const json& live, const std::string& applier) {
  json previous = applier.empty() ? json::object() : applied_by(live, applier);
  const json* annotations = nullptr;
  if (live.contains("metadata") && live["metadata"].is_object() && live["metadata"].contains("annotations"))
    annotations = &live["metadata"]["annotations"];
  if (annotations && annotations->is_object() && annotations->contains(kLastApplied) &&
      (*annotations)[kLastApplied].is_string()) {
    json last = parse_json_or_discarded<json>((*annotations)[kLastApplied].get<std::string>());
    if (last.is_object()) previous.merge_patch(last);
  }
  return normalize(previous);
}

// Whether every container on the way to `p` in `doc` is an object (no list indices).
bool objects_along(const json& doc, const json::json_pointer& p) {
  for (json::json_pointer q = p.parent_pointer();; q = q.parent_pointer()) {
    if (!doc.at(q).is_object()) return false;
    if (q.empty()) return true;
  }
}

}  // namespace

Diff diff(const json& desired, const json& live, const DiffOptions& options) {
  Diff out;
  out.normalized_target = normalize(desired);
  if (!live.is_object()) {
    out.modified = true;
    out.paths = {""};
    out.normalized_live = nullptr;
    out.text = unified_diff("", to_yaml(out.normalized_target));
    return out;
  }
  json live_n = normalize(live);
  json previous = previously_applied(live, options.applier);

  // ignoreDifferences: gone from both sides (and from what was applied before).
  std::vector<std::string> live_erase, target_erase;
  for (const std::string& pointer : options.json_pointers) {
    live_erase.push_back(pointer);
    target_erase.push_back(pointer);
  }
  for (const std::string& expression : options.jq_path_expressions) {
    for (const std::string& p : jq_pointers(live_n, expression)) live_erase.push_back(p);
    for (const std::string& p : jq_pointers(out.normalized_target, expression)) target_erase.push_back(p);
  }
  if (!options.managed_fields_managers.empty()) {
    for (const std::string& pointer : owned_field_pointers(live, options.managed_fields_managers)) {
      if (std::optional<std::string> t = translate(live, out.normalized_target, pointer)) target_erase.push_back(*t);
      live_erase.push_back(pointer);
    }
  }
  std::vector<std::string> previous_erase = target_erase;
  erase_pointers(live_n, live_erase);
  erase_pointers(out.normalized_target, target_erase);
  erase_pointers(previous, previous_erase);

  Comparison comparison;
  std::optional<json> projected = comparison.project(out.normalized_target, &live_n, &previous, "", "");
  out.normalized_live = projected ? std::move(*projected) : json::object();
  out.paths = std::move(comparison.paths);
  out.modified = !out.paths.empty();
  if (out.modified) out.text = unified_diff(to_yaml(out.normalized_live), to_yaml(out.normalized_target));
  return out;
}

json respect_ignored(const json& desired, const json& live, const DiffOptions& options) {
  if (!live.is_object() || !desired.is_object()) return desired;
  json out = desired;
  // Pointers into live, each with where it lands in `out` (lists matched by merge key).
  std::vector<std::string> live_pointers = options.json_pointers;
  for (const std::string& expression : options.jq_path_expressions)
    for (const std::string& p : jq_pointers(live, expression)) live_pointers.push_back(p);
  for (const std::string& p : owned_field_pointers(live, options.managed_fields_managers)) live_pointers.push_back(p);
  std::vector<std::string> absent;  // ignored fields live lacks: left out of what is applied
  for (const std::string& pointer : options.json_pointers) {
    try {
      if (!pointer.empty() && !live.contains(json::json_pointer(pointer))) absent.push_back(pointer);
    } catch (const std::exception&) {
      // malformed: ignored
    }
  }
  for (const std::string& expression : options.jq_path_expressions)
    for (const std::string& p : jq_pointers(desired, expression))
      if (std::find(live_pointers.begin(), live_pointers.end(), p) == live_pointers.end()) absent.push_back(p);
  for (const std::string& pointer : live_pointers) {
    if (pointer.empty()) continue;
    try {
      json::json_pointer p(pointer);
      if (!live.contains(p)) continue;
      const json& value = live.at(p);
      if (std::optional<std::string> same = translate(live, out, pointer)) {
        out.at(json::json_pointer(*same)) = value;  // desired sets it: live's value instead
      } else if (std::optional<std::string> parent = translate(live, out, p.parent_pointer().to_string());
                 parent && out.at(json::json_pointer(*parent)).is_object()) {
        out.at(json::json_pointer(*parent))[p.back()] = value;
      } else if (objects_along(live, p)) {
        out[p] = value;  // a field under objects desired does not set: made with its parents
      }
    } catch (const std::exception&) {
      // a path that does not fit the desired object's shape: left as desired
    }
  }
  erase_pointers(out, absent);
  return out;
}

}  // namespace skiff::cd
