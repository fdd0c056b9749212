#include "server/app_routes.h"

#include <algorithm>

#include "engine/workflow_json.h"
#include "server/app_actions.h"
#include "server/app_workloads.h"
#include "server/objects.h"
#include "server/template_routes.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {

using spec::Kind;

// Keeps what the controller wrote (status, and a running operation) when a client replaces
// an Application; the version it was read at is pinned so that a status written meanwhile
// makes the write read again rather than be lost.
Status keep_controller_fields(ApiContext& ctx, store::ObjectRecord& rec) {
  auto old = ctx.store.get_object(Kind::kApplication, rec.namespace_, rec.name);
  if (!old) return old.status();
  if (rec.version == 0) rec.version = old->version;
  Json before = parse_json_or_discarded<Json>(old->body), after = parse_json_or_discarded<Json>(rec.body);
  if (!before.is_object() || !after.is_object()) return Status::ok();
  for (const char* field : {"status", "operation"}) {
    if (before.contains(field)) after[field] = before[field];
    else after.erase(field);
  }
  // The server's own metadata (a delete in progress) is not the client's to undo.
  const Json& meta = member(before, "metadata");
  for (const char* field : {"deletionTimestamp", "finalizers"}) {
    if (meta.contains(field) && !after["metadata"].contains(field)) after["metadata"][field] = meta[field];
  }
  rec.body = after.dump();
  return Status::ok();
}

// An Application must name a project that exists ("default" always does).
Status check_project(ApiContext& ctx, const spec::Object& app) {
  const std::string& project = app.app ? app.app->project : "default";
  if (project == "default") return Status::ok();
  auto found = ctx.store.get_object(Kind::kAppProject, kArgoCdNamespace, project);
  if (found) return Status::ok();
  if (found.status().code() != Code::kNotFound) return found.status();
  return invalid("application spec for " + app.metadata.name + " is invalid: InvalidSpecError: application references project " +
                 project + " which does not exist");
}

std::string not_found_text(Kind kind, const std::string& name) {
  return std::string(kind == Kind::kApplication ? "applications" : "appprojects") + ".argoproj.io \"" + name +
         "\" not found";
}

Result<store::ObjectRecord> get(ApiContext& ctx, Kind kind, const std::string& ns, const std::string& name) {
  auto rec = ctx.store.get_object(kind, ns, name);
  if (!rec && rec.status().code() == Code::kNotFound) return not_found(not_found_text(kind, name));
  return rec;
}

// POST /api/v1/applications: Argo CD's create. An existing one with the same spec is
// returned as it is; with another spec it is refused unless upsert=true.
void create_app(ApiContext& ctx, const ObjectFamily& family, const httplib::Request& req, httplib::Response& res) {
  auto body = parse_body(req);
  if (!body) return app_fail(res, body.status());
  // The namespace is the query's (what auth checked); one in the body must agree.
  std::string ns = app_namespace_of(req);
  std::string named = text(member(*body, "metadata"), "namespace");
  if (!named.empty() && named != ns)
    return app_fail(res, invalid("metadata.namespace \"" + named + "\" is not the request's namespace " + ns +
                                 ": add ?appNamespace=" + named));
  Json& meta = (*body)["metadata"];
  if (!meta.is_object()) meta = Json::object();
  meta["namespace"] = ns;
  std::string name = text(meta, "name");
  if (auto existing = ctx.store.get_object(Kind::kApplication, ns, name)) {
    Json stored = parse_json_or_discarded<Json>(existing->body);
    if (query(req, "upsert") != "true") {
      // Key order does not make specs differ.
      auto unordered = [](const Json& j) { return nlohmann::json::parse(j.dump()); };
      if (stored.is_object() && unordered(stored.value("spec", Json())) == unordered(body->value("spec", Json())))
        return reply(res, 200, object_json(*existing, Kind::kApplication));
      return app_fail(res, invalid("existing application spec is different, use upsert flag to force update"));
    }
    meta.erase("resourceVersion");
    auto saved = write_object(ctx, family, *body, ns, true);
    if (!saved) return app_fail(res, saved.status());
    return reply(res, 200, object_json(*saved, Kind::kApplication));
  }
  auto saved = write_object(ctx, family, *body, ns, false);
  if (!saved) return app_fail(res, saved.status());
  reply(res, 200, object_json(*saved, Kind::kApplication));
}

