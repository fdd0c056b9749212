#include "server/app_actions.h"

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "server/app_routes.h"
#include "server/app_workloads.h"
#include "server/objects.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {

using spec::Kind;

// A Kubernetes label selector's plain terms over `labels`: k=v, k==v, k!=v, k, !k.
Result<bool> selects(const std::string& selector, const Json& labels) {
  for (const std::string& raw : split_csv(selector)) {
    std::string term = raw;
    term.erase(0, term.find_first_not_of(' '));
    term.erase(term.find_last_not_of(' ') + 1);
    auto label = [&](const std::string& k) -> const Json* {
      return labels.is_object() && labels.contains(k) ? &labels[k] : nullptr;
    };
    size_t ne = term.find("!="), eq = term.find('=');
    if (ne != std::string::npos) {
      const Json* v = label(term.substr(0, ne));
      if (v && *v == term.substr(ne + 2)) return false;
    } else if (eq != std::string::npos) {
      std::string value = term.substr(eq + (term.compare(eq, 2, "==") == 0 ? 2 : 1));
      const Json* v = label(term.substr(0, eq));
      if (!v || *v != value) return false;
    } else if (!term.empty() && term[0] == '!') {
      if (label(term.substr(1))) return false;
    } else if (term.find_first_of(" ()") != std::string::npos) {
      return invalid("selector term \"" + term + "\" is not supported: use key=value, key!=value, key or !key");
    } else if (!label(term)) {
      return false;
    }
  }
  return true;
}

// The filters of a list or watch of Applications, from its query.
struct AppFilter {
  std::string namespace_, name, selector;
  std::set<std::string> projects;

  static AppFilter of(const httplib::Request& req) {
    AppFilter f{app_namespace_of(req), query(req, "name"), query(req, "selector"), {}};
    for (size_t i = 0; i < req.get_param_value_count("projects"); ++i) {
      for (const std::string& p : split_csv(req.get_param_value("projects", i))) f.projects.insert(p);
    }
    for (const std::string& p : split_csv(query(req, "project"))) f.projects.insert(p);
    return f;
  }

  Result<bool> keeps(const Json& app) const {
    if (!name.empty() && text(member(app, "metadata"), "name") != name) return false;
    if (!projects.empty()) {
      std::string project = text(member(app, "spec"), "project");
      if (!projects.count(project.empty() ? "default" : project)) return false;
    }
    return selects(selector, member(member(app, "metadata"), "labels"));
  }
};

Result<std::vector<Json>> select_apps(ApiContext& ctx, const AppFilter& filter) {
  auto list = ctx.store.list_objects(Kind::kApplication, filter.namespace_);
  if (!list) return list.status();
  std::vector<Json> out;
  for (const auto& rec : *list) {
    Json app = object_json(rec, Kind::kApplication);
    auto keep = filter.keeps(app);
    if (!keep) return keep.status();
    if (*keep) out.push_back(std::move(app));
  }
  return out;
}

// Whether an operation was asked for and has not finished: one the controller has not
// picked up yet, or one it is running.
bool operation_in_progress(const Json& app) {
  if (app.contains("operation") && !app["operation"].is_null()) return true;
  std::string phase = text(member(member(app, "status"), "operationState"), "phase");
  return phase == "Running" || phase == "Terminating";
}

Status start_operation(Json& app, Json sync) {
  if (operation_in_progress(app)) return Status(Code::kConflict, "another operation is already in progress");
  app["operation"] = {{"sync", std::move(sync)}, {"initiatedBy", {{"username", "admin"}}}};
  return Status::ok();
}

// POST .../sync's body as Argo CD's SyncOperation.
Json sync_operation(const Json& body) {
  Json sync = Json::object();
  if (body.contains("revision")) sync["revision"] = body["revision"];
  if (body.contains("revisions")) sync["revisions"] = body["revisions"];
  if (flag(body, "prune")) sync["prune"] = true;
  if (flag(body, "dryRun")) sync["dryRun"] = true;
  if (body.contains("resources") && body["resources"].is_array() && !body["resources"].empty())
    sync["resources"] = body["resources"];
  if (body.contains("syncOptions") && body["syncOptions"].is_object() && body["syncOptions"].contains("items"))
    sync["syncOptions"] = body["syncOptions"]["items"];
  if (body.contains("strategy")) sync["syncStrategy"] = body["strategy"];
  return sync;
}

