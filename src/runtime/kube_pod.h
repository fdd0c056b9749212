// The Pod a step becomes on the Kubernetes executor, and what a Pod's status says about its
// step. No API calls (kube_executor.h makes them); the artifact helpers read and write files.
//
// A step's Pod is Argo's: containers `init` (copies skiff-emissary into the emptyDir
// /var/run/skiff), then the template's initContainers, `wait` (prints the outputs the main
// container left), `main` and the sidecars, each of the last two run through the emissary
// (docs/kubernetes-executor.md).
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/executor.h"
#include "util/status.h"

namespace skiff::runtime {

inline constexpr const char* kEmissaryDir = "/var/run/skiff";
inline constexpr const char* kWorkflowLabel = "workflows.argoproj.io/workflow";
inline constexpr const char* kCompletedLabel = "workflows.argoproj.io/completed";
inline constexpr const char* kNodeNameAnnotation = "workflows.argoproj.io/node-name";
inline constexpr const char* kNodeIdAnnotation = "workflows.argoproj.io/node-id";
inline constexpr const char* kStepAnnotation = "skiff.io/step";  // StepRequest::node_id: "<uid>/<node id>"
inline constexpr const char* kMainContainerAnnotation = "skiff.io/main-container";  // a containerSet's main, if not "main"

struct PodOptions {
  std::string emissary_image;  // holds /bin/skiff-emissary (`skiff image push-self`)
  std::string emissary_pull_policy = "IfNotPresent";
  size_t max_stdout = 256 * 1024;
  size_t max_output_parameter = 256 * 1024;
  int kill_grace_ms = 10000;
  size_t max_artifacts = 8u << 20;  // a step's output artifacts, carried through its wait container's log
  size_t max_inputs = 900u << 10;   // a step's input artifacts, carried in a Secret (1 MiB at most)
  bool allow_host_path = true;
  bool allow_privileged = true;
};

// An image's ENTRYPOINT and CMD (from its registry), for a container that gives no command.
struct ImageCommand {
  std::vector<std::string> entrypoint, cmd;
};
using ImageLookup = std::function<Result<ImageCommand>(const std::string& image)>;

// The Pod of `request` (its namespace the workflow's). kInvalid when the template asks for
// what this executor cannot do or the server does not allow, saying which field.
Result<nlohmann::json> step_pod(const StepRequest& request, const PodOptions& options, const ImageLookup& lookup);

// A volumeClaimTemplate's PersistentVolumeClaim, as Argo names it: "<workflow>-<claim>",
// labelled with the workflow (what volumeClaimGC deletes).
std::string claim_name(const WorkflowContext& workflow, const spec::ClaimTemplate& claim);
nlohmann::json claim_object(const WorkflowContext& workflow, const spec::ClaimTemplate& claim);

// podSpecPatch applied to a Pod spec: a JSON or YAML object merged in, lists of named
// objects (containers, volumes, ...) merged by name, as Kubernetes' strategic merge does.
Status apply_pod_spec_patch(nlohmann::json* spec, const std::string& patch_text);

// What a Pod's status says about its step.
struct PodState {
  enum Kind {
    kWaiting,   // not running yet (scheduling, pulling)
    kRunning,   // main runs: `ip` set; `ready` when its readinessProbe passes (or it has none)
    kMainDone,  // main ended: exit code etc. set; `outputs_ready` once `wait` ended too
    kFailed,    // will never run or finish by itself: `message` says why (pull errors, eviction)
  } kind = kWaiting;
  std::string ip;
  bool ready = false;
  int exit_code = 0;
  std::string reason;               // main's termination reason ("OOMKilled", "Error", ...)
  std::string termination_message;  // main's terminated.message
  bool outputs_ready = false;
  bool deadline = false;  // kFailed past activeDeadlineSeconds: the step Failed (not Error)
  // kFailed in the kubelet's words (a container that cannot start, an eviction): the
  // message gets the Pod's Warning events. Not where Argo's message is exact.
  bool with_events = false;
  std::string message;
};
PodState pod_state(const nlohmann::json& pod);

// The Pod's Warning events ({"items": [...]} as the API lists them), as a node's message
// ends with them: "; events: FailedMount: MountVolume.SetUp failed ...; ...": the last
// `max` distinct ones, oldest first; "" when there are none.
std::string warning_events(const nlohmann::json& events, size_t max = 3);

// The step's result from the `wait` container's log (its last JSON line) and the Pod's
// state: exit code, result, output parameters. A missing or broken line leaves the
// outputs empty and says so in `message` when the step otherwise succeeded.
// Its output artifacts go to `artifacts` as the emissary carried them: {name: {"files":
// [{"path", "mode", "data" (base64) | "dir" | "link"}]} or {"error"}} (save_artifacts()).
StepResult step_result(const std::string& node_id, const PodState& state, const std::string& wait_log,
                       nlohmann::json* artifacts = nullptr);

// Puts the output artifacts step_result() gave under `dir` (one entry per artifact, named as
// it), filling result->artifact_files as the other executors do.
void save_artifacts(const nlohmann::json& artifacts, const std::string& dir, StepResult* result);

// The Secret that carries a step's input artifacts (its extra_mounts, read from this
// machine) into its Pod: "<pod>-inputs", with an `index` the emissary reads. kInvalid when
// they are larger than PodOptions::max_inputs.
std::string inputs_secret_name(const StepRequest& request);
Result<nlohmann::json> inputs_secret(const StepRequest& request, size_t max_bytes);

}  // namespace skiff::runtime
