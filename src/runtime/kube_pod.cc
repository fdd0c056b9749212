#include "runtime/kube_pod.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "runtime/step_plan.h"
#include "spec/decode.h"
#include "util/base64.h"

namespace skiff::runtime {
namespace {

using Json = nlohmann::json;

constexpr const char* kVarVolume = "skiff-var";
constexpr const char* kInputsVolume = "skiff-inputs";
constexpr const char* kInputsDir = "/var/run/skiff-inputs";

Json object_of(const std::string& text) {
  if (text.empty()) return Json::object();
  Json j = Json::parse(text, nullptr, false);
  return j.is_object() ? j : Json::object();
}

Json json_or_null(const std::string& text) {
  if (text.empty()) return Json();
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json() : j;
}

Json var_mount() { return {{"name", kVarVolume}, {"mountPath", kEmissaryDir}}; }

std::string emissary() { return std::string(kEmissaryDir) + "/skiff-emissary"; }

// A container as the Pod spec writes it, its command left to the caller.
Json container_json(const spec::Container& c, const std::vector<spec::VolumeMount>* mirrored) {
  Json j = {{"name", c.name}, {"image", c.image}};
  if (!c.image_pull_policy.empty()) j["imagePullPolicy"] = c.image_pull_policy;
  if (!c.command.empty()) j["command"] = c.command;
  if (!c.args.empty()) j["args"] = c.args;
  if (!c.working_dir.empty()) j["workingDir"] = c.working_dir;
  Json env = Json::array();
  for (const auto& e : c.env) {
    Json v = {{"name", e.name}};
    if (e.value) v["value"] = *e.value;
    else if (Json from = json_or_null(e.value_from_json); !from.is_null()) v["valueFrom"] = from;
    env.push_back(std::move(v));
  }
  if (!env.empty()) j["env"] = std::move(env);
  if (Json from = json_or_null(c.env_from_json); from.is_array()) j["envFrom"] = from;
  Json mounts = Json::array();
  auto add_mounts = [&](const std::vector<spec::VolumeMount>& list) {
    for (const auto& m : list) {
      Json mj = {{"name", m.name}, {"mountPath", m.mount_path}};
      if (!m.sub_path.empty()) mj["subPath"] = m.sub_path;
      if (m.read_only) mj["readOnly"] = true;
      mounts.push_back(std::move(mj));
    }
  };
  add_mounts(c.volume_mounts);
  if (mirrored) add_mounts(*mirrored);
  if (!mounts.empty()) j["volumeMounts"] = std::move(mounts);
  if (Json r = json_or_null(c.resources_json); r.is_object()) j["resources"] = r;
  if (Json s = json_or_null(c.security_context_json); s.is_object()) j["securityContext"] = s;
  if (Json p = json_or_null(c.ports_json); p.is_array()) j["ports"] = p;
  if (Json p = json_or_null(c.readiness_probe_json); p.is_object()) j["readinessProbe"] = p;
  if (!c.termination_message_path.empty()) j["terminationMessagePath"] = c.termination_message_path;
  if (!c.termination_message_policy.empty()) j["terminationMessagePolicy"] = c.termination_message_policy;
  return j;
}

// What the server does not allow (ExecutorOptions::allow_host_path, allow_privileged), in
// the Pod as it will be made: after podSpecPatch, which could add any of it.
Status check_allowed(const Json& spec, const PodOptions& options) {
  if (!options.allow_host_path) {
    for (const auto& v : spec.value("volumes", Json::array()))
      if (v.is_object() && v.contains("hostPath"))
        return invalid("volume " + v.value("name", std::string()) +
                       ": hostPath volumes are not allowed on this server; its operator can allow them with "
                       "--allow-host-path");
  }
  if (!options.allow_privileged) {
    for (const char* field : {"hostPID", "hostIPC"})
      if (spec.value(field, false) == true)
        return invalid(std::string(field) + ": not allowed on this server (it shows the node's processes to the "
                       "step); its operator can allow it with --allow-privileged");
    for (const char* list : {"containers", "initContainers"})
      for (const auto& c : spec.value(list, Json::array()))
        if (c.is_object() && c.value("securityContext", Json::object()).value("privileged", false) == true)
          return privileged_not_allowed();
  }
  return Status::ok();
}

// Runs `c` through the emissary in `mode` ("main", "sidecar"): its command becomes the
// emissary's arguments.
Status wrap(Json& container, const std::string& mode, const spec::Container& c, const ImageLookup& lookup) {
  const bool script = !c.source.empty();
  std::vector<std::string> argv;
  if (!c.command.empty()) {
    argv = c.command;
    argv.insert(argv.end(), c.args.begin(), c.args.end());
  } else if (script) {
    argv = {"sh"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
  } else {
    // Kubernetes' rule: no command runs the image's ENTRYPOINT, with args in place of CMD.
    auto image = lookup ? lookup(c.image) : Result<ImageCommand>(Status(Code::kUnavailable, "no registry client"));
    if (!image) {
      return invalid("container " + c.name + " gives no command, and the entrypoint of image " + c.image +
                     " could not be read: " + image.status().message());
    }
    argv = image->entrypoint;
    const auto& tail = c.args.empty() ? image->cmd : c.args;
    argv.insert(argv.end(), tail.begin(), tail.end());
    if (argv.empty()) {
      return invalid("container " + c.name + " has no command: neither the template nor image " + c.image +
                     " (ENTRYPOINT/CMD) gives one");
    }
  }
  container["command"] = {emissary(), mode, "--"};
  for (auto& a : argv) container["command"].push_back(std::move(a));
  container.erase("args");
  Json mounts = container.value("volumeMounts", Json::array());
  mounts.push_back(var_mount());
  container["volumeMounts"] = std::move(mounts);
  return Status::ok();
}

void add_env(Json& container, const std::string& name, const std::string& value) {
  if (!container.contains("env")) container["env"] = Json::array();
  container["env"].push_back({{"name", name}, {"value", value}});
}

// Strategic merge, as far as a Pod spec needs: objects key by key, lists of named objects
// by name, anything else replaced; null deletes.
void strategic_merge(Json& target, const Json& patch) {
  if (patch.is_array() && target.is_array() && !patch.empty() &&
      std::all_of(patch.begin(), patch.end(), [](const Json& e) { return e.is_object() && e.contains("name"); })) {
    for (const auto& item : patch) {
      bool merged = false;
      for (auto& existing : target) {
        if (existing.is_object() && existing.value("name", Json()) == item["name"]) {
          strategic_merge(existing, item);
          merged = true;
        }
      }
      if (!merged) target.push_back(item);
    }
    return;
  }
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = Json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.value().is_null()) target.erase(it.key());
    else strategic_merge(target[it.key()], it.value());
  }
}

}  // namespace

