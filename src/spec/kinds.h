// The registry of kinds: every kind of object skiff reads, keeps and serves, registered
// once (spec/kinds.cc) with what the decoder, the store, the routes and the controllers
// need to know of it — its name, REST plural, apiVersion, scope, where the store keeps it,
// the request field that carries it, and the functions that decode and validate its spec.
//
// Adding a kind is one entry in kinds.cc plus its typed spec in types.h and its decoder and
// validator; decode and the store then know it. Argo CD's Application and AppProject are
// served on Argo CD's own paths (server/app_routes.h), not the object routes. Immutable after start-up; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/diagnostic.h"

namespace YAML {
class Node;
}

namespace skiff::spec {

namespace detail {
class Ctx;  // spec/yaml_tree.h
}
struct Object;
struct Library;

// The workflow kinds first (is_workflow_kind), then Argo CD's.
enum class Kind { kWorkflow, kWorkflowTemplate, kClusterWorkflowTemplate, kCronWorkflow, kApplication, kAppProject };

// Whether `k` is one of the kinds skiff runs or runs from (Workflow ... CronWorkflow), not
// one of Argo CD's (Application, AppProject).
inline bool is_workflow_kind(Kind k) { return k <= Kind::kCronWorkflow; }

// Where the store keeps a kind: workflows have their own tables (a row per node, labels,
// phases); every other kind is a named object with a JSON body.
enum class Storage { kWorkflows, kObjects };

struct KindInfo {
  Kind kind;
  const char* name;         // "CronWorkflow": the document's `kind`, the store's key, messages
  const char* plural;       // "cron-workflows": the REST path segment, as Argo Server's
  const char* api_version;  // "argoproj.io/v1alpha1"
  const char* body_field;   // "cronWorkflow": the request body's field holding the object
  bool namespaced;          // false: cluster-scoped, kept and served with namespace ""
  Storage storage;
  // Decodes the document's `spec` node (JSON path "spec") into `obj` (decode.cc).
  void (*decode_spec)(detail::Ctx& c, const YAML::Node& spec, Object& obj);
  // Appends what `argo lint` finds wrong with a decoded object (validate.cc).
  void (*validate)(const Object& obj, const Library& library, Diagnostics& out,
                   const std::vector<std::string>& supplied);
};

// Every registered kind, in the order of the enum.
const std::vector<KindInfo>& all_kinds();
const KindInfo& kind_info(Kind k);
const char* kind_name(Kind k);  // kind_info(k).name

// The kind named `name` exactly as a document spells it ("CronWorkflow"); with
// `ignore_case`, also as Argo's submit API takes it ("cronworkflow"). nullptr: none.
const KindInfo* find_kind(std::string_view name, bool ignore_case = false);

// "Workflow, WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow", for messages about
// what skiff runs; with `with_cd_kinds`, "..., CronWorkflow, Application or AppProject".
std::string kind_names_text(bool with_cd_kinds = false);

}  // namespace skiff::spec
