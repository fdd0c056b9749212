#include "spec/kinds.h"

#include <strings.h>

namespace skiff::spec {

// The per-kind hooks, defined beside the code they share.
namespace detail {
void decode_workflow_kind(Ctx& c, const YAML::Node& spec, Object& obj);  // decode.cc
void decode_cron_kind(Ctx& c, const YAML::Node& spec, Object& obj);      // decode.cc
void validate_workflow_kind(const Object& obj, const Library& library, Diagnostics& out,
                            const std::vector<std::string>& supplied);  // validate.cc
void decode_application_kind(Ctx& c, const YAML::Node& spec, Object& obj);  // app_decode.cc
void decode_project_kind(Ctx& c, const YAML::Node& spec, Object& obj);      // app_decode.cc
void validate_cd_kind(const Object& obj, const Library& library, Diagnostics& out,
                      const std::vector<std::string>& supplied);  // app_decode.cc
}  // namespace detail

namespace {

constexpr char kArgo[] = "argoproj.io/v1alpha1";

}  // namespace

const std::vector<KindInfo>& all_kinds() {
  using namespace detail;
  static const std::vector<KindInfo> kKinds = {
      {Kind::kWorkflow, "Workflow", "workflows", kArgo, "workflow", true, Storage::kWorkflows, decode_workflow_kind,
       validate_workflow_kind},
      {Kind::kWorkflowTemplate, "WorkflowTemplate", "workflow-templates", kArgo, "template", true, Storage::kObjects,
       decode_workflow_kind, validate_workflow_kind},
      {Kind::kClusterWorkflowTemplate, "ClusterWorkflowTemplate", "cluster-workflow-templates", kArgo, "template", false,
       Storage::kObjects, decode_workflow_kind, validate_workflow_kind},
      {Kind::kCronWorkflow, "CronWorkflow", "cron-workflows", kArgo, "cronWorkflow", true, Storage::kObjects,
       decode_cron_kind, validate_workflow_kind},
      {Kind::kApplication, "Application", "applications", kArgo, "application", true, Storage::kObjects,
       decode_application_kind, validate_cd_kind},
      {Kind::kAppProject, "AppProject", "projects", kArgo, "project", true, Storage::kObjects, decode_project_kind,
       validate_cd_kind},
  };
  return kKinds;
}

const KindInfo& kind_info(Kind k) { return all_kinds().at(static_cast<size_t>(k)); }

const char* kind_name(Kind k) { return kind_info(k).name; }

const KindInfo* find_kind(std::string_view name, bool ignore_case) {
  for (const KindInfo& k : all_kinds()) {
    std::string_view known = k.name;
    if (name.size() != known.size()) continue;
    if (ignore_case ? ::strncasecmp(name.data(), known.data(), known.size()) == 0 : name == known) return &k;
  }
  return nullptr;
}

std::string kind_names_text(bool with_cd_kinds) {
  std::vector<const char*> names;
  for (const KindInfo& k : all_kinds()) {
    if (with_cd_kinds || is_workflow_kind(k.kind)) names.push_back(k.name);
  }
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace skiff::spec