// The history entry `id` of status.history as the sync that restores it.
Result<Json> rollback_operation(const Json& app, const std::string& name, const Json& body) {
  const Json& id = member(body, "id");
  std::string wanted = id.is_string() ? id.get<std::string>() : id.dump();
  if (member(member(app, "spec"), "syncPolicy").contains("automated"))
    return invalid("rollback cannot be initiated when auto-sync is enabled");
  const Json& history = member(member(app, "status"), "history");
  for (const Json& entry : history.is_array() ? history : Json::array()) {
    const Json& eid = member(entry, "id");
    if ((eid.is_string() ? eid.get<std::string>() : eid.dump()) != wanted) continue;
    Json sync = Json::object();
    for (const char* field : {"revision", "revisions", "source", "sources"}) {
      if (entry.contains(field)) sync[field] = entry[field];
    }
    if (flag(body, "prune")) sync["prune"] = true;
    if (flag(body, "dryRun")) sync["dryRun"] = true;
    return sync;
  }
  return invalid("application " + name + " does not have deployment id " + wanted + " in history");
}

// status.resources as Argo CD's resource tree: the managed objects, and what they own on
// this machine (app_workloads.h).
Json resource_tree(const ApiContext& ctx, const Json& app) {
  Json nodes = Json::array();
  const Json& resources = member(member(app, "status"), "resources");
  for (const Json& r : resources.is_array() ? resources : Json::array()) {
    Json node = Json::object();
    for (const char* field : {"group", "version", "kind", "namespace", "name", "uid", "health"}) {
      if (r.contains(field)) node[field] = r[field];
    }
    node["parentRefs"] = Json::array();
    nodes.push_back(std::move(node));
  }
  for (Json& child : workload_nodes(ctx, std::vector<Json>(nodes.begin(), nodes.end()))) nodes.push_back(std::move(child));
  return {{"nodes", nodes}};
}

// A view the application controller answers (managed-resources, manifests).
template <typename View>
void controller_view(ApiContext& ctx, const httplib::Request& req, httplib::Response& res, const View& view) {
  std::string ns = app_namespace_of(req), name = req.matches[1];
  if (auto rec = ctx.store.get_object(Kind::kApplication, ns, name); !rec) {
    return app_fail(res, rec.status().code() == Code::kNotFound
                             ? not_found("applications.argoproj.io \"" + name + "\" not found")
                             : rec.status());
  }
  auto answer = view(ns, name);
  if (!answer) return app_fail(res, answer.status());
  reply(res, 200, *answer);
}