Status apply_pod_spec_patch(Json* spec, const std::string& patch_text) {
  auto json = spec::manifest_to_json(patch_text, "podSpecPatch");
  if (!json) return json.status();
  Json patch = Json::parse(*json, nullptr, false);
  if (!patch.is_object()) return invalid("podSpecPatch must be an object, like {\"containers\": [...]}");
  strategic_merge(*spec, patch);
  return Status::ok();
}

std::string inputs_secret_name(const StepRequest& request) { return request.pod_name + "-inputs"; }

std::string claim_name(const WorkflowContext& workflow, const spec::ClaimTemplate& claim) {
  return workflow.name + "-" + claim.name;
}

Json claim_object(const WorkflowContext& workflow, const spec::ClaimTemplate& claim) {
  Json source = object_of(claim.source_json);
  Json meta = source.value("metadata", Json::object());
  meta["name"] = claim_name(workflow, claim);
  meta["namespace"] = workflow.namespace_;
  meta["labels"][kWorkflowLabel] = workflow.name;
  meta.erase("generateName");
  return {{"apiVersion", "v1"},
          {"kind", "PersistentVolumeClaim"},
          {"metadata", std::move(meta)},
          {"spec", source.value("spec", Json::object())}};
}

Result<Json> step_pod(const StepRequest& request, const PodOptions& options, const ImageLookup& lookup) {
  const spec::Template& t = request.tmpl;
  const WorkflowContext& wf = *request.workflow;
  // A containerSet: its main container as the step's (plan_container_set() picks it), the
  // others beside it, each run through the emissary after its dependencies.
  std::optional<ContainerSetPlan> set;
  if (t.container_set) {
    auto plan = plan_container_set(request);
    if (!plan) return plan.status();
    set = std::move(*plan);
  } else if (!t.container) {
    return invalid("template " + t.name + ": the kubernetes executor runs container, script and containerSet templates");
  }
  const spec::Container& main_c = set ? *set->main_request.tmpl.container : *t.container;
  Json pod_fields = object_of(t.pod.json);

  Json metadata = {{"name", request.pod_name}, {"namespace", wf.namespace_}};
  Json labels = {{kWorkflowLabel, wf.name}, {kCompletedLabel, "false"}};
  Json annotations = {{kStepAnnotation, request.node_id}};
  if (!request.node_name.empty()) annotations[kNodeNameAnnotation] = request.node_name;
  size_t slash = request.node_id.find('/');
  annotations[kNodeIdAnnotation] = slash == std::string::npos ? request.node_id : request.node_id.substr(slash + 1);
  auto add_meta = [&](const Json& m) {
    if (!m.is_object()) return;
    for (const char* key : {"labels", "annotations"}) {
      if (!m.contains(key) || !m[key].is_object()) continue;
      Json& into = std::string(key) == "labels" ? labels : annotations;
      for (auto it = m[key].begin(); it != m[key].end(); ++it)
        if (it.value().is_string() && !into.contains(it.key())) into[it.key()] = it.value();
    }
  };
  add_meta(pod_fields.value("metadata", Json()));
  Json tmpl_meta = {{"labels", t.metadata.labels}, {"annotations", t.metadata.annotations}};
  add_meta(tmpl_meta);
  metadata["labels"] = std::move(labels);
  metadata["annotations"] = std::move(annotations);

  Json spec = {{"restartPolicy", "Never"}};
  // Pod-level fields by their Pod spec names (spec/pod.h), but for those placed here.
  for (auto it = pod_fields.begin(); it != pod_fields.end(); ++it) {
    const std::string& k = it.key();
    if (k == "metadata" || k == "podSpecPatch" || k == "executor") continue;
    spec[k] = it.value();
  }
  if (wf.host_network && !spec.contains("hostNetwork")) spec["hostNetwork"] = true;
  if (!spec.contains("imagePullSecrets") && !wf.image_pull_secrets.empty()) {
    Json secrets = Json::array();
    for (const auto& s : wf.image_pull_secrets) secrets.push_back({{"name", s}});
    spec["imagePullSecrets"] = std::move(secrets);
  }
  if (!t.active_deadline_seconds.empty()) {
    try {
      size_t used = 0;
      long long secs = std::stoll(t.active_deadline_seconds, &used);
      if (used == t.active_deadline_seconds.size() && secs > 0) spec["activeDeadlineSeconds"] = secs;
    } catch (const std::exception&) {
      // not a number: the engine's own deadline applies (it resolved and enforces it)
    }
  }

  // The volumes its containers mount, as Argo adds them (an unused claim is not tied to it).
  std::set<std::string> mounted;
  auto note_mounts = [&](const spec::Container& c) {
    for (const auto& m : c.volume_mounts) mounted.insert(m.name);
  };
  note_mounts(main_c);
  if (set)
    for (const auto& m : set->members) note_mounts(*m.request.tmpl.container);
  for (const auto& c : t.sidecars) note_mounts(c);
  for (const auto& c : t.init_containers) note_mounts(c);
  Json volumes = Json::array({{{"name", kVarVolume}, {"emptyDir", Json::object()}}});
  for (const auto& c : request.claims) {
    if (!mounted.count(c.name)) continue;
    volumes.push_back({{"name", c.name}, {"persistentVolumeClaim", {{"claimName", claim_name(wf, c)}}}});
  }
  for (const auto& v : request.volumes) {
    if (!mounted.count(v.name)) continue;
    Json source = object_of(v.source_json);
    source["name"] = v.name;
    volumes.push_back(std::move(source));
  }
  spec["volumes"] = std::move(volumes);

  Json init = Json::array();
  Json init_container = {{"name", "init"},
                         {"image", options.emissary_image},
                         {"imagePullPolicy", options.emissary_pull_policy},
                         {"command", {"/bin/skiff-emissary", "init", kEmissaryDir}},
                         {"volumeMounts", {var_mount()}}};
  if (!request.extra_mounts.empty()) {
    // Input artifacts: the Secret input_secret() made, put in place by the emissary.
    spec["volumes"].push_back({{"name", kInputsVolume}, {"secret", {{"secretName", inputs_secret_name(request)}}}});
    init_container["command"].push_back(kInputsDir);
    init_container["volumeMounts"].push_back({{"name", kInputsVolume}, {"mountPath", kInputsDir}, {"readOnly", true}});
  }
  init.push_back(std::move(init_container));
  for (const auto& c : t.init_containers) {
    init.push_back(container_json(c, c.mirror_volume_mounts ? &main_c.volume_mounts : nullptr));
  }
  spec["initContainers"] = std::move(init);

  Json settings = {{"dir", kEmissaryDir},
                   {"stdoutMax", options.max_stdout},
                   {"parameterMax", options.max_output_parameter},
                   {"graceMs", options.kill_grace_ms}};
  Json outputs = Json::array();
  for (const auto& p : t.outputs.parameters)
    if (p.value_from && !p.value_from->path.empty()) outputs.push_back({{"name", p.name}, {"path", p.value_from->path}});
  settings["outputs"] = std::move(outputs);
  Json artifacts = Json::array();
  for (const auto& a : t.outputs.artifacts)
    if (!a.path.empty()) artifacts.push_back({{"name", a.name}, {"path", a.path}});
  if (!artifacts.empty()) {
    settings["artifacts"] = std::move(artifacts);
    settings["artifactMax"] = options.max_artifacts;
  }
  if (!main_c.source.empty()) settings["script"] = main_c.source;
  Json wait_settings = {{"dir", kEmissaryDir}};
  if (set) {
    settings["name"] = set->main_name;
    settings["after"] = set->main_dependencies;
    settings["retries"] = set->retries;
    settings["retryMs"] = set->retry_delay_ms;
    Json members = Json::array();
    for (const auto& m : set->members) members.push_back(m.name);
    settings["waitFor"] = members;  // main runs last, as skiff's other executors run it
    members.push_back(set->main_name);  // last: the step's result looks at the others first
    wait_settings["members"] = std::move(members);
  }

  Json containers = Json::array();
  containers.push_back({{"name", "wait"},
                        {"image", options.emissary_image},
                        {"imagePullPolicy", options.emissary_pull_policy},
                        {"command", {emissary(), "wait"}},
                        {"env", {{{"name", "SKIFF_EMISSARY"}, {"value", wait_settings.dump()}}}},
                        {"volumeMounts", {var_mount()}}});
  spec::Container named = main_c;
  named.name = set ? set->main_name : "main";
  Json main = container_json(named, nullptr);
  if (Status s = wrap(main, "main", named, lookup); !s) return s;
  for (size_t i = 0; i < request.extra_mounts.size(); ++i) {
    main["volumeMounts"].push_back({{"name", kVarVolume},
                                    {"mountPath", request.extra_mounts[i].target},
                                    {"subPath", "inputs/" + std::to_string(i)}});
  }
  add_env(main, "SKIFF_EMISSARY", settings.dump());
  if (t.daemon && !main.contains("readinessProbe")) {
    // A daemon is up once its command runs (not merely the emissary before it): dependents
    // wait for that, as on the other executors.
    main["readinessProbe"] = {{"exec", {{"command", {emissary(), "ready"}}}}, {"periodSeconds", 1}};
  }
  containers.push_back(std::move(main));
  if (set) {
    for (const auto& m : set->members) {
      spec::Container c = *m.request.tmpl.container;
      c.name = m.name;
      Json mc = container_json(c, nullptr);
      if (Status s = wrap(mc, "member", c, lookup); !s) return s;
      Json member_settings = {{"dir", kEmissaryDir}, {"name", m.name}, {"after", m.dependencies},
                              {"retries", set->retries}, {"retryMs", set->retry_delay_ms}};
      add_env(mc, "SKIFF_EMISSARY", member_settings.dump());
      containers.push_back(std::move(mc));
    }
    metadata["annotations"][kMainContainerAnnotation] = set->main_name;
  }
  Json side_settings = {{"dir", kEmissaryDir}, {"graceMs", options.kill_grace_ms}};
  for (const auto& c : t.sidecars) {
    Json sc = container_json(c, c.mirror_volume_mounts ? &main_c.volume_mounts : nullptr);
    if (Status s = wrap(sc, "sidecar", c, lookup); !s) return s;
    add_env(sc, "SKIFF_EMISSARY", side_settings.dump());
    containers.push_back(std::move(sc));
  }
  spec["containers"] = std::move(containers);

  if (pod_fields.contains("podSpecPatch")) {
    const Json& p = pod_fields["podSpecPatch"];
    for (const auto& text : p.is_array() ? p : Json::array({p})) {
      if (!text.is_string()) return invalid("podSpecPatch must be a string (JSON or YAML)");
      if (Status s = apply_pod_spec_patch(&spec, text.get<std::string>()); !s) return s;
    }
  }
  if (Status s = check_allowed(spec, options); !s) return s;
  return Json{{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", std::move(metadata)}, {"spec", std::move(spec)}};
}

namespace {

const Json* container_status(const Json& pod, const char* list, const std::string& name) {
  if (!pod.contains("status") || !pod["status"].is_object()) return nullptr;
  const Json& status = pod["status"];
  if (!status.contains(list) || !status[list].is_array()) return nullptr;
  for (const auto& c : status[list])
    if (c.value("name", "") == name) return &c;
  return nullptr;
}

// A reason a container waits with that it will not get over by itself. A pull that failed
// is retried by the kubelet: only one the registry refused (no such image, no access) is
// final; others (the kubelet's pull QPS, a registry restarting) wait, as on any cluster.
bool stuck(const std::string& reason, const std::string& message) {
  if (reason == "ImagePullBackOff" || reason == "ErrImagePull") {
    for (const char* final : {"not found", "NotFound", "unauthorized", "denied", "Unauthorized", "forbidden"})
      if (message.find(final) != std::string::npos) return true;
    return false;
  }
  return reason == "ErrImageNeverPull" || reason == "InvalidImageName" || reason == "CreateContainerConfigError" ||
         reason == "CreateContainerError";
}

}  // namespace

PodState pod_state(const Json& pod) {
  PodState s;
  const Json status = pod.value("status", Json::object());
  const std::string phase = status.value("phase", "");
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    if (!status.contains(list) || !status[list].is_array()) continue;
    for (const auto& c : status[list]) {
      const Json state = c.value("state", Json::object());
      if (state.contains("waiting")) {
        std::string reason = state["waiting"].value("reason", "");
        if (stuck(reason, state["waiting"].value("message", ""))) {
          s.kind = PodState::kFailed;
          s.with_events = true;
          s.message = reason + ": " + state["waiting"].value("message", "container " + c.value("name", "") + " cannot start");
          return s;
        }
      }
      if (std::string(list) == "initContainerStatuses" && state.contains("terminated") &&
          state["terminated"].value("exitCode", 0) != 0) {
        const Json& t = state["terminated"];
        s.kind = PodState::kFailed;
        if (c.value("name", "") != "init") {
          s.message = "failed to load artifacts";  // Argo's words for any failed init container
          return s;
        }
        s.with_events = true;
        s.message = "skiff's init container failed: " + t.value("reason", "Error") + " (exit code " +
                    std::to_string(t.value("exitCode", 0)) + ")";
        if (t.contains("message") && t["message"].is_string() && !t["message"].get<std::string>().empty())
          s.message += ": " + t["message"].get<std::string>();
        return s;
      }
    }
  }
  std::string main_name = "main";  // a containerSet's main may be named otherwise
  if (pod.contains("metadata") && pod["metadata"].contains("annotations") &&
      pod["metadata"]["annotations"].contains(kMainContainerAnnotation))
    main_name = pod["metadata"]["annotations"][kMainContainerAnnotation].get<std::string>();
  const Json* main = container_status(pod, "containerStatuses", main_name);
  const Json* wait = container_status(pod, "containerStatuses", "wait");
  const bool pod_ended = phase == "Succeeded" || phase == "Failed";
  if (status.value("reason", "") == "DeadlineExceeded") {
    // Past the Pod's activeDeadlineSeconds (whether or not main had ended by then): the
    // step Failed with the kubelet's words, as Argo reports it (and as skiff's own deadline).
    s.kind = PodState::kFailed;
    s.deadline = true;
    s.message = status.value("message", std::string("Pod was active on the node longer than the specified deadline"));
    return s;
  }
  if (main && main->contains("state") && (*main)["state"].contains("terminated")) {
    const Json& t = (*main)["state"]["terminated"];
    s.kind = PodState::kMainDone;
    s.exit_code = t.value("exitCode", 0);
    s.reason = t.value("reason", "");
    s.termination_message = t.value("message", "");
    s.outputs_ready = pod_ended || (wait && wait->contains("state") && (*wait)["state"].contains("terminated"));
    s.ip = status.value("podIP", "");
    return s;
  }
  if (pod_ended || status.value("reason", "") == "Evicted") {
    // Ended without main ending: evicted, past activeDeadlineSeconds, or its node lost.
    s.kind = PodState::kFailed;
    s.with_events = true;
    std::string reason = status.value("reason", "");
    std::string message = status.value("message", "");
    s.message = reason.empty() ? "the pod ended before its main container ran" : reason;
    if (!message.empty()) s.message = reason.empty() ? message : reason + ": " + message;
    return s;
  }
  if (main && main->contains("state") && (*main)["state"].contains("running")) {
    s.kind = PodState::kRunning;
    s.ip = status.value("podIP", "");
    s.ready = main->value("ready", false);
  }
  return s;
}

std::string warning_events(const nlohmann::json& events, size_t max) {
  // (when, text) of each Warning; RFC 3339 times sort as text.
  std::vector<std::pair<std::string, std::string>> warnings;
  for (const auto& e : events.value("items", Json::array())) {
    if (!e.is_object() || e.value("type", "") != "Warning") continue;
    std::string when;
    for (const char* key : {"lastTimestamp", "eventTime", "firstTimestamp"}) {
      if (e.contains(key) && e[key].is_string()) {
        when = e[key].get<std::string>();
        break;
      }
    }
    std::string text = e.value("reason", "") + ": " + e.value("message", "");
    if (text.size() > 512) text = text.substr(0, 509) + "...";
    warnings.emplace_back(std::move(when), std::move(text));
  }
  std::stable_sort(warnings.begin(), warnings.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> kept;  // a repeated event counts once, where it last came
  for (auto& [when, text] : warnings) {
    std::erase(kept, text);
    kept.push_back(std::move(text));
  }
  if (kept.size() > max) kept.erase(kept.begin(), kept.end() - static_cast<std::ptrdiff_t>(max));
  std::string out;
  for (const auto& text : kept) out += (out.empty() ? "; events: " : "; ") + text;
  return out;
}

StepResult step_result(const std::string& node_id, const PodState& state, const std::string& wait_log,
                       Json* artifacts) {
  StepResult r;
  r.node_id = node_id;
  r.exit_code = state.exit_code;
  if (state.reason == "OOMKilled") r.reason = state.reason;
  r.termination_message = state.termination_message;
  // The last line that is a JSON object: what `skiff-emissary wait` printed.
  Json out;
  size_t end = wait_log.size();
  while (end > 0) {
    size_t start = wait_log.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    Json j = Json::parse(wait_log.substr(start, end - start), nullptr, false);
    if (j.is_object()) {
      out = std::move(j);
      break;
    }
    if (start == 0) break;
    end = start - 1;
  }
  if (!out.is_object()) {
    if (r.exit_code == 0) r.message = "the step's outputs could not be read from its pod's wait container";
    return r;
  }
  if (out.contains("error") && out["error"].is_string()) {
    r.error = true;
    r.message = out["error"];
  }
  if (out.value("reason", "") == "OOMKilled") r.reason = "OOMKilled";  // the emissary saw the cgroup's OOM kill
  if (out.contains("result") && out["result"].is_string()) r.stdout_text = out["result"];
  if (artifacts && out.contains("artifacts") && out["artifacts"].is_object()) *artifacts = std::move(out["artifacts"]);
  if (out.contains("containers") && out["containers"].is_array()) {
    // containerSet: each container as it ended; when main did not run, the first that
    // failed fails the step, as Argo's pod fails.
    r.containers_json = out["containers"].dump();
    if (out.contains("skipped") || (r.exit_code == 0 && !r.error)) {
      for (const auto& c : out["containers"]) {  // main's last
        if (!c.is_object() || c.value("phase", "") == "Succeeded") continue;
        int code = c.contains("exitCode") && c["exitCode"].is_number_integer() ? c["exitCode"].get<int>() : -1;
        r.exit_code = code > 0 ? code : 1;
        if (code <= 0) r.message = c.value("name", "") + ": " + c.value("message", "");
        break;
      }
    }
  }
  if (out.contains("parameters") && out["parameters"].is_object())
    for (auto it = out["parameters"].begin(); it != out["parameters"].end(); ++it)
      if (it.value().is_string()) r.output_parameters[it.key()] = it.value();
  return r;
}

}  // namespace skiff::runtime

namespace skiff::runtime {
namespace {

bool safe_relative(const std::string& rel) {
  return rel.empty() || (rel[0] != '/' && ("/" + rel + "/").find("/../") == std::string::npos &&
                         ("/" + rel + "/").find("/./") == std::string::npos);
}

Status read_whole(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kNotFound, "cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return Status::ok();
}

}  // namespace

Result<Json> inputs_secret(const StepRequest& request, size_t max_bytes) {
  Json index = Json::array(), data = Json::object();
  size_t total = 0;
  int keys = 0;
  std::function<Status(const std::string&, const std::string&, int)> walk =
      [&](const std::string& path, const std::string& rel, int depth) -> Status {
    if (depth > 64) return invalid("input artifact " + path + " nests too deep");
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return invalid("input artifact " + path + " is gone");
    if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      auto target = std::filesystem::read_symlink(path, ec);
      if (!ec) index.push_back({{"path", rel}, {"link", target.string()}});
      return Status::ok();
    }
    if (S_ISDIR(st.st_mode)) {
      index.push_back({{"path", rel}, {"dir", true}, {"mode", st.st_mode & 07777}});
      std::vector<std::string> names;
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator(path, ec)) names.push_back(e.path().filename().string());
      std::sort(names.begin(), names.end());
      for (const auto& n : names)
        if (Status s = walk(path + "/" + n, rel + "/" + n, depth + 1); !s) return s;
      return Status::ok();
    }
    if (!S_ISREG(st.st_mode)) return Status::ok();
    total += static_cast<size_t>(st.st_size);
    if (total > max_bytes) {
      return invalid("the step's input artifacts are larger than the " + std::to_string(max_bytes / 1024) +
                     " KiB the kubernetes executor carries into a Pod (in a Secret); pass large inputs on a volume");
    }
    std::string content;
    if (Status s = read_whole(path, &content); !s) return s;
    std::string key = "f" + std::to_string(keys++);
    data[key] = base64_encode(content);
    index.push_back({{"key", key}, {"path", rel}, {"mode", st.st_mode & 07777}});
    return Status::ok();
  };
  for (size_t i = 0; i < request.extra_mounts.size(); ++i)
    if (Status s = walk(request.extra_mounts[i].source, std::to_string(i), 0); !s) return s;
  data["index"] = base64_encode(index.dump());
  const WorkflowContext& wf = *request.workflow;
  return Json{{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"type", "Opaque"},
              {"metadata",
               {{"name", inputs_secret_name(request)},
                {"namespace", wf.namespace_},
                {"labels", {{kWorkflowLabel, wf.name}}}}},
              {"data", std::move(data)}};
}