// PUT .../{name} and .../{name}/spec: `doc` is the whole Application or (spec_only) its spec.
void update_app(ApiContext& ctx, const ObjectFamily& family, const httplib::Request& req, httplib::Response& res,
                bool spec_only) {
  std::string ns = app_namespace_of(req), name = req.matches[1];
  auto body = parse_body(req);
  if (!body) return app_fail(res, body.status());
  Json doc;
  if (spec_only) {
    auto rec = get(ctx, Kind::kApplication, ns, name);
    if (!rec) return app_fail(res, rec.status());
    doc = parse_json_or_discarded<Json>(rec->body);
    if (!doc.is_object()) return app_fail(res, internal_error("the stored Application " + name + " is damaged"));
    doc["spec"] = *body;
  } else {
    doc = *body;
    std::string named = text(member(doc, "metadata"), "name");
    if (named != name) return app_fail(res, invalid("metadata.name \"" + named + "\" is not " + name));
    if (!doc["metadata"].contains("namespace")) doc["metadata"]["namespace"] = ns;
    if (auto rec = get(ctx, Kind::kApplication, ns, name); !rec) return app_fail(res, rec.status());
  }
  auto saved = write_object(ctx, family, doc, ns, true);
  if (!saved) return app_fail(res, saved.status());
  Json app = object_json(*saved, Kind::kApplication);
  reply(res, 200, spec_only ? app["spec"] : app);
}

// DELETE .../{name}: with cascade (the default) the Application is marked for deletion with
// the resources finalizer, and the controller deletes its resources and then it; without,
// it goes at once and its resources stay.
void delete_app(ApiContext& ctx, const ObjectFamily& family, const httplib::Request& req, httplib::Response& res) {
  std::string ns = app_namespace_of(req), name = req.matches[1];
  std::string cascade = query(req, "cascade"), policy = query(req, "propagationPolicy");
  if (!cascade.empty() && cascade != "true" && cascade != "false")
    return app_fail(res, invalid("cascade must be true or false, not \"" + cascade + "\""));
  if (!policy.empty() && policy != "foreground" && policy != "background")
    return app_fail(res, invalid("propagationPolicy must be foreground or background, not \"" + policy + "\""));
  if (cascade == "false") {
    if (Status st = remove_object(ctx, family, ns, name); !st)
      return app_fail(res, st.code() == Code::kNotFound ? not_found(not_found_text(Kind::kApplication, name)) : st);
    return reply(res, 200, Json::object());
  }
  std::string finalizer = std::string(kResourcesFinalizer) + (policy == "background" ? "/background" : "");
  if (Status st = delete_application(ctx, ns, name, finalizer); !st) return app_fail(res, st);
  reply(res, 200, Json::object());
}

// The implicit `default` project, as Argo CD creates it: every source, every destination,
// every kind.
Json default_project() {
  return {{"apiVersion", "argoproj.io/v1alpha1"},
          {"kind", "AppProject"},
          {"metadata", {{"name", "default"}, {"namespace", kArgoCdNamespace}}},
          {"spec",
           {{"sourceRepos", {"*"}},
            {"destinations", {{{"server", "*"}, {"namespace", "*"}}}},
            {"clusterResourceWhitelist", {{{"group", "*"}, {"kind", "*"}}}}}}};
}

