#include "server/objects.h"

#include <cstdlib>

#include "engine/workflow_json.h"
#include "spec/decode.h"
#include "util/json_text.h"

namespace skiff::server {

Result<spec::Object> decode_object(const Json& body, spec::Kind kind, const std::string& namespace_) {
  const spec::KindInfo& info = spec::kind_info(kind);
  const char* field = info.body_field;
  if (!body.contains(field) || !body[field].is_object()) {
    return invalid(std::string("the request body has no \"") + field + "\" object");
  }
  Json obj = body[field];
  if (!obj.contains("apiVersion")) obj["apiVersion"] = info.api_version;
  if (!obj.contains("kind")) obj["kind"] = info.name;
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = Json::object();
  Json& meta = obj["metadata"];
  if (!namespace_.empty()) {
    if (meta.contains("namespace") && meta["namespace"] != namespace_ && meta["namespace"] != "") {
      return invalid("metadata.namespace \"" + meta["namespace"].dump() + "\" does not match the path's namespace " + namespace_);
    }
    meta["namespace"] = namespace_;
  }
  // Fields the server sets itself, which clients may echo back.
  for (const char* server_field : {"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink"}) {
    meta.erase(server_field);
  }
  obj.erase("status");
  spec::Decoded d = spec::decode_documents(obj.dump(), std::string(field));
  if (!d.diagnostics.empty()) return invalid(format_all(d.diagnostics));
  if (d.objects.size() != 1 || d.objects[0].kind != kind) {
    return invalid(std::string("\"") + field + "\" must be a " + info.name);
  }
  return std::move(d.objects[0]);
}

Result<int64_t> resource_version(const Json& body, const char* field) {
  const Json* meta = body.contains(field) && body[field].is_object() && body[field].contains("metadata")
                         ? &body[field]["metadata"]
                         : nullptr;
  if (!meta || !meta->is_object() || !meta->contains("resourceVersion")) return int64_t{0};
  const Json& v = (*meta)["resourceVersion"];
  std::string text = v.is_string() ? v.get<std::string>() : "";
  if (text.empty()) return int64_t{0};
  char* end = nullptr;
  long long n = std::strtoll(text.c_str(), &end, 10);
  if (*end != '\0' || n <= 0) {
    return invalid(std::string(field) + ".metadata.resourceVersion \"" + text +
                   "\" is not a version this server gave out: send back the one a GET returned");
  }
  return static_cast<int64_t>(n);
}

Json object_json(const store::ObjectRecord& o, spec::Kind kind) {
  Json j = parse_json_or_discarded<Json>(o.body);
  if (!j.is_object()) j = Json::object();
  j["apiVersion"] = spec::kind_info(kind).api_version;
  j["kind"] = spec::kind_name(kind);
  Json& meta = j["metadata"];
  if (!meta.is_object()) meta = Json::object();
  meta["name"] = o.name;
  if (!o.namespace_.empty()) meta["namespace"] = o.namespace_;
  meta["creationTimestamp"] = engine::rfc3339(o.created_ms);
  meta["resourceVersion"] = std::to_string(o.version);
  return j;
}

Json workflow_json(store::Store& store, const store::WorkflowRecord& wf, bool with_nodes) {
  Json object = parse_json_or_discarded<Json>(wf.object);
  Json j;
  j["apiVersion"] = spec::kind_info(spec::Kind::kWorkflow).api_version;
  j["kind"] = spec::kind_name(spec::Kind::kWorkflow);
  Json meta = Json::object();
  Json submitted = object.is_object() && object.contains("metadata") ? object["metadata"] : Json::object();
  meta["name"] = wf.name;
  if (submitted.contains("generateName")) meta["generateName"] = submitted["generateName"];
  meta["namespace"] = wf.namespace_;
  meta["uid"] = wf.uid;
  meta["resourceVersion"] = std::to_string(wf.version);
  meta["creationTimestamp"] = engine::rfc3339(wf.created_ms);
  meta["labels"] = Json(wf.labels);
  if (submitted.contains("annotations")) meta["annotations"] = submitted["annotations"];
  if (submitted.contains("ownerReferences")) meta["ownerReferences"] = submitted["ownerReferences"];
  j["metadata"] = meta;
  j["spec"] = object.is_object() && object.contains("spec") ? object["spec"] : Json::object();
  Json status = parse_json_or_discarded<Json>(wf.status);
  if (!status.is_object()) status = Json::object();
  if (!status.contains("phase") && wf.phase != spec::WorkflowPhase::kPending) {
    status["phase"] = spec::workflow_phase_name(wf.phase);
  }
  if (with_nodes) {
    auto nodes = store.nodes(wf.uid);
    if (nodes && !nodes->empty()) {
      // An ordered_json object is a vector searched on every insert; ids are unique (the
      // store's key), so appending keeps 100,000 nodes linear.
      Json map = Json::object();
      auto& entries = map.get_ref<Json::object_t&>();
      entries.reserve(nodes->size());
      for (auto& n : *nodes) entries.emplace_back(std::move(n.id), parse_json_or_discarded<Json>(n.body));
      status["nodes"] = std::move(map);
    }
  }
  j["status"] = std::move(status);  // last: workflow_text relies on it
  return j;
}

std::string workflow_text(store::Store& store, const store::WorkflowRecord& wf) {
  Json j = workflow_json(store, wf, false);
  bool empty_status = j["status"].empty();
  std::string text = j.dump(-1, ' ', false, Json::error_handler_t::replace);  // ends with status's "}" and "}"
  auto nodes = store.nodes_json(wf.uid);
  if (!nodes || *nodes == "{}") return text;
  text.insert(text.size() - 2, (empty_status ? "\"nodes\":" : ",\"nodes\":") + *nodes);
  return text;
}

}  // namespace skiff::server
