#include "spec/kinds.h"

#include <strings.h>

namespace skiff::spec {

// The per-kind hooks, defined beside the code they share.
namespace detail {
void decode_workflow_kind(Ctx& c, const YAML::Node& spec, Object& obj);  // decode.cc
void decode_cron_kind(Ctx& c, const YAML::Node& spec, Object& obj);      // decode.cc
void validate_workflow_kind(const Object& obj, const Library& library, Diagnostics& out,
                            const std::vector<std::string>& supplied);  // validate.cc
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

std::string kind_names_text() {
  const auto& kinds = all_kinds();
  std::string out;
  for (size_t i = 0; i < kinds.size(); ++i) {
    if (i > 0) out += i + 1 == kinds.size() ? " or " : ", ";
    out += kinds[i].name;
  }
  return out;
}

}  // namespace skiff::spec