void add_project_routes(httplib::Server& s, ApiContext& ctx) {
  ObjectFamily family = project_family(ctx);
  const std::string ns = kArgoCdNamespace;
  s.Get("/api/v1/projects", [&ctx, ns](const httplib::Request&, httplib::Response& res) {
    auto list = ctx.store.list_objects(Kind::kAppProject, ns);
    if (!list) return app_fail(res, list.status());
    Json items = Json::array();
    bool has_default = false;
    for (const auto& o : *list) {
      has_default |= o.name == "default";
      items.push_back(object_json(o, Kind::kAppProject));
    }
    if (!has_default) items.insert(items.begin(), default_project());
    reply(res, 200, {{"metadata", Json::object()}, {"items", items}});
  });
  // POST {project: {...}, upsert}: as Argo CD's ProjectCreateRequest.
  s.Post("/api/v1/projects", [&ctx, family, ns](const httplib::Request& req, httplib::Response& res) {
    auto body = parse_body(req);
    if (!body) return app_fail(res, body.status());
    if (!body->contains("project") || !(*body)["project"].is_object())
      return app_fail(res, invalid("the request body has no \"project\" object: send {\"project\": {metadata, spec}}"));
    Json project = (*body)["project"];
    std::string name = text(member(project, "metadata"), "name");
    bool exists = static_cast<bool>(ctx.store.get_object(Kind::kAppProject, ns, name));
    if (exists && !flag(*body, "upsert"))
      return app_fail(res, Status(Code::kAlreadyExists, "appprojects.argoproj.io \"" + name + "\" already exists"));
    if (project["metadata"].is_object()) project["metadata"].erase("resourceVersion");
    auto saved = write_object(ctx, family, project, ns, exists);
    if (!saved) return app_fail(res, saved.status());
    reply(res, 200, object_json(*saved, Kind::kAppProject));
  });
  s.Get(R"(/api/v1/projects/([^/]+))", [&ctx, ns](const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1];
    auto rec = get(ctx, Kind::kAppProject, ns, name);
    if (!rec && name == "default" && rec.status().code() == Code::kNotFound) return reply(res, 200, default_project());
    if (!rec) return app_fail(res, rec.status());
    reply(res, 200, object_json(*rec, Kind::kAppProject));
  });
  s.Put(R"(/api/v1/projects/([^/]+))", [&ctx, family, ns](const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1];
    auto body = parse_body(req);
    if (!body) return app_fail(res, body.status());
    if (!body->contains("project") || !(*body)["project"].is_object())
      return app_fail(res, invalid("the request body has no \"project\" object: send {\"project\": {metadata, spec}}"));
    const Json& project = (*body)["project"];
    if (text(member(project, "metadata"), "name") != name)
      return app_fail(res, invalid("project.metadata.name is not " + name));
    bool exists = static_cast<bool>(ctx.store.get_object(Kind::kAppProject, ns, name));
    auto saved = write_object(ctx, family, project, ns, exists || name != "default");
    if (!saved) return app_fail(res, saved.status().code() == Code::kNotFound ? not_found(not_found_text(Kind::kAppProject, name)) : saved.status());
    reply(res, 200, object_json(*saved, Kind::kAppProject));
  });
  s.Delete(R"(/api/v1/projects/([^/]+))", [&ctx, family, ns](const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1];
    auto apps = ctx.store.list_objects(Kind::kApplication, "");
    if (!apps) return app_fail(res, apps.status());
    size_t using_it = 0;
    for (const auto& a : *apps) {
      Json app = parse_json_or_discarded<Json>(a.body);
      std::string project = text(member(app, "spec"), "project");
      using_it += (project.empty() ? "default" : project) == name;
    }
    if (using_it > 0)
      return app_fail(res, invalid("project is referenced by " + std::to_string(using_it) +
                                   " applications: delete or move them first"));
    if (Status st = remove_object(ctx, family, ns, name); !st)
      return app_fail(res, st.code() == Code::kNotFound ? not_found(not_found_text(Kind::kAppProject, name)) : st);
    reply(res, 200, Json::object());
  });
}

}  // namespace

ObjectFamily app_family(ApiContext& ctx) {
  ObjectFamily family{Kind::kApplication, nullptr, nullptr};
  family.before_write = [&ctx](const spec::Object& app, store::ObjectRecord& rec, bool update) {
    if (Status st = check_project(ctx, app); !st) return st;
    return update ? keep_controller_fields(ctx, rec) : Status::ok();
  };
  family.after_change = [&ctx](const std::string&, const std::string&, bool) { ctx.poke_controllers(); };
  return family;
}

ObjectFamily project_family(ApiContext& ctx) {
  ObjectFamily family{Kind::kAppProject, nullptr, nullptr};
  family.after_change = [&ctx](const std::string&, const std::string&, bool) { ctx.poke_controllers(); };
  return family;
}

