#include "server/template_routes.h"

#include <utility>

#include "server/objects.h"
#include "server/template_refs.h"
#include "util/json_text.h"

namespace skiff::server {

void add_object_routes(httplib::Server& s, ApiContext& ctx, ObjectFamily f) {
  const spec::KindInfo& info = spec::kind_info(f.kind);
  const std::string base = std::string("/api/v1/") + info.plural;
  const std::string collection = info.namespaced ? base + "/([^/]+)" : base;
  const std::string item = collection + "/([^/]+)";
  const bool namespaced = info.namespaced;
  const char* field = info.body_field;
  auto ns_of = [namespaced](const httplib::Request& req) { return namespaced ? std::string(req.matches[1]) : std::string(); };
  auto name_of = [namespaced](const httplib::Request& req) { return std::string(req.matches[namespaced ? 2 : 1]); };
  auto decode = [kind = f.kind](const httplib::Request& req, const std::string& ns) -> Result<std::pair<spec::Object, Json>> {
    auto body = parse_body(req);
    if (!body) return body.status();
    auto obj = decode_object(*body, kind, ns);
    if (!obj) return obj.status();
    Json doc = parse_json_or_discarded<Json>(obj->source_json);
    return std::make_pair(std::move(*obj), doc);
  };
  // The object checked against the templates it refers to.
  auto check = [&ctx](const spec::Object& obj, const std::string& ns) -> Status {
    auto known = referenced_templates(ctx.store, obj.source_json, ns);
    if (!known) return known.status();
    return validate_with(obj, *known);
  };
  s.Post(collection, [=, &ctx](const httplib::Request& req, httplib::Response& res) {
    std::string ns = ns_of(req);
    auto body = parse_body(req);
    if (!body) return fail(res, body.status());
    if (!body->contains(field)) return fail(res, decode_object(*body, f.kind, ns).status());  // says what is missing
    auto saved = write_object(ctx, f, (*body)[field], ns, false);
    if (!saved) return fail(res, saved.status());
    reply(res, 200, object_json(*saved, f.kind));
  });
  s.Post(collection + "/lint", [=](const httplib::Request& req, httplib::Response& res) {
    auto obj = decode(req, ns_of(req));
    if (!obj) return fail(res, obj.status());
    if (Status st = check(obj->first, ns_of(req)); !st) return fail(res, st);
    reply(res, 200, obj->second);
  });
  s.Get(collection, [=, &ctx](const httplib::Request& req, httplib::Response& res) {
    auto list = ctx.store.list_objects(f.kind, ns_of(req));
    if (!list) return fail(res, list.status());
    Json items = Json::array();
    for (const auto& o : *list) items.push_back(object_json(o, f.kind));
    reply(res, 200, {{"metadata", Json::object()}, {"items", items}});
  });
  s.Get(item, [=, &ctx](const httplib::Request& req, httplib::Response& res) {
    auto o = ctx.store.get_object(f.kind, ns_of(req), name_of(req));
    if (!o) return fail(res, o.status());
    reply(res, 200, object_json(*o, f.kind));
  });
  s.Put(item, [=, &ctx](const httplib::Request& req, httplib::Response& res) {
    std::string ns = ns_of(req), name = name_of(req);
    auto body = parse_body(req);
    if (!body) return fail(res, body.status());
    if (!body->contains(field)) return fail(res, decode_object(*body, f.kind, ns).status());  // says what is missing
    const Json& doc = (*body)[field];
    if (doc.is_object() && doc.value("metadata", Json::object()).value("name", "") != name)
      return fail(res, invalid(std::string(field) + ".metadata.name \"" + doc.value("metadata", Json::object()).value("name", "") +
                               "\" is not " + name));
    auto saved = write_object(ctx, f, doc, ns, true);
    if (!saved) return fail(res, saved.status());
    reply(res, 200, object_json(*saved, f.kind));
  });
  s.Delete(item, [=, &ctx](const httplib::Request& req, httplib::Response& res) {
    if (Status st = remove_object(ctx, f, ns_of(req), name_of(req)); !st) return fail(res, st);
    reply(res, 200, Json::object());
  });
}

Result<store::ObjectRecord> write_object(ApiContext& ctx, const ObjectFamily& f, const Json& object, const std::string& ns,
                                         bool update) {
  const spec::KindInfo& info = spec::kind_info(f.kind);
  const std::string scope = info.namespaced ? ns : std::string();
  if (info.namespaced) {
    if (Status st = check_name("namespace", ns); !st) return st;
  }
  Json body = {{info.body_field, object}};
  int64_t version = 0;  // a stale one is a 409, as on Kubernetes
  if (update) {
    auto v = resource_version(body, info.body_field);
    if (!v) return v.status();
    version = *v;
  }
  auto obj = decode_object(body, f.kind, scope);
  if (!obj) return obj.status();
  // A create with generateName and no name gets a generated one, as on Kubernetes.
  const std::string prefix = obj->metadata.generate_name;
  const bool generate = !update && obj->metadata.name.empty() && !prefix.empty();
  if (generate) {
    if (Status st = check_name("metadata.generateName", prefix + "x"); !st) return st;
  } else if (Status st = check_name("metadata.name", obj->metadata.name); !st) {
    return st;
  }
  auto known = referenced_templates(ctx.store, obj->source_json, scope);
  if (!known) return known.status();
  if (Status st = validate_with(*obj, *known); !st) return st;
  Json source = parse_json_or_discarded<Json>(obj->source_json);
  std::string doc = source.dump();
  std::string name = obj->metadata.name;
  // Without the client's version, before_write may pin the one it read: a write that
  // lands in between (a controller's status) makes it read again, not lose that write.
  for (int attempt = 1;; ++attempt) {
    if (generate) {
      name = generated_name(prefix);
      source["metadata"]["name"] = name;
      doc = source.dump();
      obj->metadata.name = name;
    }
    store::ObjectRecord rec{scope, name, doc, update ? 0 : ctx.clock.now_ms(), update ? version : 1};
    if (f.before_write) {
      if (Status st = f.before_write(*obj, rec, update); !st) return st;
    }
    Status st = update ? ctx.store.update_object(f.kind, rec) : ctx.store.create_object(f.kind, rec);
    if (st.code() == Code::kConflict && update && version == 0 && attempt < kWriteAttempts) continue;
    if (st.code() == Code::kAlreadyExists && generate && attempt < kWriteAttempts) continue;  // taken: another
    if (!st) return st;
    break;
  }
  if (f.after_change) f.after_change(scope, name, false);
  return ctx.store.get_object(f.kind, scope, name);
}

Status remove_object(ApiContext& ctx, const ObjectFamily& f, const std::string& ns, const std::string& name) {
  if (Status st = ctx.store.delete_object(f.kind, ns, name); !st) return st;
  if (f.after_change) f.after_change(ns, name, true);
  return Status::ok();
}

ObjectFamily template_family(spec::Kind kind) { return {kind, nullptr, nullptr}; }

void add_template_routes(httplib::Server& s, ApiContext& ctx) {
  add_object_routes(s, ctx, template_family(spec::Kind::kWorkflowTemplate));
  add_object_routes(s, ctx, template_family(spec::Kind::kClusterWorkflowTemplate));
}

}  // namespace skiff::server
