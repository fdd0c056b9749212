// `argo lint`-like checks over decoded objects. Each check appends a Diagnostic that says
// where (file:line:col and JSON path), what, and how to fix.
#include "spec/validate.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "expr/depends.h"
#include "expr/template.h"
#include "spec/synchronization.h"
#include "util/strings.h"

namespace skiff::spec {

namespace {

constexpr size_t kMaxNameLength = 128;

bool valid_field_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  return true;
}

// Prometheus: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*.
bool valid_prometheus_name(const std::string& name, bool colons) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && !(colons && c == ':')) return false;
  return true;
}

bool is_number_text(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return *end == 0;
}

bool is_int_text(const std::string& s) {
  if (s.empty()) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

// What a reference inside a template may name.
struct RefScope {
  const Template* tmpl = nullptr;             // inputs.parameters.X must be declared here
  const std::set<std::string>* tasks = nullptr;  // tasks.X (DAG) — nullptr outside a DAG
  const std::set<std::string>* steps = nullptr;  // steps.X (steps) — nullptr outside steps
  const std::set<std::string>* workflow_params = nullptr;  // nullptr: unknown, don't check
};

class Validator {
 public:
  Validator(const Object& obj, const Library& lib, Diagnostics& out, const std::vector<std::string>& supplied)
      : obj_(obj), lib_(lib), out_(out), supplied_(supplied.begin(), supplied.end()) {}

  void run() {
    const WorkflowSpec& spec = obj_.spec;
    bool is_workflow = obj_.kind == Kind::kWorkflow || obj_.kind == Kind::kCronWorkflow;
    const WorkflowSpec* effective = &spec;
    if (spec.workflow_template_ref) {
      const Object* ref = lib_.find(spec.workflow_template_ref->name, spec.workflow_template_ref->cluster_scope);
      if (!ref) {
        report(obj_.pos, "spec.workflowTemplateRef.name",
               "WorkflowTemplate \"" + spec.workflow_template_ref->name +
                   "\" not found; give its file to skiff too (skiff run wf.yaml templates.yaml), or create it on the server first");
        return;
      }
      effective = &ref->spec;
    } else if (is_workflow && spec.templates.empty()) {
      report(obj_.pos, "spec.templates", "a Workflow needs templates or a workflowTemplateRef");
      return;
    }
    // Workflow parameters: the object's own plus, with a workflowTemplateRef, the template's.
    for (const auto& p : spec.arguments.parameters) wf_params_.insert(p.name);
    for (const auto& p : effective->arguments.parameters) wf_params_.insert(p.name);
    for (const auto& s : supplied_) wf_params_.insert(s);
    check_arguments(spec.arguments, "spec.arguments", is_workflow && !spec.workflow_template_ref);

    std::string entry = spec.entrypoint.empty() ? effective->entrypoint : spec.entrypoint;
    if (is_workflow) {
      if (entry.empty()) report(obj_.pos, "spec.entrypoint", "no entrypoint: set spec.entrypoint to a template name");
      else if (!find_template(*effective, entry))
        report(obj_.pos, "spec.entrypoint", "entrypoint template \"" + entry + "\" not found" + hint(entry, *effective));
    }
    for (const auto* hook : {&spec.on_exit}) {
      if (!hook->empty() && !find_template(*effective, *hook))
        report(obj_.pos, "spec.onExit", "onExit template \"" + *hook + "\" not found" + hint(*hook, *effective));
    }
    {
      RefScope scope;
      if (obj_.kind == Kind::kWorkflow && !spec.workflow_template_ref) scope.workflow_params = &wf_params_;
      check_hooks(spec.hooks, "spec.hooks", *effective, scope);
    }
    if (!spec.metrics_json.empty()) {
      RefScope scope;
      if (obj_.kind == Kind::kWorkflow && !spec.workflow_template_ref) scope.workflow_params = &wf_params_;
      check_metrics(spec.metrics_json, obj_.pos, "spec.metrics", scope);
    }
    check_synchronization(spec.synchronization_json, obj_.pos, "spec");
    std::map<std::string, size_t> seen;
    for (size_t i = 0; i < spec.templates.size(); ++i) {
      const Template& t = spec.templates[i];
      std::string p = "spec.templates[" + std::to_string(i) + "]";
      if (!seen.emplace(t.name, i).second)
        report(t.pos, p + ".name", "duplicate template name \"" + t.name + "\"; template names must be unique");
      check_template(t, p, spec);
    }
  }

 private:
  void report(const SourcePos& pos, const std::string& path, const std::string& message) {
    SourcePos p = pos;
    if (p.file.empty()) p.file = obj_.pos.file;
    out_.push_back(Diagnostic{p, path, message});
  }

  static std::string hint(const std::string& name, const WorkflowSpec& spec) {
    std::vector<std::string> names;
    for (const auto& t : spec.templates) names.push_back(t.name);
    std::string n = nearest(name, names);
    return n.empty() ? "" : "; did you mean \"" + n + "\"?";
  }

  void check_arguments(const Arguments& args, const std::string& path, bool require_values) {
    for (size_t i = 0; i < args.parameters.size(); ++i) {
      const Parameter& p = args.parameters[i];
      std::string pp = path + ".parameters[" + std::to_string(i) + "]";
      if (require_values && !p.value && !p.value_from && !supplied_.count(p.name))
        report(p.pos, pp + ".value", "workflow parameter \"" + p.name + "\" has no value; set value or pass -p " + p.name + "=...");
      if (p.value && !p.enum_values.empty() && p.value->find("{{") == std::string::npos) {
        bool ok = false;
        for (const auto& e : p.enum_values) ok |= e == *p.value;
        if (!ok)
          report(p.pos, pp + ".value", "value \"" + *p.value + "\" is not one of the enum values [" + join(p.enum_values, ", ") + "]");
      }
    }
  }

  void check_template(const Template& t, const std::string& p, const WorkflowSpec& spec) {
    if (!valid_field_name(t.name))
      report(t.pos, p + ".name", "template name \"" + t.name + "\" must be 1-128 letters, digits and '-', starting with a letter or digit");
    if (t.type_count == 0)
      report(t.pos, p, "template \"" + t.name + "\" has no type; give it one of container, script, dag, steps, suspend or resource");
    else if (t.type_count > 1)
      report(t.pos, p, "template \"" + t.name + "\" has more than one type; keep exactly one of container, script, dag, steps, suspend, resource");
    if (!t.active_deadline_seconds.empty() && is_int_text(t.active_deadline_seconds) && t.active_deadline_seconds[0] == '-')
      report(t.pos, p + ".activeDeadlineSeconds", "must not be negative");
    if (!t.timeout.empty()) {
      // As Argo's lint: only steps that run something have one; a bare number has no unit.
      if (t.type == TemplateType::kDag || t.type == TemplateType::kSteps || t.type == TemplateType::kSuspend)
        report(t.pos, p + ".timeout", std::string(template_type_name(t.type)) +
                                          " templates do not support timeout; set it on the templates they call");
      else if (t.timeout.find("{{") == std::string::npos && (is_int_text(t.timeout) || parse_duration_ms(t.timeout) < 0))
        report(t.pos, p + ".timeout", "\"" + t.timeout + "\" is not a duration; write it with its unit, e.g. 30s or 5m");
    }

    RefScope scope;
    scope.tmpl = &t;
    if (obj_.kind == Kind::kWorkflow && !obj_.spec.workflow_template_ref) scope.workflow_params = &wf_params_;
    if (t.retry_strategy) check_retry(*t.retry_strategy, p + ".retryStrategy", scope);
    if (t.container) check_container(*t.container, p + (t.type == TemplateType::kScript ? ".script" : ".container"), scope);
    if (t.resource) check_resource(*t.resource, p + ".resource", scope);
    if (t.type_count == 1 && !t.other_type_json.empty()) check_other_type(t, p, scope);
    check_artifacts(t, p);
    auto at = [&p](const char* field, size_t i) { return p + "." + field + "[" + std::to_string(i) + "]"; };
    for (size_t i = 0; i < t.sidecars.size(); ++i) check_container(t.sidecars[i], at("sidecars", i), scope);
    for (size_t i = 0; i < t.init_containers.size(); ++i) check_container(t.init_containers[i], at("initContainers", i), scope);
    for (size_t i = 0; i < t.volumes.size(); ++i) check_refs(t.volumes[i].source_json, scope, t.volumes[i].pos, at("volumes", i));
    // The pod-level fields: references are resolved in them as in the containers.
    for (const auto* json : {&t.pod.json, &t.pod.security_context_json}) check_refs(*json, scope, t.pos, p);
    for (const auto* m : {&t.metadata.labels, &t.metadata.annotations})
      for (const auto& [k, v] : *m) {
        check_refs(k, scope, t.pos, p + ".metadata");
        check_refs(v, scope, t.pos, p + ".metadata");
      }
    if (!t.metrics_json.empty()) check_metrics(t.metrics_json, t.pos, p + ".metrics", scope);
    check_synchronization(t.synchronization_json, t.pos, p);
    if (t.dag) check_dag(t, *t.dag, p + ".dag", spec, scope);
    if (!t.steps.empty()) check_steps(t, p + ".steps", spec, scope);
  }

  // Artifacts: what Argo requires of them, and the locations skiff cannot reach yet.
  void check_artifact_list(const std::vector<Artifact>& list, const std::string& lp, bool needs_path) {
    for (size_t i = 0; i < list.size(); ++i) {
      const Artifact& a = list[i];
      std::string ap = lp + "[" + std::to_string(i) + "]";
      if (a.name.empty()) report(a.pos, ap + ".name", "an artifact needs a name");
      static const std::set<std::string> kSupported = {"", "s3", "raw", "http", "git"};
      if (!kSupported.count(a.location_kind))
        report(a.pos, ap + "." + a.location_kind,
               a.location_kind + " artifacts are not supported by skiff yet; skiff reads and writes s3 (any S3-compatible "
               "server, or its local repository with key-only s3), raw, http and git artifacts");
      if (needs_path && a.path.empty())
        report(a.pos, ap + ".path", "artifact \"" + a.name + "\" of a container or script template needs a path");
      static const std::set<std::string> kGc = {"", "OnWorkflowCompletion", "OnWorkflowDeletion", "Never"};
      if (!kGc.count(a.artifact_gc))
        report(a.pos, ap + ".artifactGC.strategy",
               "artifactGC.strategy \"" + a.artifact_gc + "\" is not one of OnWorkflowCompletion, OnWorkflowDeletion, Never");
    }
  }

  void check_artifacts(const Template& t, const std::string& p) {
    bool pod = t.type == TemplateType::kContainer || t.type == TemplateType::kScript || t.type == TemplateType::kContainerSet;
    check_artifact_list(t.inputs.artifacts, p + ".inputs.artifacts", pod);
    check_artifact_list(t.outputs.artifacts, p + ".outputs.artifacts", pod);
    for (size_t i = 0; i < t.outputs.artifacts.size(); ++i) {
      const Artifact& a = t.outputs.artifacts[i];
      if (pod && !a.location_kind.empty() && a.location_kind != "s3")
        report(a.pos, p + ".outputs.artifacts[" + std::to_string(i) + "]." + a.location_kind,
               "output artifacts are stored in s3 (an S3 server, or the local repository with key-only s3); " +
                   a.location_kind + " is for input artifacts");
      if (!pod && a.from.empty() && a.from_expression.empty() && a.location_kind.empty())
        report(a.pos, p + ".outputs.artifacts[" + std::to_string(i) + "].from",
               "an output artifact of a " + std::string(template_type_name(t.type)) +
                   " template needs from (e.g. \"{{tasks.X.outputs.artifacts.Y}}\")");
    }
  }

  // A resource template as `argo lint` checks it, and what skiff cannot do yet.
  void check_resource(const Resource& r, const std::string& rp, const RefScope& scope) {
    static const std::vector<std::string> kActions = {"get", "create", "apply", "delete", "replace", "patch"};
    static const std::vector<std::string> kStrategies = {"strategic", "merge", "json"};
    if (r.action.empty()) {
      report(r.pos, rp + ".action", "resource.action is required: one of get, create, apply, delete, replace, patch");
    } else if (std::find(kActions.begin(), kActions.end(), r.action) == kActions.end() && r.action.find("{{") == std::string::npos) {
      std::string n = nearest(r.action, kActions);
      report(r.pos, rp + ".action", "resource.action \"" + r.action + "\" is not one of get, create, apply, delete, replace, patch" +
                                        (n.empty() ? "" : "; did you mean \"" + n + "\"?"));
    }
    if (!r.merge_strategy.empty() &&
        std::find(kStrategies.begin(), kStrategies.end(), r.merge_strategy) == kStrategies.end())
      report(r.pos, rp + ".mergeStrategy", "mergeStrategy \"" + r.merge_strategy + "\" is not one of strategic, merge, json");
    if (!r.manifest.empty() && !r.manifest_from_artifact.empty())
      report(r.pos, rp, "resource has both manifest and manifestFrom; keep one");
    if (!r.manifest_from_artifact.empty())
      report(r.pos, rp + ".manifestFrom",
             "manifestFrom (a manifest from an artifact) is not supported by skiff yet; "
             "write the manifest inline in resource.manifest");
    else if (r.manifest.empty() && r.flags.empty())
      report(r.pos, rp + ".manifest", "resource needs a manifest (or flags naming the object, e.g. [configmap, my-config])");
    for (const auto* s : {&r.manifest, &r.action, &r.success_condition, &r.failure_condition, &r.merge_strategy})
      check_refs(*s, scope, r.pos, rp);
    for (const auto& f : r.flags) check_refs(f, scope, r.pos, rp + ".flags");
  }

  // The template kinds kept as JSON (spec/types.h other_type_json): http as Argo's
  // HTTP template has it; the kinds skiff does not run yet refused, naming the field.
  void check_other_type(const Template& t, const std::string& p, const RefScope& scope) {
    const char* kind = template_type_name(t.type);
    std::string hp = p + "." + kind;
    if (t.type == TemplateType::kData) {
      check_data(t, hp, scope);
      return;
    }
    if (t.type == TemplateType::kContainerSet) {
      if (t.container_set) check_container_set(*t.container_set, hp, scope);
      return;
    }
    if (t.type != TemplateType::kHttp) return;  // plugin: refused with the other unsupported fields (spec/pod.h)
    nlohmann::json h = nlohmann::json::parse(t.other_type_json, nullptr, false);
    if (!h.is_object()) {
      report(t.pos, hp, "http must be an object with at least a url");
      return;
    }
    check_keys(h, t.pos, hp, {"method", "url", "headers", "body", "bodyFrom", "timeoutSeconds", "successCondition",
                              "insecureSkipVerify"});
    if (!h.contains("url") || !h["url"].is_string() || h["url"].get<std::string>().empty())
      report(t.pos, hp + ".url", "http.url is required (http:// or https://)");
    if (h.contains("headers")) {
      if (!h["headers"].is_array()) report(t.pos, hp + ".headers", "http.headers must be a list of {name, value}");
      else
        for (size_t i = 0; i < h["headers"].size(); ++i) {
          const auto& e = h["headers"][i];
          std::string ep = hp + ".headers[" + std::to_string(i) + "]";
          if (!e.is_object() || !e.contains("name")) {
            report(t.pos, ep + ".name", "each header needs a name");
            continue;
          }
          check_keys(e, t.pos, ep, {"name", "value", "valueFrom"});
          if (e.contains("valueFrom")) {
            const auto& vf = e["valueFrom"];
            if (vf.is_object()) check_keys(vf, t.pos, ep + ".valueFrom", {"secretKeyRef"});
            if (!vf.is_object() || !vf.contains("secretKeyRef") || !vf["secretKeyRef"].is_object() ||
                !vf["secretKeyRef"].contains("name") || !vf["secretKeyRef"].contains("key"))
              report(t.pos, ep + ".valueFrom", "a header's valueFrom needs secretKeyRef {name, key}");
          }
        }
    }
    if (h.contains("bodyFrom")) {
      if (h["bodyFrom"].is_object()) check_keys(h["bodyFrom"], t.pos, hp + ".bodyFrom", {"bytes"});
      if (h.contains("body")) report(t.pos, hp + ".bodyFrom", "http has both body and bodyFrom; keep one");
    }
    if (h.contains("timeoutSeconds") && !h["timeoutSeconds"].is_number_integer() && !h["timeoutSeconds"].is_string())
      report(t.pos, hp + ".timeoutSeconds", "http.timeoutSeconds must be a whole number of seconds");
    check_refs(t.other_type_json, scope, t.pos, hp);
  }

  // A containerSet as Argo validates it (names, dependencies defined, no cycle), and what
  // skiff's way of running one needs: no container depends on `main` (docs/templates.md).
  void check_container_set(const ContainerSet& set, const std::string& cp, const RefScope& scope) {
    if (set.containers.empty()) report(set.pos, cp + ".containers", "containers must have at least one container");
    std::map<std::string, const Container*> by_name;
    for (size_t i = 0; i < set.containers.size(); ++i) {
      const Container& c = set.containers[i];
      std::string p = cp + ".containers[" + std::to_string(i) + "]";
      if (!valid_field_name(c.name))
        report(c.pos, p + ".name", "container name \"" + c.name + "\" must be 1-128 letters, digits and '-'");
      else if (!by_name.emplace(c.name, &c).second)
        report(c.pos, p + ".name", "container name \"" + c.name + "\" is used twice");
      check_container(c, p, scope);
    }
    for (size_t i = 0; i < set.containers.size(); ++i) {
      const Container& c = set.containers[i];
      for (const auto& d : c.dependencies) {
        std::string p = cp + ".containers[" + std::to_string(i) + "].dependencies";
        if (!by_name.count(d)) report(c.pos, p, "containers." + c.name + " dependency '" + d + "' not defined");
        else if (d == "main")
          report(c.pos, p, "containers." + c.name + " depends on main: skiff runs main after the other containers, "
                           "so none may wait for it; make main depend on it instead");
      }
    }
    // A cycle: repeatedly take away the containers whose dependencies are all taken.
    std::set<std::string> done;
    for (bool progress = true; progress;) {
      progress = false;
      for (const auto& c : set.containers) {
        if (done.count(c.name)) continue;
        bool ready = true;
        for (const auto& d : c.dependencies) ready &= done.count(d) > 0 || !by_name.count(d);
        if (ready) progress = done.insert(c.name).second;
      }
    }
    if (done.size() < by_name.size()) report(set.pos, cp + ".containers", "containers' dependencies form a cycle");
    for (const auto& m : set.volume_mounts)
      for (const auto* v : {&m.mount_path, &m.sub_path}) check_refs(*v, scope, set.pos, cp + ".volumeMounts");
    for (const auto* v : {&set.retries, &set.duration}) check_refs(*v, scope, set.pos, cp + ".retryStrategy");
    if (!set.retries.empty() && set.retries.find("{{") == std::string::npos && !is_int_text(set.retries))
      report(set.pos, cp + ".retryStrategy.retries", "retries must be a whole number");
  }

  // A data template as Argo has it: source.artifactPaths (an s3 location) and expression steps.
  void check_data(const Template& t, const std::string& dp, const RefScope& scope) {
    nlohmann::json d = nlohmann::json::parse(t.other_type_json, nullptr, false);
    if (!d.is_object()) {
      report(t.pos, dp, "data must be an object with source and transformation");
      return;
    }
    check_keys(d, t.pos, dp, {"source", "transformation"});
    const auto& source = d.contains("source") ? d["source"] : nlohmann::json();
    if (!source.is_object() || !source.contains("artifactPaths") || !source["artifactPaths"].is_object()) {
      report(t.pos, dp + ".source.artifactPaths", "a data template needs source.artifactPaths (an artifact location)");
    } else {
      check_keys(source, t.pos, dp + ".source", {"artifactPaths"});
      const auto& paths = source["artifactPaths"];
      for (const auto& [key, unused] : paths.items())
        if (key != "name" && key != "s3")
          report(t.pos, dp + ".source.artifactPaths." + key,
                 key == "git" || key == "http" || key == "gcs" || key == "oss" || key == "azure" || key == "hdfs" ||
                         key == "artifactory"
                     ? key + " locations cannot be listed by skiff; data templates list s3 locations"
                     : "unknown field \"" + key + "\" (artifactPaths takes name and s3)");
      if (!paths.contains("s3")) report(t.pos, dp + ".source.artifactPaths.s3", "artifactPaths needs an s3 location (a key at least)");
    }
    if (d.contains("transformation")) {
      const auto& steps = d["transformation"];
      if (!steps.is_array()) report(t.pos, dp + ".transformation", "transformation must be a list of {expression}");
      else
        for (size_t i = 0; i < steps.size(); ++i) {
          std::string sp = dp + ".transformation[" + std::to_string(i) + "]";
          if (!steps[i].is_object() || !steps[i].contains("expression") || !steps[i]["expression"].is_string())
            report(t.pos, sp + ".expression", "each transformation step needs an expression");
          else
            check_keys(steps[i], t.pos, sp, {"expression"});
        }
    }
    check_refs(t.other_type_json, scope, t.pos, dp);
  }

  // Every `{{...}}` a container's fields hold, JSON-valued ones included.
  void check_container(const Container& c, const std::string& cp, const RefScope& scope) {
    for (const auto* s : {&c.image, &c.working_dir, &c.source, &c.env_from_json, &c.resources_json,
                          &c.security_context_json, &c.readiness_probe_json, &c.ports_json, &c.termination_message_path, &c.termination_message_policy})
      check_refs(*s, scope, c.pos, cp);
    for (const auto& s : c.command) check_refs(s, scope, c.pos, cp + ".command");
    for (const auto& s : c.args) check_refs(s, scope, c.pos, cp + ".args");
    for (const auto& e : c.env) {
      if (e.value) check_refs(*e.value, scope, c.pos, cp + ".env");
      check_refs(e.value_from_json, scope, c.pos, cp + ".env");
    }
    for (const auto& m : c.volume_mounts)
      for (const auto* s : {&m.name, &m.mount_path, &m.sub_path}) check_refs(*s, scope, c.pos, cp + ".volumeMounts");
  }

  // Unknown keys of a JSON object kept as text by the decoder (which has no positions for it).
  void check_keys(const nlohmann::json& obj, const SourcePos& pos, const std::string& path,
                  const std::vector<std::string>& known) {
    for (const auto& [key, unused] : obj.items()) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string n = nearest(key, known);
      report(pos, path + "." + key, "unknown field \"" + key + "\"" + (n.empty() ? "" : "; did you mean \"" + n + "\"?"));
    }
  }

  // `synchronization` (spec/synchronization.h): its locks, well formed; the message names the field.
  void check_synchronization(const std::string& json, const SourcePos& pos, const std::string& path) {
    if (json.empty()) return;
    auto locks = parse_synchronization(json, "default");
    if (!locks) report(pos, path, locks.status().message());
  }

  // `metrics: {prometheus: [...]}` as `argo lint` checks it: a valid name, help, valid and
  // non-empty labels, exactly one of gauge/counter/histogram with a value, histogram buckets.
  void check_metrics(const std::string& json, const SourcePos& pos, const std::string& path, const RefScope& scope) {
    using Json = nlohmann::json;
    Json m = Json::parse(json, nullptr, false);
    if (!m.is_object()) return report(pos, path, "must be a map with a prometheus list");
    check_keys(m, pos, path, {"prometheus"});
    if (!m.contains("prometheus") || !m["prometheus"].is_array())
      return report(pos, path + ".prometheus", "metrics needs a prometheus list: prometheus: [{name: ..., help: ..., counter: {value: \"1\"}}]");
    const Json& list = m["prometheus"];
    for (size_t i = 0; i < list.size(); ++i) {
      const Json& e = list[i];
      std::string ep = path + ".prometheus[" + std::to_string(i) + "]";
      if (!e.is_object()) {
        report(pos, ep, "must be a map with name, help and one of gauge, counter or histogram");
        continue;
      }
      check_keys(e, pos, ep, {"name", "help", "labels", "when", "gauge", "counter", "histogram"});
      auto text = [](const Json& v) { return v.is_string() ? v.get<std::string>() : v.is_primitive() && !v.is_null() ? v.dump() : ""; };
      std::string name = e.contains("name") ? text(e["name"]) : "";
      if (name.empty()) report(pos, ep + ".name", "a metric needs a name");
      else if (!valid_prometheus_name(name, true))
        report(pos, ep + ".name", "metric name \"" + name + "\" is invalid; use letters, digits, '_' and ':', not starting with a digit");
      std::string what = name.empty() ? "the metric" : "metric \"" + name + "\"";
      if (!e.contains("help") || text(e["help"]).empty())
        report(pos, ep + ".help", what + " needs a help string: help: \"what it measures\"");
      if (e.contains("when") && e["when"].is_string()) check_refs(e["when"].get<std::string>(), scope, pos, ep + ".when");

      std::vector<std::string> types;
      for (const char* t : {"gauge", "counter", "histogram"})
        if (e.contains(t) && !e[t].is_null()) types.push_back(t);
      if (types.empty()) report(pos, ep, what + " has no type; give it one of gauge, counter or histogram");
      else if (types.size() > 1)
        report(pos, ep, what + " has more than one type (" + join(types, ", ") + "); keep exactly one");
      for (const auto& t : types) {
        const Json& b = e[t];
        std::string tp = ep + "." + t;
        if (!b.is_object()) {
          report(pos, tp, "must be a map with a value");
          continue;
        }
        if (t == "gauge") check_keys(b, pos, tp, {"value", "realtime", "operation"});
        else if (t == "counter") check_keys(b, pos, tp, {"value"});
        else check_keys(b, pos, tp, {"value", "buckets"});
        std::string value = b.contains("value") ? text(b["value"]) : "";
        if (value.empty()) report(pos, tp + ".value", what + " needs " + t + ".value: a number or a {{...}} reference");
        else check_refs(value, scope, pos, tp + ".value");
        if (t == "gauge" && b.contains("operation")) {
          std::string op = text(b["operation"]);
          if (op != "Set" && op != "Add" && op != "Sub")
            report(pos, tp + ".operation", "gauge operation \"" + op + "\" must be Set, Add or Sub");
        }
        if (t != "histogram") continue;
        if (!b.contains("buckets") || !b["buckets"].is_array() || b["buckets"].empty()) {
          report(pos, tp + ".buckets", "histogram " + what + " needs buckets: a list of upper bounds like [0.5, 1, 5]");
          continue;
        }
        for (const auto& bound : b["buckets"]) {
          std::string v = text(bound);
          if (!is_number_text(v)) {
            report(pos, tp + ".buckets", "bucket \"" + (bound.is_string() ? v : bound.dump()) + "\" of " + what + " is not a number");
            break;
          }
        }
      }

      if (!e.contains("labels") || e["labels"].is_null()) continue;
      if (!e["labels"].is_array()) {
        report(pos, ep + ".labels", "must be a list of {key: ..., value: ...}");
        continue;
      }
      std::set<std::string> keys;
      for (size_t k = 0; k < e["labels"].size(); ++k) {
        const Json& l = e["labels"][k];
        std::string lp = ep + ".labels[" + std::to_string(k) + "]";
        if (!l.is_object()) {
          report(pos, lp, "must be a map {key: ..., value: ...}");
          continue;
        }
        check_keys(l, pos, lp, {"key", "value"});
        std::string key = l.contains("key") ? text(l["key"]) : "";
        std::string value = l.contains("value") ? text(l["value"]) : "";
        if (!valid_prometheus_name(key, false) || key.rfind("__", 0) == 0)
          report(pos, lp + ".key", "label key \"" + key + "\" of " + what +
                                       " is invalid; use letters, digits and '_', not starting with a digit or \"__\"");
        else if (key == "le" && std::find(types.begin(), types.end(), "histogram") != types.end())
          report(pos, lp + ".key", "label key \"le\" is reserved for histogram buckets; rename it");
        else if (!keys.insert(key).second)
          report(pos, lp + ".key", "label key \"" + key + "\" appears twice in " + what + "; keep one");
        if (value.empty()) report(pos, lp + ".value", "label \"" + key + "\" of " + what + " needs a value");
        else check_refs(value, scope, pos, lp + ".value");
      }
    }
  }

  void check_retry(const RetryStrategy& r, const std::string& p, const RefScope& scope) {
    if (!r.limit.empty() && !is_int_text(r.limit) && r.limit.find("{{") == std::string::npos)
      report(r.pos, p + ".limit", "limit \"" + r.limit + "\" must be an integer or a {{...}} reference");
    static const std::set<std::string> kPolicies = {"", "Always", "OnFailure", "OnError", "OnTransientError"};
    if (!kPolicies.count(r.retry_policy))
      report(r.pos, p + ".retryPolicy", "retryPolicy \"" + r.retry_policy + "\" must be Always, OnFailure, OnError or OnTransientError");
    if (r.expression.find("{{") != std::string::npos) {
      check_refs(r.expression, scope, r.pos, p + ".expression");  // an expression once substituted
    } else if (!r.expression.empty()) {
      auto vars = expr::expression_variables(r.expression);
      if (!vars) report(r.pos, p + ".expression", vars.status().message());
    }
  }

  void check_refs(const std::string& text, const RefScope& scope, const SourcePos& pos, const std::string& path) {
    if (text.find("{{") == std::string::npos) return;
    auto refs = expr::references(text);
    if (!refs) {
      report(pos, path, refs.status().message());
      return;
    }
    for (const auto& r : *refs) {
      if (r.is_expression) {
        auto vars = expr::expression_variables(r.text);
        if (!vars) report(pos, path, vars.status().message());
        continue;
      }
      std::vector<std::string> parts = split(r.text, '.');
      const std::string& head = parts[0];
      if (head == "inputs" && parts.size() >= 3 && parts[1] == "parameters" && scope.tmpl) {
        std::string name = r.text.substr(std::string("inputs.parameters.").size());
        bool declared = false;
        for (const auto& ip : scope.tmpl->inputs.parameters) declared |= ip.name == name;
        if (!declared)
          report(pos, path, "{{" + r.text + "}} names an input parameter that template \"" + scope.tmpl->name +
                                "\" does not declare; add it to inputs.parameters");
      } else if ((head == "tasks" || head == "steps") && parts.size() >= 3) {
        const std::set<std::string>* names = head == "tasks" ? scope.tasks : scope.steps;
        if (names && !names->count(parts[1]))
          report(pos, path, "{{" + r.text + "}} refers to " + (head == "tasks" ? "task" : "step") + " \"" + parts[1] +
                                "\", which does not exist here");
      } else if (head == "workflow" && parts.size() >= 3 && parts[1] == "parameters" && scope.workflow_params) {
        std::string name = r.text.substr(std::string("workflow.parameters.").size());
        if (!scope.workflow_params->count(name) && name != "json")  // json: all of them, as a list
          report(pos, path, "{{" + r.text + "}} names a workflow parameter that spec.arguments does not declare");
      }
    }
  }

  // Lifecycle hooks (a workflow's, a step's or a task's): the template each runs must
  // exist, and every hook but exit needs an expression that parses (Argo's validateHooks).
  void check_hooks(const std::vector<LifecycleHook>& hooks, const std::string& p, const WorkflowSpec& spec,
                   const RefScope& scope) {
    for (const auto& h : hooks) {
      std::string hp = p + "." + h.name;
      if (h.name != "exit" && h.expression.empty())
        report(h.pos, hp + ".expression",
               "hook \"" + h.name + "\" needs an expression saying when it runs (only the hook named exit runs without one)");
      if (!h.expression.empty()) {
        auto vars = expr::expression_variables(h.expression);
        if (!vars) report(h.pos, hp + ".expression", "hook \"" + h.name + "\": " + vars.status().message());
      }
      Task call;
      call.name = h.name;
      call.template_name = h.template_name;
      call.template_ref = h.template_ref;
      call.pos = h.pos;
      if (h.template_name.empty() && !h.template_ref)
        report(h.pos, hp, "hook \"" + h.name + "\" needs template or templateRef");
      else
        callee(call, hp, spec);
      for (const auto& a : h.arguments.parameters)
        if (a.value) check_refs(*a.value, scope, h.pos, hp + ".arguments");
    }
  }

  // The template a task calls, or nullptr (after reporting) when it cannot be found.
  const Template* callee(const Task& task, const std::string& p, const WorkflowSpec& spec) {
    if (task.template_ref) {
      const TemplateRef& ref = *task.template_ref;
      const Object* o = lib_.find(ref.name, ref.cluster_scope);
      if (!o) {
        report(task.pos, p + ".templateRef.name",
               std::string(ref.cluster_scope ? "ClusterWorkflowTemplate" : "WorkflowTemplate") + " \"" + ref.name +
                   "\" not found; give its file to skiff too, or create it on the server first");
        return nullptr;
      }
      const Template* t = find_template(o->spec, ref.template_name);
      if (!t)
        report(task.pos, p + ".templateRef.template",
               "template \"" + ref.template_name + "\" not found in WorkflowTemplate \"" + ref.name + "\"" + hint(ref.template_name, o->spec));
      return t;
    }
    if (!task.inline_template_json.empty()) return nullptr;
    if (task.template_name.empty()) {
      report(task.pos, p, "\"" + task.name + "\" needs template, templateRef or inline");
      return nullptr;
    }
    const Template* t = find_template(spec, task.template_name);
    if (!t) report(task.pos, p + ".template", "template \"" + task.template_name + "\" not found" + hint(task.template_name, spec));
    return t;
  }

  void check_call(const Task& task, const std::string& p, const WorkflowSpec& spec, const RefScope& scope) {
    if (!valid_field_name(task.name))
      report(task.pos, p + ".name", "name \"" + task.name + "\" must be 1-128 letters, digits and '-', starting with a letter or digit");
    int loops = (task.with_items ? 1 : 0) + (task.with_param.empty() ? 0 : 1) + (task.with_sequence ? 1 : 0);
    if (loops > 1) report(task.pos, p, "use only one of withItems, withParam and withSequence");
    if (task.with_sequence && !task.with_sequence->count.empty() && !task.with_sequence->end.empty())
      report(task.pos, p + ".withSequence", "set either count or end, not both");
    for (const auto& a : task.arguments.parameters)
      if (a.value) check_refs(*a.value, scope, task.pos, p + ".arguments");
    check_refs(task.when, scope, task.pos, p + ".when");
    check_refs(task.with_param, scope, task.pos, p + ".withParam");
    if (!task.on_exit.empty() && !find_template(spec, task.on_exit))
      report(task.pos, p + ".onExit", "onExit template \"" + task.on_exit + "\" not found" + hint(task.on_exit, spec));
    check_hooks(task.hooks, p + ".hooks", spec, scope);
    const Template* t = callee(task, p, spec);
    if (!t) return;
    for (const auto& in : t->inputs.parameters) {
      if (in.value || in.default_value || in.value_from) continue;
      bool given = false;
      for (const auto& a : task.arguments.parameters) given |= a.name == in.name;
      if (!given)
        report(task.pos, p + ".arguments", "\"" + task.name + "\" does not pass input parameter \"" + in.name +
                                               "\" that template \"" + t->name + "\" requires");
    }
    for (const auto& a : task.arguments.parameters) {
      if (!a.value || a.value->find("{{") != std::string::npos) continue;
      for (const auto& in : t->inputs.parameters) {
        if (in.name != a.name || in.enum_values.empty()) continue;
        bool ok = false;
        for (const auto& e : in.enum_values) ok |= e == *a.value;
        if (!ok)
          report(task.pos, p + ".arguments", "value \"" + *a.value + "\" of \"" + a.name + "\" is not one of [" +
                                                 join(in.enum_values, ", ") + "]");
      }
    }
  }

  void check_dag(const Template& t, const Dag& dag, const std::string& p, const WorkflowSpec& spec, RefScope scope) {
    std::set<std::string> names;
    std::map<std::string, std::vector<std::string>> deps;
    for (size_t i = 0; i < dag.tasks.size(); ++i) {
      const Task& task = dag.tasks[i];
      if (!names.insert(task.name).second)
        report(task.pos, p + ".tasks[" + std::to_string(i) + "].name", "duplicate task name \"" + task.name + "\"");
    }
    scope.tasks = &names;
    for (size_t i = 0; i < dag.tasks.size(); ++i) {
      const Task& task = dag.tasks[i];
      std::string tp = p + ".tasks[" + std::to_string(i) + "]";
      check_call(task, tp, spec, scope);
      std::vector<std::string> named = task.dependencies;
      if (!task.depends.empty()) {
        if (!task.dependencies.empty()) report(task.pos, tp, "use either depends or dependencies, not both");
        auto d = expr::DependsExpr::parse(task.depends);
        if (!d) report(task.pos, tp + ".depends", d.status().message());
        else named = d->tasks();
      }
      for (const auto& dep : named) {
        if (!names.count(dep)) {
          std::string n = nearest(dep, std::vector<std::string>(names.begin(), names.end()));
          report(task.pos, tp + (task.depends.empty() ? ".dependencies" : ".depends"),
                 "\"" + task.name + "\" depends on unknown task \"" + dep + "\"" + (n.empty() ? "" : "; did you mean \"" + n + "\"?"));
        }
      }
      deps[task.name] = named;
    }
    if (dag.target.find("{{") != std::string::npos)  // checked after substitution, at run time
      check_refs(dag.target, scope, t.pos, p + ".target");
    else if (!dag.target.empty())
      for (const auto& target : split(dag.target, ' '))
        if (!target.empty() && !names.count(target)) report(t.pos, p + ".target", "target task \"" + target + "\" does not exist");
    for (size_t i = 0; i < t.outputs.parameters.size(); ++i) {
      const auto& op = t.outputs.parameters[i];
      if (op.value_from) check_refs(op.value_from->parameter, scope, op.pos, "outputs.parameters");
    }
    find_cycles(dag, deps, p);
  }

  // Iterative depth-first search (a 100,000-task chain must not exhaust the stack).
  void find_cycles(const Dag& dag, const std::map<std::string, std::vector<std::string>>& deps, const std::string& p) {
    std::map<std::string, int> state;  // 0 new, 1 on the path, 2 done
    std::vector<std::pair<std::string, size_t>> stack;  // node, index of the next dependency
    for (const auto& root : dag.tasks) {
      if (state[root.name] != 0) continue;
      stack.emplace_back(root.name, 0);
      state[root.name] = 1;
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        auto it = deps.find(node);
        if (it == deps.end() || next >= it->second.size()) {
          state[node] = 2;
          stack.pop_back();
          continue;
        }
        const std::string& d = it->second[next++];
        if (!deps.count(d) || state[d] == 2) continue;
        if (state[d] == 0) {
          state[d] = 1;
          stack.emplace_back(d, 0);
          continue;
        }
        std::string cycle;  // d is on the path: report path from d back to d
        bool on = false;
        for (const auto& [x, unused] : stack) {
          on |= x == d;
          if (on) cycle += x + " -> ";
        }
        cycle += d;
        for (const auto& task : dag.tasks)
          if (task.name == d) report(task.pos, p + ".tasks", "dependency cycle: " + cycle + "; remove one of these dependencies");
        return;  // one cycle report is enough
      }
    }
  }

  void check_steps(const Template& t, const std::string& p, const WorkflowSpec& spec, RefScope scope) {
    std::set<std::string> names;
    for (size_t g = 0; g < t.steps.size(); ++g)
      for (size_t i = 0; i < t.steps[g].size(); ++i) {
        const Task& s = t.steps[g][i];
        if (!names.insert(s.name).second)
          report(s.pos, p + "[" + std::to_string(g) + "][" + std::to_string(i) + "].name", "duplicate step name \"" + s.name + "\"");
      }
    scope.steps = &names;
    for (size_t g = 0; g < t.steps.size(); ++g)
      for (size_t i = 0; i < t.steps[g].size(); ++i)
        check_call(t.steps[g][i], p + "[" + std::to_string(g) + "][" + std::to_string(i) + "]", spec, scope);
    for (const auto& op : t.outputs.parameters)
      if (op.value_from) check_refs(op.value_from->parameter, scope, op.pos, "outputs.parameters");
  }

  const Object& obj_;
  const Library& lib_;
  Diagnostics& out_;
  std::set<std::string> supplied_;
  std::set<std::string> wf_params_;
};

}  // namespace

namespace detail {

void validate_workflow_kind(const Object& obj, const Library& library, Diagnostics& out,
                            const std::vector<std::string>& supplied) {
  Validator(obj, library, out, supplied).run();
}

}  // namespace detail

void validate(const Object& obj, const Library& library, Diagnostics& out, const std::vector<std::string>& supplied) {
  kind_info(obj.kind).validate(obj, library, out, supplied);
}

}  // namespace skiff::spec