Status delete_application(ApiContext& ctx, const std::string& ns, const std::string& name, const std::string& add_finalizer) {
  if (add_finalizer.empty()) {
    auto rec = get(ctx, Kind::kApplication, ns, name);
    if (!rec) return rec.status();
    Json finalizers = member(member(parse_json_or_discarded<Json>(rec->body), "metadata"), "finalizers");
    if (!finalizers.is_array() || finalizers.empty()) return remove_object(ctx, app_family(ctx), ns, name);
  }
  std::string now = engine::rfc3339(ctx.clock.now_ms());
  auto saved = modify_app(ctx, ns, name, [&](Json& app) {
    Json& meta = app["metadata"];
    Json& finalizers = meta["finalizers"];
    if (!finalizers.is_array()) finalizers = Json::array();
    if (!add_finalizer.empty() && std::find(finalizers.begin(), finalizers.end(), add_finalizer) == finalizers.end())
      finalizers.push_back(add_finalizer);
    if (!meta.contains("deletionTimestamp")) meta["deletionTimestamp"] = now;
    return Status::ok();
  });
  if (!saved) return saved.status();
  ctx.poke_controllers();
  return Status::ok();
}

std::string app_namespace_of(const httplib::Request& req) {
  if (req.path.rfind("/api/v1/projects", 0) == 0) return kArgoCdNamespace;
  std::string ns = query(req, "appNamespace");
  return ns.empty() ? kArgoCdNamespace : ns;
}

void app_fail(httplib::Response& res, const Status& s) {
  HttpError e = http_error(s.code());
  reply(res, e.http, {{"error", s.message()}, {"code", e.grpc}, {"message", s.message()}});
}

Result<store::ObjectRecord> modify_app(ApiContext& ctx, const std::string& ns, const std::string& name,
                                       const std::function<Status(Json& app)>& change) {
  for (int attempt = 1;; ++attempt) {
    auto rec = get(ctx, Kind::kApplication, ns, name);
    if (!rec) return rec.status();
    Json app = parse_json_or_discarded<Json>(rec->body);
    if (!app.is_object()) return internal_error("the stored Application " + name + " is damaged");
    if (Status st = change(app); !st) return st;
    rec->body = app.dump();
    Status st = ctx.store.update_object(Kind::kApplication, *rec);
    if (st.code() == Code::kConflict && attempt < kWriteAttempts) continue;
    if (!st) return st;
    return ctx.store.get_object(Kind::kApplication, ns, name);
  }
}

void add_app_routes(httplib::Server& s, ApiContext& ctx) {
  ObjectFamily family = app_family(ctx);
  s.Get("/api/v1/applications", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto list = list_apps(ctx, req);
    if (!list) return app_fail(res, list.status());
    reply(res, 200, *list);
  });
  s.Post("/api/v1/applications", [&ctx, family](const httplib::Request& req, httplib::Response& res) {
    create_app(ctx, family, req, res);
  });
  s.Get(R"(/api/v1/applications/([^/]+))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    std::string ns = app_namespace_of(req), name = req.matches[1], refresh = query(req, "refresh");
    if (!refresh.empty() && refresh != "normal" && refresh != "hard")
      return app_fail(res, invalid("refresh must be normal or hard, not \"" + refresh + "\""));
    Result<store::ObjectRecord> rec = refresh.empty() ? get(ctx, Kind::kApplication, ns, name)
                                                      : modify_app(ctx, ns, name, [&](Json& app) {
                                                          app["metadata"]["annotations"][kRefreshAnnotation] = refresh;
                                                          return Status::ok();
                                                        });
    if (!rec) return app_fail(res, rec.status());
    if (!refresh.empty()) ctx.poke_controllers();
    reply(res, 200, object_json(*rec, Kind::kApplication));
  });
  s.Put(R"(/api/v1/applications/([^/]+))", [&ctx, family](const httplib::Request& req, httplib::Response& res) {
    update_app(ctx, family, req, res, false);
  });
  s.Put(R"(/api/v1/applications/([^/]+)/spec)", [&ctx, family](const httplib::Request& req, httplib::Response& res) {
    update_app(ctx, family, req, res, true);
  });
  s.Delete(R"(/api/v1/applications/([^/]+))", [&ctx, family](const httplib::Request& req, httplib::Response& res) {
    delete_app(ctx, family, req, res);
  });
  add_app_action_routes(s, ctx);
  add_app_workload_routes(s, ctx);
  add_project_routes(s, ctx);
}

}  // namespace skiff::server
