// `memoize` on a template, as Argo does it: before the template's node runs, its key
// (after {{...}} substitution, with the node's inputs bound) is looked up in a cache
// ConfigMap; an entry younger than maxAge gives the node its stored outputs and it does
// not run (memoizationStatus.hit); otherwise it runs, and when it Succeeds its outputs are
// stored under the key. Only Succeeded nodes are stored.
//
// The engine does no I/O: it reads the entries from RunOptions (the runner read the
// namespace's ConfigMaps as the run started) and asks the runner to write with a
// StoreCacheEntry action. What this run stored it also keeps itself (memo_entries_), so a
// later node with the same key in the same run is a hit at once.
//
// Worked example: steps [[a], [b]], both of template `gen` with memoize {key: "k",
// cache: {configMap: {name: c}}} and an empty cache. a: lookup misses, a runs, exits 0
// with result "42": memo_finish stores {"nodeID": <a>, "outputs": {"result": "42", ...}} as
// c/k (memo_entries_ and a StoreCacheEntry). b: lookup finds c/k, b is made Succeeded
// with result "42" and memoizationStatus {hit: true, key: k, cacheName: c}; no StartStep.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <regex>

#include "engine/engine_impl.h"
#include "engine/workflow_json.h"
#include "expr/template.h"
#include "util/strings.h"

namespace skiff::engine::detail {

namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kMaxKey = 253;              // a ConfigMap key's bound
constexpr size_t kMaxCacheBytes = 1 << 20;   // a ConfigMap's data, as Kubernetes' 1 MiB
constexpr char kCacheLabel[] = "workflows.argoproj.io/configmap-type: Cache";

struct Memoize {
  std::string key, max_age, cache_name;
};

Result<Memoize> parse_memoize(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) return invalid("memoize must be an object with key, cache.configMap.name and maybe maxAge");
  Memoize m;
  if (j.contains("key") && j["key"].is_string()) m.key = j["key"].get<std::string>();
  if (j.contains("maxAge") && j["maxAge"].is_string()) m.max_age = j["maxAge"].get<std::string>();
  const Json* cm = nullptr;
  if (j.contains("cache") && j["cache"].is_object() && j["cache"].contains("configMap")) cm = &j["cache"]["configMap"];
  if (cm && cm->is_object() && cm->contains("name") && (*cm)["name"].is_string()) m.cache_name = (*cm)["name"].get<std::string>();
  if (m.key.empty()) return invalid("memoize.key is required: the name the outputs are cached under");
  if (m.cache_name.empty()) return invalid("memoize.cache.configMap.name is required: the ConfigMap that holds the cache");
  return m;
}

// Argo's rule for cache keys (a stricter form of a ConfigMap key's), bounded as one.
bool valid_key(const std::string& key) {
  static const std::regex kKey("[a-zA-Z0-9][-a-zA-Z0-9]*");
  return !key.empty() && key.size() <= kMaxKey && std::regex_match(key, kKey);
}

