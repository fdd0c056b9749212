#include "spec/types.h"

#include "spec/validate.h"

namespace skiff::spec {

const char* template_type_name(TemplateType t) {
  switch (t) {
    case TemplateType::kNone: return "none";
    case TemplateType::kContainer: return "container";
    case TemplateType::kScript: return "script";
    case TemplateType::kDag: return "dag";
    case TemplateType::kSteps: return "steps";
    case TemplateType::kSuspend: return "suspend";
    case TemplateType::kResource: return "resource";
    case TemplateType::kData: return "data";
    case TemplateType::kContainerSet: return "containerSet";
    case TemplateType::kHttp: return "http";
    case TemplateType::kPlugin: return "plugin";
  }
  return "none";
}

const Template* find_template(const WorkflowSpec& spec, const std::string& name) {
  for (const auto& t : spec.templates)
    if (t.name == name) return &t;
  return nullptr;
}

const Object* Library::find(const std::string& name, bool cluster_scope) const {
  for (const Object* o : cluster_scope ? cluster_workflow_templates : workflow_templates)
    if (o->metadata.name == name) return o;
  return nullptr;
}

}  // namespace skiff::spec