// GET /api/v1/stream/applications: {"result":{"type","application"}} per change, as
// newline-delimited JSON or server-sent events, until the client goes away.
void watch_apps(ApiContext& ctx, const httplib::Request& req, httplib::Response& res) {
  AppFilter filter = AppFilter::of(req);
  if (auto probe = select_apps(ctx, filter); !probe) return app_fail(res, probe.status());
  bool sse = req.get_header_value("Accept").find("text/event-stream") != std::string::npos;
  auto seen = std::make_shared<std::map<std::string, std::pair<std::string, Json>>>();  // name -> version, app
  auto generation = std::make_shared<uint64_t>(UINT64_MAX);
  res.set_chunked_content_provider(sse ? "text/event-stream" : "application/json",
                                   [&ctx, filter, sse, seen, generation](size_t, httplib::DataSink& sink) {
    auto send = [&](const char* type, const Json& app) {
      std::string event = Json{{"result", {{"type", type}, {"application", app}}}}.dump(-1, ' ', false,
                                                                                       Json::error_handler_t::replace);
      std::string out = sse ? "data: " + event + "\n\n" : event + "\n";
      return sink.write(out.data(), out.size());
    };
    for (;;) {
      if (uint64_t now = ctx.store.generation(); now != *generation) {
        *generation = now;
        auto apps = select_apps(ctx, filter);
        if (!apps) break;
        std::set<std::string> present;
        for (const Json& app : *apps) {
          std::string name = text(app["metadata"], "name"), version = text(app["metadata"], "resourceVersion");
          present.insert(name);
          auto it = seen->find(name);
          if (it != seen->end() && it->second.first == version) continue;
          if (!send(it == seen->end() ? "ADDED" : "MODIFIED", app)) return false;
          (*seen)[name] = {version, app};
        }
        for (auto it = seen->begin(); it != seen->end();) {
          if (present.count(it->first)) {
            ++it;
            continue;
          }
          if (!send("DELETED", it->second.second)) return false;
          it = seen->erase(it);
        }
      }
      if (!sink.is_writable()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    sink.done();
    return true;
  });
}

}  // namespace

Result<Json> list_apps(ApiContext& ctx, const httplib::Request& req) {
  auto apps = select_apps(ctx, AppFilter::of(req));
  if (!apps) return apps.status();
  Json items = Json::array();
  for (Json& app : *apps) items.push_back(std::move(app));
  return Json{{"metadata", {{"resourceVersion", std::to_string(ctx.store.generation())}}}, {"items", items}};
}

void add_app_action_routes(httplib::Server& s, ApiContext& ctx) {
  const std::string item = R"(/api/v1/applications/([^/]+))";
  // An operation for the controller; the app as stored after it.
  auto operate = [&ctx](const httplib::Request& req, httplib::Response& res,
                        const std::function<Status(Json& app, const Json& body)>& change) {
    auto body = parse_body(req, true);
    if (!body) return app_fail(res, body.status());
    auto saved = modify_app(ctx, app_namespace_of(req), req.matches[1], [&](Json& app) { return change(app, *body); });
    if (!saved) return app_fail(res, saved.status());
    ctx.poke_controllers();
    reply(res, 200, object_json(*saved, Kind::kApplication));
  };
  s.Post(item + "/sync", [operate](const httplib::Request& req, httplib::Response& res) {
    operate(req, res, [](Json& app, const Json& body) { return start_operation(app, sync_operation(body)); });
  });
  s.Post(item + "/rollback", [operate](const httplib::Request& req, httplib::Response& res) {
    operate(req, res, [&req](Json& app, const Json& body) {
      auto sync = rollback_operation(app, req.matches[1], body);
      if (!sync) return sync.status();
      return start_operation(app, std::move(*sync));
    });
  });
  // DELETE .../operation: Argo CD's terminate — the running operation's phase becomes
  // Terminating, and the controller stops it.
  s.Delete(item + "/operation", [operate](const httplib::Request& req, httplib::Response& res) {
    operate(req, res, [](Json& app, const Json&) {
      if (!operation_in_progress(app)) return invalid("Unable to terminate operation. No operation is in progress");
      Json& state = app["status"]["operationState"];
      if (!state.is_object()) state = {{"operation", member(app, "operation")}};
      state["phase"] = "Terminating";
      return Status::ok();
    });
  });
  s.Get(item + "/resource-tree", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto rec = ctx.store.get_object(Kind::kApplication, app_namespace_of(req), req.matches[1]);
    if (!rec) {
      return app_fail(res, rec.status().code() == Code::kNotFound
                               ? not_found("applications.argoproj.io \"" + std::string(req.matches[1]) + "\" not found")
                               : rec.status());
    }
    Json tree = resource_tree(ctx, parse_json_or_discarded<Json>(rec->body));
    if (ctx.app_live_hooks) {  // hooks show while they exist, as in Argo CD's tree
      if (auto hooks = ctx.app_live_hooks(app_namespace_of(req), req.matches[1]))
        for (auto& node : *hooks) tree["nodes"].push_back(std::move(node));
    }
    reply(res, 200, tree);
  });
  const Status no_controller(Code::kUnavailable, "the application controller is not running");
  s.Get(item + "/managed-resources", [&ctx, no_controller](const httplib::Request& req, httplib::Response& res) {
    controller_view(ctx, req, res, [&](const std::string& ns, const std::string& name) -> Result<Json> {
      if (!ctx.app_managed_resources) return no_controller;
      return ctx.app_managed_resources(ns, name);
    });
  });
  s.Get(item + "/manifests", [&ctx, no_controller](const httplib::Request& req, httplib::Response& res) {
    controller_view(ctx, req, res, [&](const std::string& ns, const std::string& name) -> Result<Json> {
      if (!ctx.app_manifests) return no_controller;
      return ctx.app_manifests(ns, name, query(req, "revision"));
    });
  });
  s.Get("/api/v1/stream/applications",
        [&ctx](const httplib::Request& req, httplib::Response& res) { watch_apps(ctx, req, res); });
}

}  // namespace skiff::server
