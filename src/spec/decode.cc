// Mapping of YAML documents onto spec::Object, field by field, with strict key checks.
#include "spec/decode.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <initializer_list>
#include <thread>
#include <optional>
#include <regex>
#include <set>
#include <iostream>
#include <sstream>
#include <yaml-cpp/depthguard.h>

#include "spec/pod.h"
#include "spec/template_extras.h"
#include "spec/yaml_tree.h"
#include "util/base64.h"
#include "util/json_text.h"
#include "util/strings.h"

namespace skiff::spec {

using detail::check_pod_resources;
using detail::Ctx;
using detail::decode_memoize;
using detail::index_path;
using detail::within_limits;
using Y = YAML::Node;

namespace {

ValueFrom decode_value_from(Ctx& c, const Y& n, const std::string& p) {
  ValueFrom v;
  if (!c.map(n, p)) return v;
  c.keys(n, p, {"path", "jsonPath", "jqFilter", "event", "parameter", "supplied", "configMapKeyRef", "default", "expression"});
  v.path = c.str(n["path"], p + ".path");
  v.json_path = c.str(n["jsonPath"], p + ".jsonPath");
  v.jq_filter = c.str(n["jqFilter"], p + ".jqFilter");
  v.event = c.str(n["event"], p + ".event");
  v.parameter = c.str(n["parameter"], p + ".parameter");
  v.expression = c.str(n["expression"], p + ".expression");
  if (n["supplied"]) v.supplied = c.json_text(n["supplied"]).empty() ? "{}" : c.json_text(n["supplied"]);
  v.config_map_key_ref_json = c.json_text(n["configMapKeyRef"]);
  if (n["default"] && !n["default"].IsNull()) v.default_value = c.any_text(n["default"]);
  return v;
}

std::vector<Parameter> decode_parameters(Ctx& c, const Y& n, const std::string& p) {
  std::vector<Parameter> out;
  if (!c.seq(n, p)) return out;
  for (size_t i = 0; i < n.size(); ++i) {
    const Y& e = n[i];
    std::string ep = index_path(p, i);
    if (!c.map(e, ep)) continue;
    c.keys(e, ep, {"name", "default", "value", "valueFrom", "enum", "globalName", "description"});
    Parameter param;
    param.pos = c.pos(e);
    param.name = c.str(e["name"], ep + ".name");
    if (param.name.empty()) c.error(e, ep + ".name", "a parameter needs a name");
    if (e["value"] && !e["value"].IsNull()) param.value = c.any_text(e["value"]);
    if (e["default"] && !e["default"].IsNull()) param.default_value = c.any_text(e["default"]);
    if (e["enum"]) {
      if (c.seq(e["enum"], ep + ".enum"))
        for (const auto& v : e["enum"]) param.enum_values.push_back(c.any_text(v));
    }
    if (e["valueFrom"]) param.value_from = decode_value_from(c, e["valueFrom"], ep + ".valueFrom");
    param.global_name = c.str(e["globalName"], ep + ".globalName");
    param.description = c.str(e["description"], ep + ".description");
    out.push_back(std::move(param));
  }
  return out;
}

std::vector<Artifact> decode_artifacts(Ctx& c, const Y& n, const std::string& p) {
  std::vector<Artifact> out;
  if (!c.seq(n, p)) return out;
  for (size_t i = 0; i < n.size(); ++i) {
    const Y& e = n[i];
    std::string ep = index_path(p, i);
    if (!c.map(e, ep)) continue;
    c.keys(e, ep, {"name", "path", "mode", "from", "archiveLogs", "s3", "git", "http", "artifactory", "hdfs", "raw",
                   "oss", "gcs", "azure", "globalName", "archive", "optional", "subPath", "recurseMode",
                   "fromExpression", "artifactGC", "deleted", "plugin"});
    Artifact a;
    a.pos = c.pos(e);
    a.name = c.str(e["name"], ep + ".name");
    a.path = c.str(e["path"], ep + ".path");
    a.from = c.str(e["from"], ep + ".from");
    a.from_expression = c.str(e["fromExpression"], ep + ".fromExpression");
    a.global_name = c.str(e["globalName"], ep + ".globalName");
    a.sub_path = c.str(e["subPath"], ep + ".subPath");
    a.optional = c.boolean(e["optional"], ep + ".optional");
    if (e["mode"]) {
      // YAML 1.1 (Kubernetes' YAML) reads 0755 as octal; JSON gives the decimal value.
      std::string text = c.str(e["mode"], ep + ".mode");
      char* end = nullptr;
      long mode = std::strtol(text.c_str(), &end, text.size() > 1 && text[0] == '0' ? 8 : 10);
      if (text.empty() || *end || mode < 0 || mode > 07777)
        c.error(e["mode"], ep + ".mode", "mode must be a file mode such as 0755 (octal) or 493 (decimal)");
      else
        a.mode = static_cast<int>(mode);
    }
    if (const Y& ar = e["archive"]; ar && c.map(ar, ep + ".archive")) {
      c.keys(ar, ep + ".archive", {"tar", "none", "zip"});
      int kinds = 0;
      if (ar["tar"]) {
        ++kinds;
        if (c.map(ar["tar"], ep + ".archive.tar")) {
          c.keys(ar["tar"], ep + ".archive.tar", {"compressionLevel"});
          if (ar["tar"]["compressionLevel"]) {
            int64_t level = c.integer(ar["tar"]["compressionLevel"], ep + ".archive.tar.compressionLevel").value_or(-2);
            if (level < -1 || level > 9) c.error(ar["tar"]["compressionLevel"], ep + ".archive.tar.compressionLevel", "compressionLevel must be 0 (no compression) to 9, or -1 (gzip's default)");
            else a.compression_level = static_cast<int>(level);
          }
        }
      }
      if (ar["none"]) ++kinds, a.archive = ArchiveKind::kNone;
      if (ar["zip"]) ++kinds, a.archive = ArchiveKind::kZip;
      if (kinds > 1) c.error(ar, ep + ".archive", "archive takes one of tar, none and zip");
    }
    for (const char* kind : {"s3", "raw", "http", "git", "artifactory", "hdfs", "oss", "gcs", "azure", "plugin"}) {
      if (!e[kind] || e[kind].IsNull()) continue;
      if (!a.location_kind.empty())
        c.error(e[kind], ep + "." + kind, "an artifact names one location; it has " + a.location_kind + " and " + kind);
      else
        a.location_kind = kind;
    }
    if (const Y& gc = e["artifactGC"]; gc && c.map(gc, ep + ".artifactGC")) {
      c.keys(gc, ep + ".artifactGC", {"strategy", "podMetadata", "serviceAccountName"});
      a.artifact_gc = c.str(gc["strategy"], ep + ".artifactGC.strategy");
    }
    a.source_json = c.json_text(e);
    out.push_back(std::move(a));
  }
  return out;
}

Arguments decode_arguments(Ctx& c, const Y& n, const std::string& p) {
  Arguments a;
  if (!c.map(n, p)) return a;
  c.keys(n, p, {"parameters", "artifacts"});
  a.parameters = decode_parameters(c, n["parameters"], p + ".parameters");
  a.artifacts = decode_artifacts(c, n["artifacts"], p + ".artifacts");
  return a;
}

std::optional<TemplateRef> decode_template_ref(Ctx& c, const Y& r, const std::string& p) {
  if (!c.map(r, p)) return std::nullopt;
  c.keys(r, p, {"name", "template", "clusterScope"});
  TemplateRef ref;
  ref.name = c.str(r["name"], p + ".name");
  ref.template_name = c.str(r["template"], p + ".template");
  ref.cluster_scope = c.boolean(r["clusterScope"], p + ".clusterScope");
  return ref;
}

// `hooks`: a map from the hook's name to Argo's LifecycleHook (the engine runs them:
// engine/hooks.cc).
std::vector<LifecycleHook> decode_hooks(Ctx& c, const Y& n, const std::string& p) {
  std::vector<LifecycleHook> out;
  if (!c.map(n, p)) return out;
  for (const auto& kv : n) {
    LifecycleHook h;
    h.name = kv.first.IsScalar() ? kv.first.Scalar() : "";
    std::string hp = p + "." + h.name;
    h.pos = c.pos(kv.second);
    if (!c.map(kv.second, hp)) continue;
    c.keys(kv.second, hp, {"template", "arguments", "templateRef", "expression"});
    h.template_name = c.str(kv.second["template"], hp + ".template");
    h.template_ref = decode_template_ref(c, kv.second["templateRef"], hp + ".templateRef");
    h.arguments = decode_arguments(c, kv.second["arguments"], hp + ".arguments");
    h.expression = c.str(kv.second["expression"], hp + ".expression");
    out.push_back(std::move(h));
  }
  return out;
}

Container decode_container(Ctx& c, const Y& n, const std::string& p, bool script) {
  Container k;
  k.pos = c.pos(n);
  if (!c.map(n, p)) return k;
  std::initializer_list<const char*> fields = {
      "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources", "volumeMounts",
      "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath",
      "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty",
      "restartPolicy", "resizePolicy", "mirrorVolumeMounts", "dependencies", "source"};
  c.keys(n, p, fields);
  if (!script && n["source"]) c.error(n["source"], p + ".source", "\"source\" belongs to script templates; use script: instead of container:");
  k.name = c.str(n["name"], p + ".name");
  k.image = c.str(n["image"], p + ".image");
  k.command = c.strings(n["command"], p + ".command");
  k.args = c.strings(n["args"], p + ".args");
  k.working_dir = c.str(n["workingDir"], p + ".workingDir");
  k.image_pull_policy = c.str(n["imagePullPolicy"], p + ".imagePullPolicy");
  k.termination_message_path = c.str(n["terminationMessagePath"], p + ".terminationMessagePath");
  k.termination_message_policy = c.str(n["terminationMessagePolicy"], p + ".terminationMessagePolicy");
  // Values with {{...}} are checked once substituted (runtime/termination_message.h).
  const std::string& tpath = k.termination_message_path;
  if (!tpath.empty() && tpath[0] != '/' && tpath.find("{{") == std::string::npos)
    c.error(n["terminationMessagePath"], p + ".terminationMessagePath",
            "\"" + tpath + "\" must be an absolute path, e.g. /dev/termination-log");
  const std::string& policy = k.termination_message_policy;
  if (!policy.empty() && policy != "File" && policy != "FallbackToLogsOnError" && policy.find("{{") == std::string::npos)
    c.error(n["terminationMessagePolicy"], p + ".terminationMessagePolicy",
            "\"" + policy + "\" is not one of File, FallbackToLogsOnError");
  k.resources_json = c.json_text(n["resources"]);
  k.security_context_json = c.json_text(n["securityContext"]);
  k.readiness_probe_json = c.json_text(n["readinessProbe"]);
  k.ports_json = c.json_text(n["ports"]);
  k.mirror_volume_mounts = c.boolean(n["mirrorVolumeMounts"], p + ".mirrorVolumeMounts");
  k.env_from_json = c.json_text(n["envFrom"]);
  k.source = c.str(n["source"], p + ".source");
  k.dependencies = c.strings(n["dependencies"], p + ".dependencies");
  if (c.seq(n["env"], p + ".env")) {
    for (size_t i = 0; i < n["env"].size(); ++i) {
      const Y& e = n["env"][i];
      std::string ep = index_path(p + ".env", i);
      if (!c.map(e, ep)) continue;
      c.keys(e, ep, {"name", "value", "valueFrom"});
      EnvVar v;
      v.name = c.str(e["name"], ep + ".name");
      if (v.name.empty()) c.error(e, ep + ".name", "an env entry needs a name");
      if (e["value"] && !e["value"].IsNull()) v.value = c.any_text(e["value"]);
      v.value_from_json = c.json_text(e["valueFrom"]);
      k.env.push_back(std::move(v));
    }
  }
  if (c.seq(n["volumeMounts"], p + ".volumeMounts")) {
    for (size_t i = 0; i < n["volumeMounts"].size(); ++i) {
      const Y& e = n["volumeMounts"][i];
      std::string ep = index_path(p + ".volumeMounts", i);
      if (!c.map(e, ep)) continue;
      c.keys(e, ep, {"name", "mountPath", "subPath", "readOnly", "mountPropagation", "subPathExpr", "recursiveReadOnly"});
      VolumeMount m;
      m.name = c.str(e["name"], ep + ".name");
      m.mount_path = c.str(e["mountPath"], ep + ".mountPath");
      m.sub_path = c.str(e["subPath"], ep + ".subPath");
      m.read_only = c.boolean(e["readOnly"], ep + ".readOnly");
      if (m.name.empty() || m.mount_path.empty()) c.error(e, ep, "a volume mount needs a name and a mountPath");
      k.volume_mounts.push_back(std::move(m));
    }
  }
  return k;
}

std::vector<Volume> decode_volumes(Ctx& c, const Y& n, const std::string& p) {
  std::vector<Volume> out;
  if (!c.seq(n, p)) return out;
  for (size_t i = 0; i < n.size(); ++i) {
    std::string ep = index_path(p, i);
    if (!c.map(n[i], ep)) continue;
    Volume v;
    v.pos = c.pos(n[i]);
    v.name = c.str(n[i]["name"], ep + ".name");
    if (v.name.empty()) c.error(n[i], ep + ".name", "a volume needs a name");
    v.source_json = c.json_text(n[i]);
    out.push_back(std::move(v));
  }
  return out;
}

std::optional<RetryStrategy> decode_retry(Ctx& c, const Y& n, const std::string& p) {
  if (!c.map(n, p)) return std::nullopt;
  c.keys(n, p, {"limit", "retryPolicy", "backoff", "affinity", "expression"});
  RetryStrategy r;
  r.pos = c.pos(n);
  r.limit = c.str(n["limit"], p + ".limit");
  r.retry_policy = c.str(n["retryPolicy"], p + ".retryPolicy");
  r.expression = c.str(n["expression"], p + ".expression");
  if (c.map(n["backoff"], p + ".backoff")) {
    const Y& b = n["backoff"];
    c.keys(b, p + ".backoff", {"duration", "factor", "maxDuration", "cap"});
    Backoff bo;
    bo.duration = c.str(b["duration"], p + ".backoff.duration");
    bo.factor = c.str(b["factor"], p + ".backoff.factor");
    bo.max_duration = c.str(b["maxDuration"], p + ".backoff.maxDuration");
    r.backoff = bo;
  }
  return r;
}

// Records which of `names` `n` sets: fields accepted, as Argo's schema has them, that
// skiff does not act on yet (lint warns about each).
void note_not_acted_on(Ctx& c, const Y& n, std::initializer_list<const char*> names,
                       std::map<std::string, SourcePos>& out) {
  for (const char* name : names)
    if (n[name] && !n[name].IsNull()) out[name] = c.pos(n[name]);
}

Task decode_task(Ctx& c, const Y& n, const std::string& p, bool dag) {
  Task t;
  t.pos = c.pos(n);
  if (!c.map(n, p)) return t;
  if (dag)
    c.keys(n, p, {"name", "template", "arguments", "templateRef", "dependencies", "withItems", "withParam",
                  "withSequence", "when", "continueOn", "onExit", "depends", "hooks", "inline"});
  else
    c.keys(n, p, {"name", "template", "inline", "arguments", "templateRef", "withItems", "withParam", "withSequence",
                  "when", "continueOn", "onExit", "hooks"});
  t.name = c.str(n["name"], p + ".name");
  t.template_name = c.str(n["template"], p + ".template");
  t.inline_template_json = c.json_text(n["inline"]);
  t.arguments = decode_arguments(c, n["arguments"], p + ".arguments");
  t.template_ref = decode_template_ref(c, n["templateRef"], p + ".templateRef");
  t.dependencies = c.strings(n["dependencies"], p + ".dependencies");
  t.depends = c.str(n["depends"], p + ".depends");
  t.when = c.str(n["when"], p + ".when");
  if (n["withItems"] && !n["withItems"].IsNull()) {
    if (!n["withItems"].IsSequence()) {
      c.error(n["withItems"], p + ".withItems", "withItems must be a list of items, e.g. [a, b] or [{k: v}]");
    } else {
      std::vector<Item> items;
      for (const auto& e : n["withItems"]) items.push_back(Item{c.json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), c.pos(e)});
      t.with_items = std::move(items);
    }
  }
  t.with_param = c.str(n["withParam"], p + ".withParam");
  if (c.map(n["withSequence"], p + ".withSequence")) {
    const Y& s = n["withSequence"];
    c.keys(s, p + ".withSequence", {"count", "start", "end", "format"});
    Sequence seq;
    seq.count = c.str(s["count"], p + ".withSequence.count");
    seq.start = c.str(s["start"], p + ".withSequence.start");
    seq.end = c.str(s["end"], p + ".withSequence.end");
    seq.format = c.str(s["format"], p + ".withSequence.format");
    t.with_sequence = seq;
  }
  if (c.map(n["continueOn"], p + ".continueOn")) {
    c.keys(n["continueOn"], p + ".continueOn", {"error", "failed"});
    t.continue_on = ContinueOn{c.boolean(n["continueOn"]["error"], p + ".continueOn.error"),
                               c.boolean(n["continueOn"]["failed"], p + ".continueOn.failed")};
  }
  t.on_exit = c.str(n["onExit"], p + ".onExit");
  t.hooks = decode_hooks(c, n["hooks"], p + ".hooks");
  return t;
}

Metadata decode_metadata(Ctx& c, const Y& n, const std::string& p) {
  Metadata m;
  if (!c.map(n, p)) return m;
  c.keys(n, p, {"labels", "annotations"});
  m.labels = c.string_map(n["labels"], p + ".labels");
  m.annotations = c.string_map(n["annotations"], p + ".annotations");
  return m;
}

// The pod-level fields (spec/pod.h) of a template or, with `on_workflow`, a workflow spec:
// their shapes checked, kept as JSON under the Pod's names, and where each was written.
void decode_pod_fields(Ctx& c, const Y& n, const std::string& p, bool on_workflow, PodFields& pod) {
  static const std::set<std::string> kMaps = {"nodeSelector", "affinity", "securityContext", "dnsConfig", "executor",
                                              "resources"};
  static const std::set<std::string> kLists = {"tolerations", "hostAliases", "imagePullSecrets"};
  nlohmann::json other = nlohmann::json::object();
  for (size_t i = 0; i < kPodFieldCount; ++i) {
    const PodField& f = kPodFields[i];
    const char* name = on_workflow ? f.on_workflow : f.on_template;
    if (!name || !n[name] || n[name].IsNull()) continue;
    const Y& v = n[name];
    std::string path = p + "." + name;
    pod.written[name] = c.pos(v);
    std::string key = f.on_pod;
    if (key == "metadata") continue;  // typed: decode_metadata
    if (kMaps.count(key) ? !c.map(v, path) : kLists.count(key) ? !c.seq(v, path) : !c.opt_str(v, path)) continue;
    if (key == "securityContext") pod.security_context_json = c.json_text(v);
    else other[key] = c.json(v);
  }
  if (!other.empty()) pod.json = other.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ContainerSet decode_container_set(Ctx& c, const Y& n, const std::string& p) {
  ContainerSet set;
  set.pos = c.pos(n);
  if (!c.map(n, p)) return set;
  c.keys(n, p, {"containers", "volumeMounts", "retryStrategy"});
  if (c.seq(n["containers"], p + ".containers"))
    for (size_t i = 0; i < n["containers"].size(); ++i)
      set.containers.push_back(decode_container(c, n["containers"][i], index_path(p + ".containers", i), false));
  if (n["volumeMounts"]) {  // decoded as a container's, from a node that holds only them
    Y only;
    only["volumeMounts"] = n["volumeMounts"];
    set.volume_mounts = decode_container(c, only, p, false).volume_mounts;
  }
  const Y& r = n["retryStrategy"];
  if (c.map(r, p + ".retryStrategy")) {
    c.keys(r, p + ".retryStrategy", {"retries", "duration"});
    set.retries = c.str(r["retries"], p + ".retryStrategy.retries");
    set.duration = c.str(r["duration"], p + ".retryStrategy.duration");
  }
  return set;
}

Template decode_template(Ctx& c, const Y& n, const std::string& p) {
  Template t;
  t.pos = c.pos(n);
  if (!c.map(n, p)) return t;
  c.keys(n, p, {"name", "inputs", "outputs", "nodeSelector", "affinity", "metadata", "daemon", "steps", "container",
                "containerSet", "script", "resource", "dag", "suspend", "data", "http", "plugin", "volumes",
                "initContainers", "sidecars", "archiveLocation", "activeDeadlineSeconds", "retryStrategy",
                "parallelism", "failFast", "tolerations", "schedulerName", "priorityClassName", "priority",
                "serviceAccountName", "automountServiceAccountToken", "executor", "hostAliases", "securityContext",
                "podSpecPatch", "metrics", "synchronization", "memoize", "timeout", "podResources"});
  t.name = c.str(n["name"], p + ".name");
  if (const Y& al = n["archiveLocation"]; al && c.map(al, p + ".archiveLocation")) {
    for (const auto& kv : al) {
      std::string k = kv.first.as<std::string>();
      if (k == "archiveLogs")
        t.archive_logs = c.boolean(al[k], p + ".archiveLocation.archiveLogs");
      else
        c.error(al[k], p + ".archiveLocation." + k,
                "archiveLocation." + k + ": a template's own artifact repository is not supported by skiff yet; "
                "name the repository for the whole workflow with spec.artifactRepositoryRef");
    }
  }
  if (c.map(n["inputs"], p + ".inputs")) {
    c.keys(n["inputs"], p + ".inputs", {"parameters", "artifacts"});
    t.inputs.parameters = decode_parameters(c, n["inputs"]["parameters"], p + ".inputs.parameters");
    t.inputs.artifacts = decode_artifacts(c, n["inputs"]["artifacts"], p + ".inputs.artifacts");
  }
  if (c.map(n["outputs"], p + ".outputs")) {
    c.keys(n["outputs"], p + ".outputs", {"parameters", "artifacts", "result", "exitCode"});
    t.outputs.parameters = decode_parameters(c, n["outputs"]["parameters"], p + ".outputs.parameters");
    t.outputs.artifacts = decode_artifacts(c, n["outputs"]["artifacts"], p + ".outputs.artifacts");
  }
  t.metadata = decode_metadata(c, n["metadata"], p + ".metadata");
  decode_pod_fields(c, n, p, false, t.pod);
  auto present = [&](const char* k) { return n[k] && !n[k].IsNull(); };
  if (present("container")) {
    t.type = TemplateType::kContainer, ++t.type_count;
    t.container = decode_container(c, n["container"], p + ".container", false);
  }
  if (present("script")) {
    t.type = TemplateType::kScript, ++t.type_count;
    t.container = decode_container(c, n["script"], p + ".script", true);
  }
  if (present("dag")) {
    t.type = TemplateType::kDag, ++t.type_count;
    std::string dp = p + ".dag";
    Dag d;
    if (c.map(n["dag"], dp)) {
      c.keys(n["dag"], dp, {"target", "tasks", "failFast"});
      d.target = c.str(n["dag"]["target"], dp + ".target");
      if (n["dag"]["failFast"]) d.fail_fast = c.boolean(n["dag"]["failFast"], dp + ".failFast");
      const Y& tasks = n["dag"]["tasks"];
      if (c.seq(tasks, dp + ".tasks"))
        for (size_t i = 0; i < tasks.size(); ++i) d.tasks.push_back(decode_task(c, tasks[i], index_path(dp + ".tasks", i), true));
    }
    t.dag = std::move(d);
  }
  if (present("steps")) {
    t.type = TemplateType::kSteps, ++t.type_count;
    const Y& groups = n["steps"];
    if (c.seq(groups, p + ".steps")) {
      for (size_t g = 0; g < groups.size(); ++g) {
        std::string gp = index_path(p + ".steps", g);
        std::vector<Task> group;
        if (!groups[g].IsSequence()) {
          c.error(groups[g], gp, "each entry of steps must be a list of parallel steps (- - name: ...)");
        } else {
          for (size_t i = 0; i < groups[g].size(); ++i) group.push_back(decode_task(c, groups[g][i], index_path(gp, i), false));
        }
        t.steps.push_back(std::move(group));
      }
    }
  }
  if (present("suspend")) {
    t.type = TemplateType::kSuspend, ++t.type_count;
    Suspend s;
    if (c.map(n["suspend"], p + ".suspend")) {
      c.keys(n["suspend"], p + ".suspend", {"duration"});
      s.duration = c.str(n["suspend"]["duration"], p + ".suspend.duration");
    }
    t.suspend = s;
  }
  if (present("resource")) {
    t.type = TemplateType::kResource, ++t.type_count;
    const Y& r = n["resource"];
    std::string rp = p + ".resource";
    Resource res;
    if (c.map(r, rp)) {
      c.keys(r, rp, {"action", "mergeStrategy", "manifest", "manifestFrom", "setOwnerReference", "successCondition",
                     "failureCondition", "flags"});
      res.pos = c.pos(r);
      res.action = c.str(r["action"], rp + ".action");
      res.manifest = c.str(r["manifest"], rp + ".manifest");
      if (c.map(r["manifestFrom"], rp + ".manifestFrom")) {
        c.keys(r["manifestFrom"], rp + ".manifestFrom", {"artifact"});
        const Y& a = r["manifestFrom"]["artifact"];
        if (c.map(a, rp + ".manifestFrom.artifact")) res.manifest_from_artifact = c.str(a["name"], rp + ".manifestFrom.artifact.name");
      }
      res.success_condition = c.str(r["successCondition"], rp + ".successCondition");
      res.failure_condition = c.str(r["failureCondition"], rp + ".failureCondition");
      res.set_owner_reference = c.boolean(r["setOwnerReference"], rp + ".setOwnerReference");
      res.merge_strategy = c.str(r["mergeStrategy"], rp + ".mergeStrategy");
      res.flags = c.strings(r["flags"], rp + ".flags");
    }
    t.resource = res;
  }
  static const std::pair<const char*, TemplateType> kOther[] = {{"data", TemplateType::kData},
                                                                {"containerSet", TemplateType::kContainerSet},
                                                                {"http", TemplateType::kHttp},
                                                                {"plugin", TemplateType::kPlugin}};
  for (const auto& [key, type] : kOther) {
    if (!present(key)) continue;
    t.type = type, ++t.type_count;
    t.other_type_json = c.json_text(n[key]);
  }
  if (present("containerSet")) t.container_set = decode_container_set(c, n["containerSet"], p + ".containerSet");
  t.volumes = decode_volumes(c, n["volumes"], p + ".volumes");
  if (c.seq(n["sidecars"], p + ".sidecars"))
    for (size_t i = 0; i < n["sidecars"].size(); ++i)
      t.sidecars.push_back(decode_container(c, n["sidecars"][i], index_path(p + ".sidecars", i), false));
  if (c.seq(n["initContainers"], p + ".initContainers"))
    for (size_t i = 0; i < n["initContainers"].size(); ++i)
      t.init_containers.push_back(decode_container(c, n["initContainers"][i], index_path(p + ".initContainers", i), false));
  if (n["retryStrategy"]) t.retry_strategy = decode_retry(c, n["retryStrategy"], p + ".retryStrategy");
  t.active_deadline_seconds = c.str(n["activeDeadlineSeconds"], p + ".activeDeadlineSeconds");
  t.timeout = c.str(n["timeout"], p + ".timeout");
  t.parallelism = c.integer(n["parallelism"], p + ".parallelism");
  if (n["failFast"]) t.fail_fast = c.boolean(n["failFast"], p + ".failFast");
  t.daemon = c.boolean(n["daemon"], p + ".daemon");
  t.metrics_json = c.json_text(n["metrics"]);
  t.memoize_json = decode_memoize(c, n["memoize"], p + ".memoize");
  check_pod_resources(c, n["podResources"], p + ".podResources", t.type);
  t.synchronization_json = c.json_text(n["synchronization"]);
  return t;
}

void decode_meta(Ctx& c, const Y& n, const std::string& p, ObjectMeta& m) {
  if (!c.map(n, p)) return;
  c.keys(n, p, {"name", "generateName", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation",
                "creationTimestamp", "ownerReferences", "finalizers", "managedFields", "deletionTimestamp",
                "deletionGracePeriodSeconds", "selfLink"});
  m.name = c.str(n["name"], p + ".name");
  m.generate_name = c.str(n["generateName"], p + ".generateName");
  m.namespace_ = c.str(n["namespace"], p + ".namespace");
  m.uid = c.str(n["uid"], p + ".uid");
  m.labels = c.string_map(n["labels"], p + ".labels");
  m.annotations = c.string_map(n["annotations"], p + ".annotations");
}

void decode_workflow_spec(Ctx& c, const Y& n, const std::string& p, WorkflowSpec& s) {
  if (!c.map(n, p)) return;
  c.keys(n, p, {"templates", "entrypoint", "arguments", "serviceAccountName", "automountServiceAccountToken", "executor",
                "volumes", "volumeClaimTemplates", "parallelism", "artifactRepositoryRef", "suspend", "nodeSelector",
                "affinity", "tolerations", "imagePullSecrets", "hostNetwork", "dnsPolicy", "dnsConfig", "onExit",
                "ttlStrategy", "activeDeadlineSeconds", "priority", "schedulerName", "podGC", "podPriorityClassName",
                "podPriority", "hostAliases", "securityContext", "podSpecPatch", "podDisruptionBudget", "metrics",
                "shutdown", "workflowTemplateRef", "synchronization", "volumeClaimGC", "retryStrategy", "podMetadata",
                "templateDefaults", "archiveLogs", "hooks", "workflowMetadata", "artifactGC", "podResources"});
  s.entrypoint = c.str(n["entrypoint"], p + ".entrypoint");
  note_not_acted_on(c, n,
                    {"podGC", "podDisruptionBudget", "volumeClaimGC", "workflowMetadata"},
                    s.not_acted_on);
  check_pod_resources(c, n["podResources"], p + ".podResources", TemplateType::kNone);
  if (n["archiveLogs"] && !n["archiveLogs"].IsNull()) s.archive_logs = c.boolean(n["archiveLogs"], p + ".archiveLogs");
  if (const Y& ref = n["artifactRepositoryRef"]; ref && c.map(ref, p + ".artifactRepositoryRef")) {
    c.keys(ref, p + ".artifactRepositoryRef", {"configMap", "key"});
    std::string cm = c.str(ref["configMap"], p + ".artifactRepositoryRef.configMap");
    s.artifact_repository_ref.emplace(cm.empty() ? "artifact-repositories" : cm,
                                      c.str(ref["key"], p + ".artifactRepositoryRef.key"));
  }
  if (const Y& gc = n["artifactGC"]; gc && c.map(gc, p + ".artifactGC")) {
    c.keys(gc, p + ".artifactGC", {"strategy", "podMetadata", "serviceAccountName", "forceFinalizerRemoval", "podSpecPatch"});
    s.artifact_gc = c.str(gc["strategy"], p + ".artifactGC.strategy");
  }
  s.arguments = decode_arguments(c, n["arguments"], p + ".arguments");
  if (c.seq(n["templates"], p + ".templates"))
    for (size_t i = 0; i < n["templates"].size(); ++i)
      s.templates.push_back(decode_template(c, n["templates"][i], index_path(p + ".templates", i)));
  s.on_exit = c.str(n["onExit"], p + ".onExit");
  s.parallelism = c.integer(n["parallelism"], p + ".parallelism");
  s.priority = c.integer(n["priority"], p + ".priority");
  s.active_deadline_seconds = c.str(n["activeDeadlineSeconds"], p + ".activeDeadlineSeconds");
  s.volumes = decode_volumes(c, n["volumes"], p + ".volumes");
  if (c.seq(n["volumeClaimTemplates"], p + ".volumeClaimTemplates")) {
    for (size_t i = 0; i < n["volumeClaimTemplates"].size(); ++i) {
      const Y& e = n["volumeClaimTemplates"][i];
      std::string ep = index_path(p + ".volumeClaimTemplates", i);
      if (!c.map(e, ep)) continue;
      ClaimTemplate ct;
      ct.pos = c.pos(e);
      if (c.map(e["metadata"], ep + ".metadata")) ct.name = c.str(e["metadata"]["name"], ep + ".metadata.name");
      if (ct.name.empty()) c.error(e, ep + ".metadata.name", "a volumeClaimTemplate needs metadata.name");
      ct.source_json = c.json_text(e);
      s.volume_claim_templates.push_back(std::move(ct));
    }
  }
  if (c.map(n["workflowTemplateRef"], p + ".workflowTemplateRef")) {
    const Y& r = n["workflowTemplateRef"];
    c.keys(r, p + ".workflowTemplateRef", {"name", "clusterScope"});
    s.workflow_template_ref = WorkflowTemplateRef{c.str(r["name"], p + ".workflowTemplateRef.name"),
                                                  c.boolean(r["clusterScope"], p + ".workflowTemplateRef.clusterScope")};
  }
  s.service_account_name = c.str(n["serviceAccountName"], p + ".serviceAccountName");
  s.host_network = c.boolean(n["hostNetwork"], p + ".hostNetwork");
  s.image_pull_secrets_json = c.json_text(n["imagePullSecrets"]);
  s.pod_metadata = decode_metadata(c, n["podMetadata"], p + ".podMetadata");
  decode_pod_fields(c, n, p, true, s.pod);
  if (c.map(n["ttlStrategy"], p + ".ttlStrategy")) {
    const Y& t = n["ttlStrategy"];
    c.keys(t, p + ".ttlStrategy", {"secondsAfterCompletion", "secondsAfterSuccess", "secondsAfterFailure"});
    s.ttl_strategy = TtlStrategy{c.integer(t["secondsAfterCompletion"], p + ".ttlStrategy.secondsAfterCompletion"),
                                 c.integer(t["secondsAfterSuccess"], p + ".ttlStrategy.secondsAfterSuccess"),
                                 c.integer(t["secondsAfterFailure"], p + ".ttlStrategy.secondsAfterFailure")};
  }
  s.pod_gc_json = c.json_text(n["podGC"]);
  s.volume_claim_gc_json = c.json_text(n["volumeClaimGC"]);
  s.metrics_json = c.json_text(n["metrics"]);
  s.hooks = decode_hooks(c, n["hooks"], p + ".hooks");
  s.synchronization_json = c.json_text(n["synchronization"]);
  if (n["retryStrategy"]) s.retry_strategy = decode_retry(c, n["retryStrategy"], p + ".retryStrategy");
  if (const Y& d = n["templateDefaults"]; d && !d.IsNull()) {
    TemplateDefaults td;
    td.fields = decode_template(c, d, p + ".templateDefaults");
    if (d.IsMap()) {
      // decode_template keeps one of container and script; both are kept here, decoded
      // again quietly (their errors are reported above).
      Diagnostics reported;
      Ctx quiet("", &reported, 64);
      if (d["container"] && d["container"].IsMap()) td.container = decode_container(quiet, d["container"], "", false);
      if (d["script"] && d["script"].IsMap()) td.script = decode_container(quiet, d["script"], "", true);
    }
    s.template_defaults = std::move(td);
  }
  s.suspend = c.boolean(n["suspend"], p + ".suspend");
  s.shutdown = !c.str(n["shutdown"], p + ".shutdown").empty();
}

void decode_cron(Ctx& c, const Y& n, const std::string& p, Object& obj) {
  if (!c.map(n, p)) return;
  c.keys(n, p, {"workflowSpec", "schedule", "schedules", "concurrencyPolicy", "suspend", "startingDeadlineSeconds",
                "successfulJobsHistoryLimit", "failedJobsHistoryLimit", "timezone", "workflowMetadata", "stopStrategy",
                "when"});
  CronSpec cron;
  if (auto s = c.opt_str(n["schedule"], p + ".schedule")) cron.schedules.push_back(*s);
  for (auto& s : c.strings(n["schedules"], p + ".schedules")) cron.schedules.push_back(s);
  if (cron.schedules.empty()) c.error(n, p + ".schedule", "a CronWorkflow needs schedule or schedules");
  cron.timezone = c.str(n["timezone"], p + ".timezone");
  cron.concurrency_policy = c.str(n["concurrencyPolicy"], p + ".concurrencyPolicy");
  cron.starting_deadline_seconds = c.integer(n["startingDeadlineSeconds"], p + ".startingDeadlineSeconds");
  cron.successful_jobs_history_limit = c.integer(n["successfulJobsHistoryLimit"], p + ".successfulJobsHistoryLimit");
  cron.failed_jobs_history_limit = c.integer(n["failedJobsHistoryLimit"], p + ".failedJobsHistoryLimit");
  cron.suspend = c.boolean(n["suspend"], p + ".suspend");
  cron.when = c.str(n["when"], p + ".when");
  cron.stop_strategy_json = c.json_text(n["stopStrategy"]);
  decode_meta(c, n["workflowMetadata"], p + ".workflowMetadata", cron.workflow_metadata);
  if (!n["workflowSpec"]) c.error(n, p + ".workflowSpec", "a CronWorkflow needs workflowSpec");
  decode_workflow_spec(c, n["workflowSpec"], p + ".workflowSpec", obj.spec);
  cron.workflow_spec_json = c.json_text(n["workflowSpec"]);
  obj.cron = std::move(cron);
}

void decode_object(Ctx& c, const Y& doc, Object& obj) {
  obj.pos = c.pos(doc);
  c.keys(doc, "", {"apiVersion", "kind", "metadata", "spec", "status", "operation"});
  const KindInfo* info = doc["kind"] && doc["kind"].IsScalar() ? find_kind(doc["kind"].Scalar()) : nullptr;
  // An unknown kind is held to Argo's apiVersion, the one all registered kinds share today.
  std::string api_version = info ? info->api_version : kind_info(Kind::kWorkflow).api_version;
  obj.api_version = c.str(doc["apiVersion"], "apiVersion");
  if (obj.api_version != api_version)
    c.error(doc["apiVersion"] ? doc["apiVersion"] : doc, "apiVersion",
            "apiVersion must be " + api_version + ", got \"" + obj.api_version + "\"");
  std::string kind = c.str(doc["kind"], "kind");
  if (info) {
    obj.kind = info->kind;
  } else {
    std::vector<std::string> names;
    for (const KindInfo& k : all_kinds()) names.push_back(k.name);
    std::string hint = nearest(kind, names);
    c.error(doc["kind"] ? doc["kind"] : doc, "kind",
            "unknown kind \"" + kind + "\"; expected " + kind_names_text(true) +
                (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
  }
  // An Application's operation (a sync asked for) is the controller's, kept as JSON.
  if (doc["operation"] && obj.kind != Kind::kApplication)
    c.error(doc["operation"], "operation", "unknown field \"operation\": only an Application has one");
  decode_meta(c, doc["metadata"], "metadata", obj.metadata);
  if (obj.metadata.name.empty() && obj.metadata.generate_name.empty())
    c.error(doc["metadata"] ? doc["metadata"] : doc, "metadata.name", "metadata needs a name or a generateName");
  if (!doc["spec"]) {
    c.error(doc, "spec", "missing spec");
  } else {
    kind_info(obj.kind).decode_spec(c, doc["spec"], obj);
  }
  obj.source_json = c.json_text(doc);
}

// A ConfigMap or Secret: names and keys checked as Kubernetes does, a Secret's data decoded.
std::optional<ConfigDocument> decode_config_document(Ctx& c, const Y& doc) {
  ConfigDocument d;
  d.pos = c.pos(doc);
  d.secret = doc["kind"].Scalar() == "Secret";
  const char* kind = d.secret ? "Secret" : "ConfigMap";
  c.keys(doc, "", {"apiVersion", "kind", "metadata", "data", "stringData", "binaryData", "type", "immutable"});
  if (c.str(doc["apiVersion"], "apiVersion") != "v1") {
    c.error(doc["apiVersion"] ? doc["apiVersion"] : doc, "apiVersion", std::string("a ") + kind + "'s apiVersion is v1");
    return std::nullopt;
  }
  ObjectMeta meta;
  decode_meta(c, doc["metadata"], "metadata", meta);
  d.name = meta.name;
  d.namespace_ = meta.namespace_;
  d.labels = meta.labels;
  d.annotations = meta.annotations;
  static const std::regex name_re("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$");
  if (!std::regex_match(d.name, name_re)) {
    c.error(doc["metadata"] ? doc["metadata"] : doc, "metadata.name",
            std::string("a ") + kind + " needs a name of lower-case letters, digits, '-' and '.'");
    return std::nullopt;
  }
  d.type = d.secret ? c.str(doc["type"], "type") : "";
  if (d.secret && d.type.empty()) d.type = "Opaque";
  static const std::regex key_re("^[-._a-zA-Z0-9]{1,253}$");
  auto add = [&](const char* field, bool base64) {
    const Y& m = doc[field];
    if (!m || m.IsNull() || !c.map(m, field)) return;
    for (const auto& kv : m) {
      std::string key = kv.first.as<std::string>();
      std::string path = std::string(field) + "." + key;
      if (!std::regex_match(key, key_re)) {
        c.error(kv.second, path, "a key is letters, digits, '-', '_' and '.'");
        continue;
      }
      std::string value = c.str(kv.second, path);
      if (base64) {
        auto raw = base64_decode(value);
        if (!raw) {
          c.error(kv.second, path, "not base64 (a Secret's data is; put plain text in stringData)");
          continue;
        }
        value = std::move(*raw);
      }
      d.data[key] = std::move(value);
    }
  };
  add("data", d.secret);
  add("binaryData", true);
  if (d.secret) add("stringData", false);
  return d;
}

// Offset of the first byte that is not valid UTF-8, or of a C0 control character other
// than tab, LF and CR (YAML forbids them); nullopt if none.
std::optional<size_t> first_invalid_byte(std::string_view s) {
  size_t bad = invalid_utf8_at(s);
  for (size_t i = 0; i < std::min(bad, s.size()); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return i;
  }
  if (bad != std::string_view::npos) return bad;
  return std::nullopt;
}

}  // namespace

namespace detail {

void decode_workflow_kind(Ctx& c, const Y& spec, Object& obj) { decode_workflow_spec(c, spec, "spec", obj.spec); }

void decode_cron_kind(Ctx& c, const Y& spec, Object& obj) { decode_cron(c, spec, "spec", obj); }

}  // namespace detail

// Parses YAML (or JSON) text into its documents within `limits` (size, UTF-8, nesting, the
// parser's deadline, the number of documents), or says what is wrong in `diagnostics`.
static std::optional<std::vector<YAML::Node>> load_documents(std::string_view text, const std::string& file,
                                                      const DecodeLimits& limits, Diagnostics& diagnostics) {
  if (text.size() > limits.max_bytes) {
    diagnostics.push_back({SourcePos{file, 0, 0}, "", "larger than " + std::to_string(limits.max_bytes >> 20) + " MiB; refusing to read it"});
    return std::nullopt;
  }
  // YAML and JSON are Unicode text; control characters and bytes that are not UTF-8 are
  // refused here, also because yaml-cpp 0.7 can loop forever on some of them.
  if (auto bad = first_invalid_byte(text)) {
    int line = 1, col = 1;
    for (size_t i = 0; i < *bad; ++i) {
      if (text[i] == '\n') ++line, col = 1;
      else ++col;
    }
    diagnostics.push_back({SourcePos{file, line, col}, "",
                               "not UTF-8 text (a control character or invalid byte); save the file as UTF-8"});
    return std::nullopt;
  }
  // yaml-cpp recurses per nesting level; refuse absurd depth before it parses (brackets
  // in strings count too, hence the generous bound). Block nesting (`- - - x`, indented
  // maps) meets yaml-cpp's own guard, caught below.
  std::string too_deep = "nested more than " + std::to_string(limits.max_depth) + " levels deep";
  int depth = 0, line = 1, column = 0;
  for (char ch : text) {
    ++column;
    if (ch == '\n') {
      ++line;
      column = 0;
    } else if (ch == '[' || ch == '{') {
      if (++depth > limits.max_depth * 4) {
        diagnostics.push_back({SourcePos{file, line, column}, "", too_deep});
        return std::nullopt;
      }
    } else if ((ch == ']' || ch == '}') && depth > 0) {
      --depth;
    }
  }
  // yaml-cpp 0.7 loops forever on some malformed input (a ',' where a document's node
  // should start). Parse on a helper thread and give up after a deadline, so a bad file
  // costs seconds, not a hung process.
  struct Parse {
    std::string text;
    std::vector<YAML::Node> docs;
    std::optional<Diagnostic> error;
    std::promise<void> done;
  };
  auto parse = std::make_shared<Parse>();
  parse->text = std::string(text);
  std::future<void> finished = parse->done.get_future();
  std::thread worker([parse, file, too_deep] {
    try {
      parse->docs = YAML::LoadAll(parse->text);
    } catch (const YAML::DeepRecursion& e) {
      parse->error = Diagnostic{SourcePos{file, e.mark.line + 1, e.mark.column + 1}, "", too_deep};
    } catch (const YAML::Exception& e) {
      parse->error = Diagnostic{SourcePos{file, e.mark.line + 1, e.mark.column + 1}, "", "invalid YAML: " + e.msg};
    }
    parse->done.set_value();
  });
  int64_t deadline_ms = limits.parse_timeout_ms + static_cast<int64_t>(text.size() / 1000);  // +1 s per MB
  if (finished.wait_for(std::chrono::milliseconds(deadline_ms)) != std::future_status::ready) {
    worker.detach();  // it holds only its own copy of the text
    diagnostics.push_back({SourcePos{file, 0, 0}, "",
                               "the YAML parser did not finish within " + std::to_string(deadline_ms / 1000) +
                                   " s; the file is probably malformed (look for a stray ',' at the start of a line)"});
    return std::nullopt;
  }
  worker.join();
  if (parse->error) {
    diagnostics.push_back(*parse->error);
    return std::nullopt;
  }
  if (parse->docs.size() > limits.max_documents) {
    diagnostics.push_back({SourcePos{file, 0, 0}, "", "more than " + std::to_string(limits.max_documents) + " documents"});
    return std::nullopt;
  }
  return std::move(parse->docs);
}

Decoded decode_documents(std::string_view text, const std::string& file, const DecodeLimits& limits) {
  Decoded out;
  Ctx c(file, &out.diagnostics, limits.max_depth);
  auto loaded = load_documents(text, file, limits, out.diagnostics);
  if (!loaded) return out;
  std::vector<YAML::Node> docs = std::move(*loaded);
  // Aliases let a few bytes stand for millions of values; real documents have at most
  // about one value per two bytes of text, so allow that (and at least 100,000).
  size_t budget = std::min(limits.max_nodes, std::max<size_t>(100000, text.size() / 2));
  for (const auto& doc : docs) {
    if (!doc.IsDefined() || doc.IsNull()) continue;
    if (!within_limits(doc, budget, limits.max_depth)) {
      c.error(doc, "", "too large or too deeply nested once YAML aliases are expanded (limits: " +
                           std::to_string(limits.max_nodes) + " values, " + std::to_string(limits.max_depth) +
                           " levels)");
      return out;
    }
    if (!doc.IsMap()) {
      c.error(doc, "", "a document must be a map with apiVersion, kind, metadata and spec");
      continue;
    }
    if (doc["kind"] && doc["kind"].IsScalar() && (doc["kind"].Scalar() == "ConfigMap" || doc["kind"].Scalar() == "Secret")) {
      try {
        if (auto config = decode_config_document(c, doc)) out.configs.push_back(std::move(*config));
      } catch (const YAML::Exception& e) {
        out.diagnostics.push_back({SourcePos{file, e.mark.line + 1, e.mark.column + 1}, "", "invalid YAML: " + e.msg});
      }
      continue;
    }
    Object obj;
    try {
      decode_object(c, doc, obj);
    } catch (const YAML::Exception& e) {
      out.diagnostics.push_back({SourcePos{file, e.mark.line + 1, e.mark.column + 1}, "", "invalid YAML: " + e.msg});
      continue;
    }
    obj.pos.file = file;
    out.objects.push_back(std::move(obj));
  }
  return out;
}

// One loaded document as JSON (the caller skipped empty ones).
static Result<nlohmann::json> document_to_json(const YAML::Node& doc, size_t& budget, const std::string& file,
                                               const DecodeLimits& limits) {
  if (!within_limits(doc, budget, limits.max_depth))
    return invalid(file + ": too large or too deeply nested once YAML aliases are expanded");
  if (!doc.IsMap() && !doc.IsSequence())
    return invalid(file + ":" + std::to_string(doc.Mark().line + 1) +
                   ": is not an object (a map with apiVersion, kind and metadata) or a JSON patch (a list)");
  Diagnostics diagnostics;
  Ctx c(file, &diagnostics, limits.max_depth);
  nlohmann::json json;
  try {
    json = c.json(doc);
  } catch (const YAML::Exception& e) {
    return invalid(file + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  if (!diagnostics.empty()) return invalid(format_all(diagnostics));
  return json;
}

Result<std::string> manifest_to_json(std::string_view text, const std::string& file, const DecodeLimits& limits) {
  Diagnostics diagnostics;
  auto docs = load_documents(text, file, limits, diagnostics);
  if (!docs) return invalid(format_all(diagnostics));
  const YAML::Node* object = nullptr;
  for (const auto& doc : *docs) {
    if (!doc.IsDefined() || doc.IsNull()) continue;
    if (object) return invalid(file + ": holds more than one object; a resource step acts on one (split it into steps)");
    object = &doc;
  }
  if (!object) return invalid(file + ": is empty; give the object to act on (apiVersion, kind, metadata, ...)");
  size_t budget = std::min(limits.max_nodes, std::max<size_t>(100000, text.size() / 2));
  auto json = document_to_json(*object, budget, file, limits);
  if (!json) return json.status();
  return json->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::vector<std::string>> manifests_to_json(std::string_view text, const std::string& file,
                                                   const DecodeLimits& limits) {
  Diagnostics diagnostics;
  auto docs = load_documents(text, file, limits, diagnostics);
  if (!docs) return invalid(format_all(diagnostics));
  // One budget for all documents: aliases in many small documents add up too.
  size_t budget = std::min(limits.max_nodes, std::max<size_t>(100000, text.size() / 2));
  std::vector<std::string> out;
  for (const auto& doc : *docs) {
    if (!doc.IsDefined() || doc.IsNull()) continue;
    auto json = document_to_json(doc, budget, file, limits);
    if (!json) return json.status();
    out.push_back(json->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  return out;
}

Decoded decode_file(const std::string& path, const DecodeLimits& limits) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      Decoded out;
      out.diagnostics.push_back({SourcePos{path, 0, 0}, "", "cannot read the file; check that it exists and is readable"});
      return out;
    }
    in.seekg(0, std::ios::end);
    if (static_cast<size_t>(in.tellg()) > limits.max_bytes) {
      Decoded out;
      out.diagnostics.push_back({SourcePos{path, 0, 0}, "", "larger than " + std::to_string(limits.max_bytes >> 20) + " MiB; refusing to read it"});
      return out;
    }
    in.seekg(0);
    text << in.rdbuf();
  }
  return decode_documents(text.str(), path, limits);
}

Result<Template> decode_template_json(std::string_view json, const SourcePos& pos) {
  Diagnostics diags;
  Ctx c(pos.file, &diags, 64);
  Template t;
  try {
    t = decode_template(c, YAML::Load(std::string(json)), "inline");
  } catch (const YAML::Exception& e) {
    return invalid("inline template: " + e.msg);
  }
  if (!diags.empty()) return invalid("inline template: " + diags[0].path + ": " + diags[0].message);
  t.pos = pos;
  return t;
}

}  // namespace skiff::spec
