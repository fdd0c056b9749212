// The template a Pod node's step runs: pod-level defaults applied, every {{...}} resolved.
//
// Argo substitutes over the whole template's JSON; skiff's template is typed, so this file
// walks it: the containers' own strings (main, sidecars, init containers) strictly, as
// command and args always were — an unknown reference ends the node in Error — and every
// JSON-valued field (resources, securityContext, env valueFrom, envFrom, volume sources,
// the pod-level fields) leniently, leaving unknown references as written as Argo does, so
// that text meant for another tool (`{{ .Values.x }}` in an annotation) passes through.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "engine/engine_impl.h"
#include "expr/template.h"
#include "spec/pod.h"
#include "util/json_text.h"

namespace skiff::engine::detail {

namespace {

using Json = nlohmann::json;

class Resolver {
 public:
  explicit Resolver(const expr::Scope& scope) : scope_(scope) {}

  void text(std::string& s) {
    if (!status_ || s.find("{{") == std::string::npos) return;
    auto r = expr::substitute(s, scope_);
    if (r) s = std::move(*r);
    else status_ = r.status();
  }

  // Keys and string values of a JSON text, unknown references left as written.
  void json(std::string& s) {
    if (!status_ || s.find("{{") == std::string::npos) return;
    Json j = parse_json_or_discarded<Json>(s);
    if (j.is_discarded()) return;
    if (Status st = walk(j); !st) {
      status_ = st;
      return;
    }
    s = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  }

  void container(spec::Container& c) {
    text(c.name);
    text(c.image);
    for (auto& a : c.command) text(a);
    for (auto& a : c.args) text(a);
    for (auto& e : c.env) {
      text(e.name);
      if (e.value) text(*e.value);
      json(e.value_from_json);
    }
    json(c.env_from_json);
    text(c.working_dir);
    for (auto& m : c.volume_mounts) {
      text(m.name);
      text(m.mount_path);
      text(m.sub_path);
    }
    text(c.image_pull_policy);
    text(c.termination_message_path);
    text(c.termination_message_policy);
    json(c.resources_json);
    json(c.security_context_json);
    json(c.readiness_probe_json);
    json(c.ports_json);
    text(c.source);
  }

  void volumes(std::vector<spec::Volume>& volumes) {
    for (auto& v : volumes) {
      json(v.source_json);
      lenient(v.name);  // as its copy inside source_json
    }
  }

  void labels(std::map<std::string, std::string>& m) {
    auto plain = [](const auto& kv) {
      return kv.first.find("{{") == std::string::npos && kv.second.find("{{") == std::string::npos;
    };
    if (std::all_of(m.begin(), m.end(), plain)) return;
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : m) {
      std::string k = key, v = value;
      lenient(k);
      lenient(v);
      out[k] = v;
    }
    m = std::move(out);
  }

  const Status& status() const { return status_; }

 private:
  void lenient(std::string& s) {
    if (!status_ || s.find("{{") == std::string::npos) return;
    auto r = expr::substitute(s, scope_, {.allow_unresolved = true});
    if (r) s = std::move(*r);
    else status_ = r.status();
  }

  Status walk(Json& j) {
    if (j.is_string()) {
      std::string s = j.get<std::string>();
      lenient(s);
      j = s;
    } else if (j.is_array()) {
      for (auto& e : j)
        if (Status st = walk(e); !st) return st;
    } else if (j.is_object()) {
      Json out = Json::object();
      for (auto it = j.begin(); it != j.end(); ++it) {
        std::string key = it.key();
        lenient(key);
        out[key] = std::move(it.value());
        if (Status st = walk(out[key]); !st) return st;
      }
      j = std::move(out);
    }
    return status_;
  }

  const expr::Scope& scope_;
  Status status_;
};

}  // namespace

Result<spec::Template> resolve_pod_template(const spec::Template& tmpl, const spec::WorkflowSpec& workflow,
                                            const expr::Scope& scope) {
  spec::Template t = tmpl;
  spec::apply_pod_defaults(t, workflow);
  Resolver r(scope);
  if (t.container) r.container(*t.container);
  if (t.resource) {
    for (auto* s : {&t.resource->action, &t.resource->manifest, &t.resource->success_condition,
                    &t.resource->failure_condition, &t.resource->merge_strategy})
      r.text(*s);
    for (auto& f : t.resource->flags) r.text(f);
  }
  if (t.type == spec::TemplateType::kHttp || t.type == spec::TemplateType::kData) r.json(t.other_type_json);
  if (t.container_set) {
    for (auto& c : t.container_set->containers) r.container(c);
    for (auto& m : t.container_set->volume_mounts) {
      r.text(m.name);
      r.text(m.mount_path);
      r.text(m.sub_path);
    }
    r.text(t.container_set->retries);
    r.text(t.container_set->duration);
  }
  for (auto& c : t.sidecars) r.container(c);
  for (auto& c : t.init_containers) r.container(c);
  r.volumes(t.volumes);
  for (auto& p : t.outputs.parameters)
    if (p.value_from) {
      r.text(p.value_from->path);
      r.text(p.value_from->json_path);
      r.text(p.value_from->jq_filter);
    }
  for (auto& a : t.outputs.artifacts) {
    r.text(a.path);
    r.json(a.source_json);
  }
  // Input artifacts as bind_inputs resolved them (location, path, mode); those not given
  // (optional) are left out.
  std::vector<spec::Artifact> inputs;
  for (auto& a : t.inputs.artifacts) {
    const expr::ScopeValue* v = scope.find("inputs.artifacts." + a.name);
    if (!v) continue;
    a.source_json = v->text;
    inputs.push_back(std::move(a));
  }
  t.inputs.artifacts = std::move(inputs);
  r.json(t.pod.json);
  r.json(t.pod.security_context_json);
  r.labels(t.metadata.labels);
  r.labels(t.metadata.annotations);
  if (!r.status()) return r.status();
  return t;
}

Status resolve_volumes(std::vector<spec::Volume>& volumes, const expr::Scope& scope) {
  Resolver r(scope);
  r.volumes(volumes);
  return r.status();
}

}  // namespace skiff::engine::detail
