#include "server/template_refs.h"

#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "runtime/resource_executor.h"
#include "server/objects.h"
#include "spec/decode.h"
#include "spec/validate.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {

struct Ref {
  std::string name;
  bool cluster = false;
  spec::Kind kind() const {
    return cluster ? spec::Kind::kClusterWorkflowTemplate : spec::Kind::kWorkflowTemplate;
  }
  bool operator<(const Ref& o) const { return std::tie(cluster, name) < std::tie(o.cluster, o.name); }
};

// Every workflowTemplateRef and templateRef anywhere in `doc` (steps, DAG tasks, inline
// templates, hooks): a reference read needlessly costs one lookup, one missed costs a run.
void collect_refs(const Json& doc, std::vector<Ref>& out) {
  if (doc.is_array()) {
    for (const auto& v : doc) collect_refs(v, out);
    return;
  }
  if (!doc.is_object()) return;
  for (const auto& [key, v] : doc.items()) {
    if ((key == "templateRef" || key == "workflowTemplateRef") && v.is_object() && v.contains("name") &&
        v["name"].is_string()) {
      out.push_back({v["name"].get<std::string>(), v.value("clusterScope", false) == true});
    }
    collect_refs(v, out);
  }
}

// The stored templates `ref` names: one, or none; every one of its scope while its name is
// a {{...}} known only at run time (those that no longer decode are then left out, as they
// cannot be told apart from the one meant).
Result<std::vector<store::ObjectRecord>> lookup(store::Store& store, const Ref& ref, const std::string& ns) {
  spec::Kind kind = ref.kind();
  std::string scope = ref.cluster ? "" : ns;
  if (ref.name.find("{{") != std::string::npos || (!ref.cluster && ns.empty())) {
    auto all = store.list_objects(kind, scope);
    if (!all || ref.name.find("{{") != std::string::npos) return all;
    std::vector<store::ObjectRecord> named;  // a namespaced name from a cluster-scoped object: any namespace's
    for (auto& o : *all) {
      if (o.name == ref.name) named.push_back(std::move(o));
    }
    return named;
  }
  auto one = store.get_object(kind, scope, ref.name);
  if (!one) {
    if (one.status().code() == Code::kNotFound) return std::vector<store::ObjectRecord>{};
    return one.status();
  }
  return std::vector<store::ObjectRecord>{std::move(*one)};
}

}  // namespace

Result<std::vector<spec::Object>> referenced_templates(store::Store& store, const std::string& referrer_json,
                                                       const std::string& ns) {
  std::vector<spec::Object> out;
  std::set<Ref> seen;
  std::set<std::string> added;  // kind/namespace/name
  std::vector<Ref> pending;
  collect_refs(parse_json_or_discarded<Json>(referrer_json), pending);
  while (!pending.empty()) {
    Ref ref = std::move(pending.back());
    pending.pop_back();
    if (!seen.insert(ref).second) continue;
    bool by_name = ref.name.find("{{") == std::string::npos;
    auto found = lookup(store, ref, ns);
    if (!found) return found.status();
    const char* kind = spec::kind_name(ref.kind());
    for (const auto& o : *found) {
      if (!added.insert(std::string(kind) + "/" + o.namespace_ + "/" + o.name).second) continue;
      Json doc = object_json(o, ref.kind());
      spec::Decoded d = spec::decode_documents(doc.dump(), o.name);
      if (d.objects.size() != 1 || !d.diagnostics.empty()) {
        if (!by_name) continue;
        std::string where = o.namespace_.empty() ? o.name : o.namespace_ + "/" + o.name;
        return invalid(std::string("the stored ") + kind + " " + where +
                       " no longer decodes (fix it with a PUT, or delete and create it again): " +
                       format_all(d.diagnostics));
      }
      collect_refs(doc, pending);
      out.push_back(std::move(d.objects[0]));
    }
  }
  return out;
}

Result<std::pair<spec::Object, std::vector<spec::Object>>> stored_definition(store::Store& store,
                                                                           const store::WorkflowRecord& rec) {
  spec::Decoded d = spec::decode_documents(rec.object, rec.name);
  if (!d.diagnostics.empty() || d.objects.size() != 1) {
    return invalid("the stored definition of " + rec.name + " no longer decodes: " + format_all(d.diagnostics));
  }
  auto templates = referenced_templates(store, d.objects[0].source_json, rec.namespace_);
  if (!templates) return templates.status();
  return std::make_pair(std::move(d.objects[0]), std::move(*templates));
}

Status validate_with(const spec::Object& obj, const std::vector<spec::Object>& templates) {
  spec::Library library;
  for (const auto& t : templates) {
    (t.kind == spec::Kind::kClusterWorkflowTemplate ? library.cluster_workflow_templates : library.workflow_templates)
        .push_back(&t);
  }
  Diagnostics diags;
  spec::validate(obj, library, diags);
  runtime::check_resource_templates(obj, diags);
  if (!diags.empty()) return invalid(format_all(diags));
  return Status::ok();
}

}  // namespace skiff::server
