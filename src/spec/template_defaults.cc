#include "spec/template_defaults.h"

#include <nlohmann/json.hpp>

#include "util/json_text.h"

namespace skiff::spec {

namespace {

using Json = nlohmann::json;

// Objects merge key by key, `own` winning; anything else in `own` replaces.
void merge_json(Json& base, const Json& own) {
  if (!base.is_object() || !own.is_object()) {
    base = own;
    return;
  }
  for (auto it = own.begin(); it != own.end(); ++it) {
    if (base.contains(it.key())) merge_json(base[it.key()], *it);
    else base[it.key()] = *it;
  }
}

// JSON text of `defaults` with `own` merged over it ("" stays "" when both are).
std::string merged_json(const std::string& defaults, const std::string& own) {
  if (defaults.empty()) return own;
  if (own.empty()) return defaults;
  Json base = parse_json_or_discarded<Json>(defaults);
  Json mine = parse_json_or_discarded<Json>(own);
  if (base.is_discarded() || mine.is_discarded()) return own;
  merge_json(base, mine);
  return base.dump(-1, ' ', false, Json::error_handler_t::replace);
}

template <typename T>
void fill(T& own, const T& defaults) {
  if (own.empty()) own = defaults;
}

// A list merged by key, as strategic merge merges it: the defaults' entries with the same
// key are replaced by the template's; the defaults' others stay, first.
template <typename T, typename Key>
void merge_by(std::vector<T>& own, const std::vector<T>& defaults, Key key) {
  std::vector<T> out;
  for (const auto& d : defaults) {
    bool overridden = false;
    for (const auto& o : own) overridden |= key(o) == key(d);
    if (!overridden) out.push_back(d);
  }
  for (auto& o : own) out.push_back(std::move(o));
  own = std::move(out);
}

void merge_container(Container& c, const Container& d) {
  fill(c.image, d.image);
  fill(c.command, d.command);
  fill(c.args, d.args);
  merge_by(c.env, d.env, [](const EnvVar& e) { return e.name; });
  fill(c.env_from_json, d.env_from_json);
  fill(c.working_dir, d.working_dir);
  merge_by(c.volume_mounts, d.volume_mounts, [](const VolumeMount& m) { return m.mount_path; });
  fill(c.image_pull_policy, d.image_pull_policy);
  c.resources_json = merged_json(d.resources_json, c.resources_json);
  c.security_context_json = merged_json(d.security_context_json, c.security_context_json);
  fill(c.readiness_probe_json, d.readiness_probe_json);
  fill(c.ports_json, d.ports_json);
  fill(c.source, d.source);
  fill(c.termination_message_path, d.termination_message_path);
  fill(c.termination_message_policy, d.termination_message_policy);
}

}  // namespace

void apply_template_defaults(Template& t, const TemplateDefaults& defaults) {
  const Template& d = defaults.fields;
  fill(t.inputs.parameters, d.inputs.parameters);
  fill(t.inputs.artifacts, d.inputs.artifacts);
  fill(t.outputs.parameters, d.outputs.parameters);
  fill(t.outputs.artifacts, d.outputs.artifacts);
  for (const auto& [k, v] : d.metadata.labels) t.metadata.labels.emplace(k, v);
  for (const auto& [k, v] : d.metadata.annotations) t.metadata.annotations.emplace(k, v);
  // The defaults' container is for container templates, its script for script templates.
  if (defaults.container && t.container && t.type == TemplateType::kContainer)
    merge_container(*t.container, *defaults.container);
  if (defaults.script && t.container && t.type == TemplateType::kScript) merge_container(*t.container, *defaults.script);
  if (d.resource && t.resource && t.type == TemplateType::kResource) {
    fill(t.resource->action, d.resource->action);
    fill(t.resource->success_condition, d.resource->success_condition);
    fill(t.resource->failure_condition, d.resource->failure_condition);
    fill(t.resource->merge_strategy, d.resource->merge_strategy);
    fill(t.resource->flags, d.resource->flags);
  }
  fill(t.sidecars, d.sidecars);
  fill(t.init_containers, d.init_containers);
  merge_by(t.volumes, d.volumes, [](const Volume& v) { return v.name; });
  t.pod.security_context_json = merged_json(d.pod.security_context_json, t.pod.security_context_json);
  t.pod.json = merged_json(d.pod.json, t.pod.json);
  for (const auto& [k, v] : d.pod.written) t.pod.written.emplace(k, v);
  for (const auto& [k, v] : d.not_acted_on) t.not_acted_on.emplace(k, v);
  if (d.retry_strategy) {
    if (!t.retry_strategy) {
      t.retry_strategy = d.retry_strategy;
    } else {
      RetryStrategy& r = *t.retry_strategy;
      fill(r.limit, d.retry_strategy->limit);
      fill(r.retry_policy, d.retry_strategy->retry_policy);
      fill(r.expression, d.retry_strategy->expression);
      if (!r.backoff) r.backoff = d.retry_strategy->backoff;
    }
  }
  fill(t.active_deadline_seconds, d.active_deadline_seconds);
  fill(t.timeout, d.timeout);
  if (!t.parallelism) t.parallelism = d.parallelism;
  if (!t.fail_fast) t.fail_fast = d.fail_fast;
  t.daemon = t.daemon || d.daemon;
  fill(t.metrics_json, d.metrics_json);
  fill(t.memoize_json, d.memoize_json);
  fill(t.synchronization_json, d.synchronization_json);
}

}  // namespace skiff::spec
