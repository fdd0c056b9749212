// Argo object types: Workflow, WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow
// (the kinds registered in spec/kinds.h).
//
// Plain data, decoded by spec/decode.h and checked by spec/validate.h. Field names follow
// Argo's JSON names in snake_case. Values that Argo lets be "int or string" (retry limits,
// deadlines) are kept as the user's text so that `{{...}}` in them can be resolved at run
// time. Kubernetes sub-objects skiff passes through without interpreting them yet
// (resources, securityContext, volume sources) are kept as compact JSON text in `*_json`
// fields; so are the pod-level fields (PodFields, listed in spec/pod.h). Every struct that
// a diagnostic can point at carries its SourcePos.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "spec/application.h"
#include "spec/kinds.h"
#include "util/diagnostic.h"

namespace skiff::spec {

// --- parameters and arguments ----------------------------------------------------------

struct ValueFrom {
  std::string path;        // outputs: file to read inside the step
  std::string expression;  // outputs: {{=...}}-style expression evaluated by the engine
  std::string parameter;   // outputs of DAG/steps: "{{tasks.a.outputs.parameters.x}}"
  std::string json_path;
  std::string jq_filter;
  std::string event;
  std::string supplied;  // "{}" when supplied: {} (suspend inputs); empty otherwise
  std::string config_map_key_ref_json;
  std::optional<std::string> default_value;
};

struct Parameter {
  std::string name;
  std::optional<std::string> value;          // scalars are kept as text; objects as JSON text
  std::optional<std::string> default_value;  // "default"
  std::vector<std::string> enum_values;      // "enum"
  std::optional<ValueFrom> value_from;
  std::string global_name;
  std::string description;
  SourcePos pos;
};

// How an output artifact is stored: Argo's `archive` (tar with gzip unless told otherwise).
enum class ArchiveKind { kTar, kNone, kZip };

struct Artifact {
  std::string name;
  std::string path;
  std::string from;
  std::string from_expression;  // fromExpression
  std::string global_name;
  std::string sub_path;         // subPath: a part of the artifact (inputs) or of the repository key
  std::optional<int> mode;      // mode: permissions of the files given to the step
  bool optional = false;
  ArchiveKind archive = ArchiveKind::kTar;
  int compression_level = -1;   // archive.tar.compressionLevel (-1: gzip's default)
  // Which location the artifact names ("s3", "raw", "http", "git", ... or "" for none):
  // the one key of Argo's ArtifactLocation that is set.
  std::string location_kind;
  std::string artifact_gc;      // artifactGC.strategy ("" = the workflow's)
  std::string source_json;  // the whole artifact object as JSON (s3, git, http, raw, ...)
  SourcePos pos;
};

struct Arguments {
  std::vector<Parameter> parameters;
  std::vector<Artifact> artifacts;
};

struct Inputs {
  std::vector<Parameter> parameters;
  std::vector<Artifact> artifacts;
};

struct Outputs {
  std::vector<Parameter> parameters;
  std::vector<Artifact> artifacts;
  std::string result;     // only in status; not user-written
  std::string exit_code;  // likewise
};

// --- containers ----------------------------------------------------------------------

struct EnvVar {
  std::string name;
  std::optional<std::string> value;
  std::string value_from_json;  // secretKeyRef / configMapKeyRef / fieldRef, as JSON
};

struct VolumeMount {
  std::string name;
  std::string mount_path;
  std::string sub_path;
  bool read_only = false;
};

struct Container {
  std::string name;
  std::string image;
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::vector<EnvVar> env;
  std::string env_from_json;
  std::string working_dir;
  std::vector<VolumeMount> volume_mounts;
  std::string image_pull_policy;
  std::string resources_json;
  std::string security_context_json;
  // readinessProbe and ports as written (JSON): a daemon step is ready once its probe passes.
  std::string readiness_probe_json;
  std::string ports_json;
  std::string source;  // script templates only
  // Where the step may leave a message saying why it ended (read after it exited) and
  // whether its log's tail stands in when it failed without one: File (default) or
  // FallbackToLogsOnError, as in Kubernetes. "" = the defaults (/dev/termination-log, File).
  std::string termination_message_path;
  std::string termination_message_policy;
  bool mirror_volume_mounts = false;  // sidecars: also mount the main container's volumeMounts
  std::vector<std::string> dependencies;  // containerSet members: the containers that run first
  SourcePos pos;
};

struct Volume {
  std::string name;
  std::string source_json;  // the whole volume object (emptyDir, secret, hostPath, ...)
  SourcePos pos;
};

// A volumeClaimTemplate: a PersistentVolumeClaim created for the workflow's lifetime.
struct ClaimTemplate {
  std::string name;
  std::string source_json;
  SourcePos pos;
};

// --- tasks and steps -------------------------------------------------------------------

struct TemplateRef {
  std::string name;      // the WorkflowTemplate's (or ClusterWorkflowTemplate's) name
  std::string template_name;
  bool cluster_scope = false;
};

// One entry of `hooks` (a workflow's, a step's or a DAG task's), as Argo's LifecycleHook:
// the hook named "exit" runs when its node (or the workflow) has ended, as onExit does; any
// other runs once, when its expression first holds while the node (or workflow) runs.
struct LifecycleHook {
  std::string name;        // the key under hooks: "exit", "running", ...
  std::string expression;  // expr-lang, e.g. steps["a"].status == "Running"
  std::string template_name;
  std::optional<TemplateRef> template_ref;
  Arguments arguments;
  SourcePos pos;
};

struct ContinueOn {
  bool error = false;
  bool failed = false;
};

struct Sequence {
  std::string count;  // int or string, may hold {{...}}
  std::string start;
  std::string end;
  std::string format;
};

struct Item {
  std::string json;  // the item as JSON text: "\"a\"", "1", "{\"k\":\"v\"}"
  SourcePos pos;
};

// One DAG task or one step. `dependencies` and `depends` only appear in DAG tasks.
struct Task {
  std::string name;
  std::string template_name;  // "template"
  std::optional<TemplateRef> template_ref;
  std::string inline_template_json;  // "inline": decoded on demand by the engine
  std::map<std::string, SourcePos> not_acted_on;  // as Template::not_acted_on
  Arguments arguments;
  std::vector<std::string> dependencies;
  std::string depends;
  std::string when;
  std::optional<std::vector<Item>> with_items;
  std::string with_param;
  std::optional<Sequence> with_sequence;
  std::optional<ContinueOn> continue_on;
  std::string on_exit;
  std::vector<LifecycleHook> hooks;
  SourcePos pos;
};

struct Dag {
  std::string target;
  std::optional<bool> fail_fast;
  std::vector<Task> tasks;
};

// --- templates ---------------------------------------------------------------------------

enum class TemplateType { kNone, kContainer, kScript, kDag, kSteps, kSuspend, kResource, kData, kContainerSet, kHttp, kPlugin };
const char* template_type_name(TemplateType t);

struct Backoff {
  std::string duration;      // "1s", "2m", or seconds as text
  std::string factor;        // int or string
  std::string max_duration;  // "maxDuration"
};

struct RetryStrategy {
  std::string limit;         // int or string; empty = unlimited when retryStrategy is present
  std::string retry_policy;  // Always | OnFailure (default) | OnError | OnTransientError
  std::optional<Backoff> backoff;
  std::string expression;
  SourcePos pos;
};

// A `containerSet` template: containers of one pod run as a graph (`dependencies`), with
// volumeMounts every one of them gets and a retryStrategy of each container's own.
struct ContainerSet {
  std::vector<Container> containers;
  std::vector<VolumeMount> volume_mounts;
  std::string retries;   // retryStrategy.retries: attempts after the first (int or string)
  std::string duration;  // retryStrategy.duration: the wait between attempts ("1s", "300ms", seconds)
  SourcePos pos;
};

struct Suspend {
  std::string duration;
};

// A `resource` template: an action on a Kubernetes-shaped object (runtime/resource_executor.h).
struct Resource {
  std::string action;             // get | create | apply | delete | replace | patch
  std::string manifest;           // YAML or JSON; may hold {{...}}
  std::string manifest_from_artifact;  // manifestFrom.artifact.name: an input artifact's name
  std::string success_condition;  // Argo's label-selector-like expressions over the object
  std::string failure_condition;
  bool set_owner_reference = false;
  std::string merge_strategy;      // patch: strategic (default) | merge | json
  std::vector<std::string> flags;  // kubectl's flags (those skiff knows: docs/resource-steps.md)
  SourcePos pos;
};

struct Metadata {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

// The pod-level fields of a template or of a workflow spec: where and as whom a step's Pod
// runs, rather than what it runs (spec/pod.h lists them and says which one applies when
// both set one). Typed where skiff's own executors act on the field; the rest is kept as
// written for an executor that makes real Pods. Labels and annotations are in Metadata.
struct PodFields {
  std::string security_context_json;  // the Pod's securityContext (not a container's)
  // Every other pod-level field set, as one JSON object keyed by the Pod spec's names
  // (a workflow's podPriorityClassName is "priorityClassName"); "" when none is set.
  std::string json;
  // Each pod-level field the user set (metadata included), by the name they wrote, and
  // where: what lint's warnings point at.
  std::map<std::string, SourcePos> written;
};

struct Template {
  std::string name;
  TemplateType type = TemplateType::kNone;  // set by the decoder from which field is present
  int type_count = 0;                       // how many type fields were present (lint: exactly 1)
  Inputs inputs;
  Outputs outputs;
  std::optional<bool> archive_logs;  // archiveLocation.archiveLogs (over the workflow's)
  Metadata metadata;