// A Kubernetes object name (DNS subdomain): what the runner can write the ConfigMap as.
bool valid_object_name(const std::string& name) {
  static const std::regex kName("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
  return name.size() <= kMaxKey && std::regex_match(name, kName);
}

std::string shown(const std::string& s) {
  return s.size() <= 64 ? s : s.substr(0, 64) + "... (" + std::to_string(s.size()) + " characters)";
}

// Go's time.ParseDuration as Argo applies it: a number alone is not a duration (but "0").
long long max_age_ms(const std::string& text) {
  if (text == "0") return 0;
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return -1;
  return parse_duration_ms(text);
}

NodeType node_type_of(const spec::Template& t) {
  switch (t.type) {
    case spec::TemplateType::kDag: return NodeType::kDag;
    case spec::TemplateType::kSteps: return NodeType::kSteps;
    case spec::TemplateType::kSuspend: return NodeType::kSuspend;
    case spec::TemplateType::kHttp: return NodeType::kHttp;
    default: return NodeType::kPod;
  }
}

// A node's outputs as Argo's Outputs JSON (null when it has none), and back.
Json outputs_json(const NodeOutputs& o) {
  Json out = Json::object();
  if (!o.parameters.empty()) {
    Json list = Json::array();
    for (const auto& [k, v] : o.parameters) list.push_back({{"name", k}, {"value", v}});
    out["parameters"] = list;
  }
  if (!o.artifacts.empty()) {
    Json list = Json::array();
    for (const auto& [name, text] : o.artifacts) {
      Json a = Json::parse(text, nullptr, false);
      if (!a.is_object()) continue;
      a["name"] = name;
      list.push_back(std::move(a));
    }
    out["artifacts"] = list;
  }
  if (o.result) out["result"] = *o.result;
  if (o.exit_code) out["exitCode"] = std::to_string(*o.exit_code);
  return out.empty() ? Json(nullptr) : out;
}

NodeOutputs outputs_from(const Json& j) {
  NodeOutputs o;
  if (!j.is_object()) return o;
  if (j.contains("parameters") && j["parameters"].is_array())
    for (const auto& p : j["parameters"])
      if (p.is_object() && p.contains("name") && p["name"].is_string())
        o.parameters.emplace_back(p["name"].get<std::string>(),
                                  p.contains("value") && p["value"].is_string() ? p["value"].get<std::string>() : "");
  if (j.contains("artifacts") && j["artifacts"].is_array())
    for (const auto& a : j["artifacts"])
      if (a.is_object() && a.contains("name") && a["name"].is_string()) {
        Json rest = a;
        rest.erase("name");
        o.artifacts.emplace_back(a["name"].get<std::string>(), rest.dump(-1, ' ', false, Json::error_handler_t::replace));
      }
  if (j.contains("result") && j["result"].is_string()) o.result = j["result"].get<std::string>();
  if (j.contains("exitCode")) {
    int64_t code = 0;
    if (j["exitCode"].is_string() && parse_go_int64(j["exitCode"].get<std::string>(), &code)) o.exit_code = static_cast<int>(code);
    else if (j["exitCode"].is_number_integer()) o.exit_code = j["exitCode"].get<int>();
  }
  return o;
}

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

bool OperatorImpl::memo_lookup(const Call& call) {
  // The key, maxAge and cache name as Argo's processed template has them: every {{...}}
  // resolved with the node's inputs. Inputs that cannot be bound are run_template's to report.
  expr::Scope scope(&global_);
  NameValues inputs, input_artifacts;
  if (!bind_inputs(call, scope, inputs, input_artifacts)) return false;
  scope.set("node.name", call.name);
  auto fail = [&](const std::string& message) {
    Node& n = add_node(call, node_type_of(*call.tmpl), NodePhase::kPending);
    n.inputs = std::move(inputs);
    finish(n, NodePhase::kError, message);
    return true;
  };
  auto memo = parse_memoize(call.tmpl->memoize_json);
  if (!memo) return fail(memo.status().message());
  for (std::string* field : {&memo->key, &memo->max_age, &memo->cache_name}) {
    auto resolved = expr::substitute(*field, scope);
    if (!resolved) return fail("memoize: " + resolved.status().message());
    *field = std::move(*resolved);
  }
  if (!valid_key(memo->key))
    return fail("invalid cache key: \"" + shown(memo->key) + "\": memoize.key must resolve to at most " +
                std::to_string(kMaxKey) + " letters, digits and '-', starting with a letter or digit");
  long long max_age = -1;
  if (!memo->max_age.empty() && (max_age = max_age_ms(memo->max_age)) < 0)
    return fail("invalid maxAge: \"" + shown(memo->max_age) + "\" is not a duration like 180s, 10m or 24h");
  if (!valid_object_name(memo->cache_name))
    return fail("memoize.cache.configMap.name \"" + shown(memo->cache_name) +
                "\" is not a ConfigMap name: lower-case letters, digits, '-' and '.', at most 253");

  // The entry: this run's own, else what the ConfigMap held when the run started.
  const std::string* entry = nullptr;
  auto& mine = memo_entries_[memo->cache_name];
  if (auto it = mine.find(memo->key); it != mine.end()) entry = &it->second;
  auto cm = options_.config_maps.find(memo->cache_name);
  if (!entry && cm != options_.config_maps.end()) {
    if (!options_.cache_config_maps.count(memo->cache_name))
      return fail("ConfigMap \"" + memo->cache_name + "\" is not a memoization cache: it lacks the label " + kCacheLabel +
                  ", so skiff refuses to use it, as Argo does; add the label or name another cache");
    if (auto it = cm->second.find(memo->key); it != cm->second.end() && !it->second.empty()) entry = &it->second;
  }
  MemoizationStatus status{false, memo->key, memo->cache_name};
  if (entry) {
    Json e = Json::parse(*entry, nullptr, false);
    if (!e.is_object())
      return fail("malformed cache entry \"" + memo->key + "\" in ConfigMap \"" + memo->cache_name +
                  "\": not a JSON object; delete the key to start afresh");
    bool hit = e.contains("nodeID") && e["nodeID"].is_string() && !e["nodeID"].get<std::string>().empty();
    if (hit && max_age >= 0) {
      int64_t created = e.contains("creationTimestamp") && e["creationTimestamp"].is_string()
                            ? parse_rfc3339(e["creationTimestamp"].get<std::string>())
                            : -1;
      hit = created >= 0 && now() - created <= max_age;
    }
    if (hit) {
      Node& n = add_node(call, node_type_of(*call.tmpl), NodePhase::kPending);
      status.hit = true;
      n.memoization = status;
      n.inputs = std::move(inputs);
      n.input_artifacts = std::move(input_artifacts);
      n.outputs = outputs_from(e.contains("outputs") ? e["outputs"] : Json(nullptr));
      publish_globals(*call.tmpl, n);
      // As Argo's cache load: the entry's lastHitTimestamp is now.
      e["lastHitTimestamp"] = rfc3339(now());
      std::string text = dump(e);
      mine[memo->key] = text;
      actions_.push_back(StoreCacheEntry{memo->cache_name, memo->key, std::move(text)});
      finish(n, NodePhase::kSucceeded);
      return true;
    }
  }
  memo_pending_[call.id] = std::move(status);
  return false;
}

void OperatorImpl::memo_attach(Node& node) {
  auto it = memo_pending_.find(node.id);
  if (it != memo_pending_.end() && !node.memoization) node.memoization = it->second;
}

void OperatorImpl::memo_finish(Node& node, NodePhase& phase, std::string& message) {
  auto it = memo_pending_.find(node.id);
  if (it == memo_pending_.end()) return;
  MemoizationStatus status = std::move(it->second);
  memo_pending_.erase(it);
  if (phase != NodePhase::kSucceeded) return;  // only Succeeded nodes are cached
  Json entry = {{"nodeID", node.id},
                {"outputs", outputs_json(node.outputs)},
                {"creationTimestamp", rfc3339(now())},
                {"lastHitTimestamp", rfc3339(now())}};
  std::string text = dump(entry);
  // Kubernetes keeps at most 1 MiB in a ConfigMap: count what it would hold.
  auto& mine = memo_entries_[status.cache_name];
  size_t total = status.key.size() + text.size();
  for (const auto& [k, v] : mine)
    if (k != status.key) total += k.size() + v.size();
  if (auto cm = options_.config_maps.find(status.cache_name); cm != options_.config_maps.end())
    for (const auto& [k, v] : cm->second)
      if (k != status.key && !mine.count(k)) total += k.size() + v.size();
  if (total > kMaxCacheBytes) {
    phase = NodePhase::kError;
    message = "error creating cache entry: ConfigMap \"" + status.cache_name + "\" would hold " + std::to_string(total) +
              " bytes, more than Kubernetes' 1 MiB; use another cache name or smaller outputs";
    return;
  }
  mine[status.key] = text;
  actions_.push_back(StoreCacheEntry{status.cache_name, status.key, std::move(text)});
}

}  // namespace skiff::engine::detail
