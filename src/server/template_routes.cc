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
  // `version`, when asked for: the metadata.resourceVersion the client read (0: none).
  auto decode = [kind = f.kind, field](const httplib::Request& req, const std::string& ns,
                    int64_t* version = nullptr) -> Result<std::pair<spec::Object, Json>> {
    auto body = parse_body(req);
    if (!body) return body.status();
    if (version) {
      auto v = resource_version(*body, field);
      if (!v) return v.status();
      *version = *v;
    }
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
    if (namespaced) {
      if (Status st = check_name("namespace", ns); !st) return fail(res, st);
    }
    auto obj = decode(req, ns);
    if (!obj) return fail(res, obj.status());
    if (Status st = check_name("metadata.name", obj->first.metadata.name); !st) return fail(res, st);
    if (Status st = check(obj->first, ns); !st) return fail(res, st);
    store::ObjectRecord rec{ns, obj->first.metadata.name, obj->second.dump(), ctx.clock.now_ms(), 1};
    if (f.before_write) {
      if (Status st = f.before_write(obj->first, rec, false); !st) return fail(res, st);
    }
    if (Status st = ctx.store.create_object(f.kind, rec); !st) return fail(res, st);
    if (f.after_change) f.after_change(ns, rec.name, false);
    reply(res, 200, object_json(rec, f.kind));
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
    int64_t version = 0;  // a stale one is a 409, as on Kubernetes
    auto obj = decode(req, ns, &version);
    if (!obj) return fail(res, obj.status());
    if (obj->first.metadata.name != name) {
      return fail(res, invalid("template.metadata.name \"" + obj->first.metadata.name + "\" is not " + name));
    }
    if (Status st = check(obj->first, ns); !st) return fail(res, st);
    // Without the client's version, before_write may pin the one it read: a write that
    // lands in between (a controller's status) makes it read again, not lose that write.
    for (int attempt = 1;; ++attempt) {
      store::ObjectRecord rec{ns, name, obj->second.dump(), 0, version};
      if (f.before_write) {
        if (Status st = f.before_write(obj->first, rec, true); !st) return fail(res, st);
      }
      Status st = ctx.store.update_object(f.kind, rec);
      if (st.code() == Code::kConflict && version == 0 && attempt < kWriteAttempts) continue;
      if (!st) return fail(res, st);
      break;
    }
    if (f.after_change) f.after_change(ns, name, false);
    auto saved = ctx.store.get_object(f.kind, ns, name);
    if (!saved) return fail(res, saved.status());
    reply(res, 200, object_json(*saved, f.kind));
  });
  s.Delete(item, [=, &ctx](const httplib::Request& req, httplib::Response& res) {
    if (Status st = ctx.store.delete_object(f.kind, ns_of(req), name_of(req)); !st) return fail(res, st);
    if (f.after_change) f.after_change(ns_of(req), name_of(req), true);
    reply(res, 200, Json::object());
  });
}

void add_template_routes(httplib::Server& s, ApiContext& ctx) {
  add_object_routes(s, ctx, {spec::Kind::kWorkflowTemplate, nullptr, nullptr});
  add_object_routes(s, ctx, {spec::Kind::kClusterWorkflowTemplate, nullptr, nullptr});
}

}  // namespace skiff::server