  std::optional<Container> container;  // also holds script templates (with `source`)
  std::optional<Dag> dag;
  std::vector<std::vector<Task>> steps;  // parallel groups run one after another
  std::optional<Suspend> suspend;
  std::optional<Resource> resource;
  std::optional<ContainerSet> container_set;
  std::string other_type_json;  // data / containerSet / http / plugin, kept as JSON

  std::vector<Container> sidecars;
  std::vector<Container> init_containers;
  std::vector<Volume> volumes;
  PodFields pod;
  // Fields skiff accepts but does not act on yet, by name, and where: lint, `skiff run` and
  // the server warn about each (spec/pod.h).
  std::map<std::string, SourcePos> not_acted_on;
  std::optional<RetryStrategy> retry_strategy;
  std::string active_deadline_seconds;  // int or string, may hold {{...}}
  std::string timeout;
  std::optional<int64_t> parallelism;
  std::optional<bool> fail_fast;  // steps' failFast
  bool daemon = false;
  std::string metrics_json;
  std::string memoize_json;
  std::string synchronization_json;  // mutexes and semaphores (spec/synchronization.h)
  SourcePos pos;
};

// spec.templateDefaults (spec/template_defaults.h): a template's fields merged into every
// template, its container and script parts kept apart, each for templates of that type.
struct TemplateDefaults {
  Template fields;  // the rest; fields.container is not used
  std::optional<Container> container;
  std::optional<Container> script;
};

// --- workflows -----------------------------------------------------------------------

struct ObjectMeta {
  std::string name;
  std::string generate_name;
  std::string namespace_;
  std::string uid;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

struct WorkflowTemplateRef {
  std::string name;
  bool cluster_scope = false;
};

struct TtlStrategy {
  std::optional<int64_t> seconds_after_completion;
  std::optional<int64_t> seconds_after_success;
  std::optional<int64_t> seconds_after_failure;
};

struct WorkflowSpec {
  std::string entrypoint;
  Arguments arguments;
  std::vector<Template> templates;
  std::string on_exit;
  std::optional<int64_t> parallelism;
  std::optional<int64_t> priority;  // {{workflow.priority}}; a higher one goes first for locks
  std::string active_deadline_seconds;
  std::vector<Volume> volumes;
  std::vector<ClaimTemplate> volume_claim_templates;
  std::optional<WorkflowTemplateRef> workflow_template_ref;
  // Pod-level fields skiff acts on for the whole workflow (also listed in pod.written).
  std::string service_account_name;     // {{workflow.serviceAccountName}}
  bool host_network = false;
  std::string image_pull_secrets_json;  // [{name: ...}]
  PodFields pod;                        // the defaults of its templates' pod-level fields
  std::map<std::string, SourcePos> not_acted_on;  // as Template::not_acted_on
  Metadata pod_metadata;                // podMetadata: labels and annotations of every Pod
  std::optional<TtlStrategy> ttl_strategy;
  std::string pod_gc_json;
  std::string volume_claim_gc_json;  // {strategy: OnWorkflowSuccess (default) | OnWorkflowCompletion}
  std::string metrics_json;
  std::vector<LifecycleHook> hooks;  // spec.hooks
  std::string synchronization_json;  // the workflow's mutexes and semaphores (spec/synchronization.h)
  std::optional<RetryStrategy> retry_strategy;  // workflow-wide default for templates
  std::optional<TemplateDefaults> template_defaults;
  // artifactRepositoryRef: a key of a ConfigMap in the workflow's namespace that holds the
  // artifact repository (runtime/artifact_config.h); set = given.
  std::optional<std::pair<std::string, std::string>> artifact_repository_ref;  // configMap, key
  std::string artifact_gc;  // artifactGC.strategy: the default of every output artifact
  std::optional<bool> archive_logs;  // archiveLogs: keep each step's log as its main-logs artifact
  bool suspend = false;
  bool shutdown = false;
};

struct CronSpec {
  std::vector<std::string> schedules;  // "schedule" and "schedules" merged
  std::string timezone;
  std::string concurrency_policy;  // Allow | Forbid | Replace
  std::optional<int64_t> starting_deadline_seconds;
  std::optional<int64_t> successful_jobs_history_limit;
  std::optional<int64_t> failed_jobs_history_limit;
  bool suspend = false;
  std::string when;
  std::string stop_strategy_json;
  ObjectMeta workflow_metadata;
  std::string workflow_spec_json;  // spec.workflowSpec as JSON: what each run is created from
};

// One decoded document of any registered kind (spec/kinds.h). `spec` is the workflow spec
// of the kinds that have one: a Workflow's and a template's spec, a CronWorkflow's
// spec.workflowSpec. A kind's own typed spec is an optional member set by its decoder:
// `cron` (CronWorkflow) today, the same way for Application and AppProject next.
struct Object {
  std::string api_version;
  Kind kind = Kind::kWorkflow;
  ObjectMeta metadata;
  WorkflowSpec spec;
  std::optional<CronSpec> cron;
  std::optional<ApplicationSpec> app;         // kind Application
  std::optional<AppProjectSpec> app_project;  // kind AppProject
  std::string source_json;  // the document as the user wrote it, converted to JSON
  SourcePos pos;            // the document's first line
};

// Finds a template by name; nullptr when absent.
const Template* find_template(const WorkflowSpec& spec, const std::string& name);

}  // namespace skiff::spec
