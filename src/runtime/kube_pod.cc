#include "runtime/kube_pod.h"

#include <nlohmann/json.hpp>

#include "spec/decode.h"

namespace skiff::runtime {
namespace {

using Json = nlohmann::json;

constexpr const char* kVarVolume = "skiff-var";

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

bool privileged(const spec::Container& c) {
  Json s = object_of(c.security_context_json);
  return s.value("privileged", false) == true;
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

Result<Json> step_pod(const StepRequest& request, const PodOptions& options, const ImageLookup& lookup) {
  const spec::Template& t = request.tmpl;
  const WorkflowContext& wf = *request.workflow;
  if (!t.container) {
    return invalid("template " + t.name + ": the kubernetes executor runs container and script templates " +
                   "(containerSet is not supported on it yet)");
  }
  if (!request.extra_mounts.empty()) {
    return invalid("template " + t.name + ": input artifacts are not supported on the kubernetes executor yet");
  }
  for (const auto& a : t.outputs.artifacts) {
    if (!a.path.empty()) {
      return invalid("template " + t.name + ": outputs.artifacts " + a.name +
                     ": output artifacts are not saved on the kubernetes executor yet");
    }
  }
  if (!request.claims.empty()) {
    return invalid("volumeClaimTemplates (" + request.claims.front().name +
                   "): PersistentVolumeClaims are not made on the kubernetes executor yet; use an existing claim "
                   "under volumes instead");
  }
  if (!options.allow_privileged) {
    bool any = privileged(*t.container);
    for (const auto& c : t.sidecars) any = any || privileged(c);
    for (const auto& c : t.init_containers) any = any || privileged(c);
    if (any) return privileged_not_allowed();
  }
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

  Json volumes = Json::array({{{"name", kVarVolume}, {"emptyDir", Json::object()}}});
  for (const auto& v : request.volumes) {
    Json source = object_of(v.source_json);
    if (source.contains("hostPath") && !options.allow_host_path) {
      return invalid("volume " + v.name + ": hostPath volumes are not allowed on this server; its operator can " +
                     "allow them with --allow-host-path");
    }
    source["name"] = v.name;
    volumes.push_back(std::move(source));
  }
  spec["volumes"] = std::move(volumes);

  const spec::Container& main_c = *t.container;
  Json init = Json::array();
  init.push_back({{"name", "init"},
                  {"image", options.emissary_image},
                  {"imagePullPolicy", options.emissary_pull_policy},
                  {"command", {"/bin/skiff-emissary", "init", kEmissaryDir}},
                  {"volumeMounts", {var_mount()}}});
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
  if (!main_c.source.empty()) settings["script"] = main_c.source;

  Json containers = Json::array();
  containers.push_back({{"name", "wait"},
                        {"image", options.emissary_image},
                        {"imagePullPolicy", options.emissary_pull_policy},
                        {"command", {emissary(), "wait"}},
                        {"env", {{{"name", "SKIFF_EMISSARY"}, {"value", Json{{"dir", kEmissaryDir}}.dump()}}}},
                        {"volumeMounts", {var_mount()}}});
  spec::Container named = main_c;
  named.name = "main";
  Json main = container_json(named, nullptr);
  if (Status s = wrap(main, "main", named, lookup); !s) return s;
  add_env(main, "SKIFF_EMISSARY", settings.dump());
  containers.push_back(std::move(main));
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

// A reason a container waits with that it will not get over by itself.
bool stuck(const std::string& reason) {
  return reason == "ImagePullBackOff" || reason == "ErrImageNeverPull" || reason == "InvalidImageName" ||
         reason == "CreateContainerConfigError" || reason == "CreateContainerError";
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
        if (stuck(reason)) {
          s.kind = PodState::kFailed;
          s.message = reason + ": " + state["waiting"].value("message", "container " + c.value("name", "") + " cannot start");
          return s;
        }
      }
      if (std::string(list) == "initContainerStatuses" && state.contains("terminated") &&
          state["terminated"].value("exitCode", 0) != 0) {
        const Json& t = state["terminated"];
        s.kind = PodState::kFailed;
        s.message = "init container " + c.value("name", "") + " failed: " + t.value("reason", "Error") +
                    " (exit code " + std::to_string(t.value("exitCode", 0)) + ")";
        if (t.contains("message") && t["message"].is_string() && !t["message"].get<std::string>().empty())
          s.message += ": " + t["message"].get<std::string>();
        return s;
      }
    }
  }
  const Json* main = container_status(pod, "containerStatuses", "main");
  const Json* wait = container_status(pod, "containerStatuses", "wait");
  const bool pod_ended = phase == "Succeeded" || phase == "Failed";
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

StepResult step_result(const std::string& node_id, const PodState& state, const std::string& wait_log) {
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
  if (out.contains("result") && out["result"].is_string()) r.stdout_text = out["result"];
  if (out.contains("parameters") && out["parameters"].is_object())
    for (auto it = out["parameters"].begin(); it != out["parameters"].end(); ++it)
      if (it.value().is_string()) r.output_parameters[it.key()] = it.value();
  return r;
}

}  // namespace skiff::runtime