void save_artifacts(const Json& artifacts, const std::string& dir, StepResult* result) {
  for (auto it = artifacts.begin(); it != artifacts.end(); ++it) {
    const std::string& name = it.key();
    const Json& a = it.value();
    if (!a.is_object() || a.contains("error")) {
      result->artifact_files[name] = "!" + (a.is_object() ? a.value("error", std::string("unreadable")) : "unreadable");
      continue;
    }
    std::string root = dir + "/" + name;
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
    std::filesystem::create_directories(dir, ec);
    std::string failed;
    for (const auto& f : a.value("files", Json::array())) {
      std::string rel = f.value("path", "");
      if (!safe_relative(rel)) {
        failed = "path " + rel + " leaves the artifact";
        break;
      }
      std::string path = rel.empty() ? root : root + "/" + rel;
      auto mode = static_cast<std::filesystem::perms>(f.value("mode", 0644) & 0777);
      if (f.value("dir", false)) {
        std::filesystem::create_directories(path, ec);
      } else if (f.contains("link") && f["link"].is_string()) {
        std::filesystem::create_symlink(f["link"].get<std::string>(), path, ec);
        continue;
      } else {
        auto bytes = base64_decode(f.value("data", ""));
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        if (!bytes || !out) {
          failed = "cannot write " + path;
          break;
        }
        out << *bytes;
      }
      std::filesystem::permissions(path, mode, ec);
    }
    result->artifact_files[name] = failed.empty() ? root : "!" + failed;
  }
}

}  // namespace skiff::runtime
