// `skiff app ...`: Argo CD's Applications on a server, as the argocd CLI's `app` commands
// (create, list, get, delete, sync, history, rollback, set, wait, diff) over Argo CD's REST
// API (server/app_routes.h). Where and who: api_client.h; -N/--app-namespace (default
// "argocd"). Exit codes: 0 done, 1 failed or timed out (diff: 1 when something differs),
// 2 invalid input.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cd/diff_text.h"
#include "spec/decode.h"

namespace skiff::cli {
namespace {

struct AppFlags {
  Connection conn = connection_from_env();
  std::string app_namespace, output, file;
  std::vector<std::string> args;
  // create / set
  std::string name, repo, path, helm_chart, revision, dest_server, dest_name, dest_namespace, project, sync_policy;
  bool auto_prune = false, self_heal = false, upsert = false;
  std::vector<std::string> sync_options;
  // delete / sync / wait
  std::string cascade = "true";
  bool prune = false, dry_run = false, async = false;
  std::vector<std::string> resources;
  bool health = false, sync = false, operation = false;
  int timeout = 300;
};

int fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return s.code() == Code::kInvalid ? kExitInvalid : kExitFailed;
}

std::string query_of(const AppFlags& f) { return f.app_namespace.empty() ? "" : "?appNamespace=" + f.app_namespace; }
std::string item_path(const AppFlags& f, const std::string& name, const std::string& sub = "") {
  return "/api/v1/applications/" + name + sub + query_of(f);
}

std::string str(const Json& j, std::initializer_list<const char*> path) {
  const Json* at = &j;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) return "";
    at = &(*at)[key];
  }
  return at->is_string() ? at->get<std::string>() : at->is_null() ? "" : at->dump();
}

// The first source (sources[0] for a multi-source app).
Json source_of(const Json& app) {
  const Json spec = app.value("spec", Json::object());
  if (spec.contains("source")) return spec["source"];
  if (spec.contains("sources") && spec["sources"].is_array() && !spec["sources"].empty()) return spec["sources"][0];
  return Json::object();
}

// Applies the create/set flags that were given to `spec`.
void apply_flags(const AppFlags& f, Json& spec) {
  Json& source = spec.contains("sources") ? spec["sources"][0] : spec["source"];
  if (!f.repo.empty()) source["repoURL"] = f.repo;
  if (!f.path.empty()) source["path"] = f.path;
  if (!f.helm_chart.empty()) source["chart"] = f.helm_chart;
  if (!f.revision.empty()) source["targetRevision"] = f.revision;
  if (!f.dest_server.empty()) spec["destination"]["server"] = f.dest_server;
  if (!f.dest_name.empty()) spec["destination"]["name"] = f.dest_name;
  if (!f.dest_namespace.empty()) spec["destination"]["namespace"] = f.dest_namespace;
  if (!f.project.empty()) spec["project"] = f.project;
  if (f.sync_policy == "none" || f.sync_policy == "manual") spec["syncPolicy"].erase("automated");
  if (f.sync_policy == "automated" || f.sync_policy == "auto" || f.auto_prune || f.self_heal) {
    Json& automated = spec["syncPolicy"]["automated"];
    if (!automated.is_object()) automated = Json::object();
    if (f.auto_prune) automated["prune"] = true;
    if (f.self_heal) automated["selfHeal"] = true;
  }
  for (const std::string& o : f.sync_options) spec["syncPolicy"]["syncOptions"].push_back(o);
}

// The Application of `create`: the file's (checked by the same decoder as the server's) or
// the flags'.
Result<Json> app_to_create(const AppFlags& f) {
  Json app;
  if (!f.file.empty()) {
    std::ifstream in(f.file);
    if (!in) return invalid("cannot read " + f.file + ": check the path");
    std::stringstream text;
    text << in.rdbuf();
    spec::Decoded d = spec::decode_documents(text.str(), f.file);
    if (!d.diagnostics.empty()) return invalid(format_all(d.diagnostics));
    if (d.objects.size() != 1 || d.objects[0].kind != spec::Kind::kApplication)
      return invalid(f.file + " must hold one Application");
    app = Json::parse(d.objects[0].source_json);
  } else {
    if (f.name.empty() || f.repo.empty()) return invalid("app create needs -f FILE, or --name and --repo (with --path, --dest-server, ...)");
    app = {{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "Application"}, {"metadata", {{"name", f.name}}},
           {"spec", {{"source", Json::object()}, {"destination", Json::object()}}}};
  }
  if (!f.name.empty()) app["metadata"]["name"] = f.name;
  apply_flags(f, app["spec"]);
  if (!f.app_namespace.empty()) app["metadata"]["namespace"] = f.app_namespace;
  return app;
}

std::string sync_status(const Json& app) { return str(app, {"status", "sync", "status"}); }
std::string health_status(const Json& app) { return str(app, {"status", "health", "status"}); }

void print_list(const Json& page, const std::string& output) {
  const Json items = page.value("items", Json::array());
  if (output == "json" || output == "yaml") return print_object(items, output);
  if (output == "name") {
    for (const Json& a : items) std::printf("%s/%s\n", str(a, {"metadata", "namespace"}).c_str(), str(a, {"metadata", "name"}).c_str());
    return;
  }
  std::printf("%-24s %-34s %-14s %-10s %-10s %-12s %-10s %s\n", "NAME", "CLUSTER", "NAMESPACE", "PROJECT", "STATUS",
              "HEALTH", "SYNCPOLICY", output == "wide" ? "REPO PATH TARGET" : "CONDITIONS");
  for (const Json& a : items) {
    Json dest = a.value("spec", Json::object()).value("destination", Json::object());
    std::string cluster = dest.value("server", "");
    if (cluster.empty()) cluster = dest.value("name", "");
    bool automated = a.value("spec", Json::object()).value("syncPolicy", Json::object()).contains("automated");
    Json src = source_of(a);
    std::string last = output == "wide" ? src.value("repoURL", "") + " " + src.value("path", src.value("chart", "")) + " " +
                                              src.value("targetRevision", "")
                                        : "<none>";
    std::printf("%-24s %-34s %-14s %-10s %-10s %-12s %-10s %s\n", (str(a, {"metadata", "namespace"}) + "/" + str(a, {"metadata", "name"})).c_str(),
                cluster.c_str(), dest.value("namespace", "").c_str(), str(a, {"spec", "project"}).c_str(),
                sync_status(a).c_str(), health_status(a).c_str(), automated ? "Auto" : "Manual", last.c_str());
  }
}

void print_app(const Json& app, const std::string& output) {
  if (output == "json" || output == "yaml") return print_object(app, output);
  if (output == "name") {
    std::printf("%s\n", str(app, {"metadata", "name"}).c_str());
    return;
  }
  Json src = source_of(app);
  Json dest = app.value("spec", Json::object()).value("destination", Json::object());
  Json policy = app.value("spec", Json::object()).value("syncPolicy", Json::object());
  std::string automated = policy.contains("automated") ? "Automated" : "Manual";
  if (policy.value("automated", Json::object()).value("prune", false)) automated += " (Prune)";
  std::printf("Name:               %s/%s\n", str(app, {"metadata", "namespace"}).c_str(), str(app, {"metadata", "name"}).c_str());
  std::printf("Project:            %s\n", str(app, {"spec", "project"}).c_str());
  std::printf("Server:             %s\n", (dest.value("server", "") + dest.value("name", "")).c_str());
  std::printf("Namespace:          %s\n", dest.value("namespace", "").c_str());
  std::printf("Repo:               %s\n", src.value("repoURL", "").c_str());
  std::printf("Target:             %s\n", src.value("targetRevision", "").c_str());
  if (src.contains("chart")) std::printf("Chart:              %s\n", src.value("chart", "").c_str());
  else std::printf("Path:               %s\n", src.value("path", "").c_str());
  std::printf("Sync Policy:        %s\n", automated.c_str());
  std::printf("Sync Status:        %s\n", sync_status(app).c_str());
  std::printf("Health Status:      %s\n", health_status(app).c_str());
  Json urls = app.value("status", Json::object()).value("summary", Json::object()).value("externalURLs", Json::array());
  for (const Json& url : urls)
    if (url.is_string()) std::printf("External URL:       %s\n", url.get<std::string>().c_str());
  std::string phase = str(app, {"status", "operationState", "phase"});
  if (!phase.empty()) {
    std::printf("\nOperation:          Sync\nPhase:              %s\nMessage:            %s\n", phase.c_str(),
                str(app, {"status", "operationState", "message"}).c_str());
  }
  Json resources = app.value("status", Json::object()).value("resources", Json::array());
  if (resources.empty()) return;
  std::printf("\n%-8s %-16s %-14s %-28s %-10s %-12s %s\n", "GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "MESSAGE");
  for (const Json& r : resources) {
    std::printf("%-8s %-16s %-14s %-28s %-10s %-12s %s\n", r.value("group", "").c_str(), r.value("kind", "").c_str(),
                r.value("namespace", "").c_str(), r.value("name", "").c_str(), r.value("status", "").c_str(),
                str(r, {"health", "status"}).c_str(), str(r, {"health", "message"}).c_str());
  }
}

// "GROUP:KIND:NAME" or "GROUP:KIND:NAMESPACE/NAME", as argocd's --resource.
Result<Json> resource_of(const std::string& text) {
  size_t a = text.find(':'), b = a == std::string::npos ? a : text.find(':', a + 1);
  if (b == std::string::npos) return invalid("--resource \"" + text + "\" must be GROUP:KIND:NAME (GROUP may be empty)");
  Json r = {{"group", text.substr(0, a)}, {"kind", text.substr(a + 1, b - a - 1)}};
  std::string name = text.substr(b + 1);
  if (size_t slash = name.find('/'); slash != std::string::npos) {
    r["namespace"] = name.substr(0, slash);
    name = name.substr(slash + 1);
  }
  r["name"] = name;
  return r;
}

bool operation_done(const Json& app) {
  if (app.contains("operation") && !app["operation"].is_null()) return false;
  std::string phase = str(app, {"status", "operationState", "phase"});
  return phase != "Running" && phase != "Terminating";
}

// Polls the app until `done` holds or `timeout` seconds pass (0: no limit).
Result<Json> wait_for(ApiClient& api, const AppFlags& f, const std::string& name, int timeout,
                      const std::function<bool(const Json&)>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  for (;;) {
    auto app = api.call("GET", item_path(f, name));
    if (!app) return app.status();
    if (done(*app)) return app;
    if (timeout > 0 && std::chrono::steady_clock::now() >= deadline)
      return failed("timed out (" + std::to_string(timeout) + "s) waiting for app \"" + name + "\" match desired state");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// `app diff`: the managed resources whose live state differs from the target, as argocd
// prints them; 1 when something differs.
int diff(ApiClient& api, const AppFlags& f, const std::string& name) {
  auto managed = api.call("GET", item_path(f, name, "/managed-resources"));
  if (!managed) return fail(managed.status());
  bool differs = false;
  for (const Json& item : managed->value("items", Json::array())) {
    // A state as block YAML ("" when the object is absent on that side).
    auto state = [&](const char* field) {
      std::string text = item.value(field, "");
      if (text.empty() || text == "null") return std::string();
      nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      return j.is_discarded() ? text : cd::to_yaml(j);
    };
    std::string live = state(item.contains("normalizedLiveState") ? "normalizedLiveState" : "liveState");
    std::string target = state("targetState");
    std::string text = cd::unified_diff(live, target);
    if (text.empty()) continue;
    differs = true;
    std::printf("===== %s/%s %s/%s ======\n", item.value("group", "").c_str(), item.value("kind", "").c_str(),
                item.value("namespace", "").c_str(), item.value("name", "").c_str());
    std::printf("%s\n", text.c_str());
  }
  return differs ? kExitFailed : kExitOk;
}

int run(AppFlags& f, const std::string& verb) {
  ApiClient api(f.conn);
  const std::string name = f.args.empty() ? "" : f.args[0];
  if (verb == "create") {
    auto app = app_to_create(f);
    if (!app) return fail(app.status());
    std::string upsert = f.upsert ? "upsert=true" : "";
    std::string q = query_of(f);
    auto saved = api.call("POST", "/api/v1/applications" + q + (upsert.empty() ? "" : (q.empty() ? "?" : "&") + upsert), &*app);
    if (!saved) return fail(saved.status());
    std::printf("application '%s' created\n", str(*saved, {"metadata", "name"}).c_str());
    return kExitOk;
  }
  if (verb == "list") {
    auto page = api.call("GET", "/api/v1/applications" + query_of(f));
    if (!page) return fail(page.status());
    print_list(*page, f.output);
    return kExitOk;
  }
  if (verb == "get") {
    auto app = api.call("GET", item_path(f, name));
    if (!app) return fail(app.status());
    print_app(*app, f.output);
    return kExitOk;
  }
  if (verb == "delete") {
    if (f.cascade != "true" && f.cascade != "false") return fail(invalid("--cascade must be true or false"));
    std::string q = query_of(f);
    auto r = api.call("DELETE", item_path(f, name) + (q.empty() ? "?" : "&") + "cascade=" + f.cascade);
    if (!r) return fail(r.status());
    std::printf("application '%s' deleted\n", name.c_str());
    return kExitOk;
  }
  if (verb == "sync" || verb == "rollback") {
    Json body = {{"prune", f.prune}, {"dryRun", f.dry_run}};
    if (verb == "sync") {
      if (!f.revision.empty()) body["revision"] = f.revision;
      for (const std::string& text : f.resources) {
        auto r = resource_of(text);
        if (!r) return fail(r.status());
        body["resources"].push_back(*r);
      }
    } else {
      if (f.args.size() != 2) return fail(invalid("app rollback needs NAME and a history ID (see `skiff app history NAME`)"));
      const std::string& id = f.args[1];
      if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos)
        return fail(invalid("history ID \"" + id + "\" must be a number (see `skiff app history " + name + "`)"));
      body["id"] = std::stoll(id);
    }
    auto started = api.call("POST", item_path(f, name, "/" + verb), &body);
    if (!started) return fail(started.status());
    if (f.async) return kExitOk;
    auto app = wait_for(api, f, name, f.timeout, operation_done);
    if (!app) return fail(app.status());
    print_app(*app, f.output);
    std::string phase = str(*app, {"status", "operationState", "phase"});
    return phase == "Succeeded" ? kExitOk : kExitFailed;
  }
  if (verb == "history") {
    auto app = api.call("GET", item_path(f, name));
    if (!app) return fail(app.status());
    Json history = app->value("status", Json::object()).value("history", Json::array());
    if (f.output == "json" || f.output == "yaml") return print_object(history, f.output), kExitOk;
    std::printf("%-4s %-22s %s\n", "ID", "DATE", "REVISION");
    for (const Json& h : history)
      std::printf("%-4s %-22s %s\n", str(h, {"id"}).c_str(), str(h, {"deployedAt"}).c_str(), str(h, {"revision"}).c_str());
    return kExitOk;
  }
  if (verb == "set") {
    auto app = api.call("GET", item_path(f, name));
    if (!app) return fail(app.status());
    Json spec = app->value("spec", Json::object());
    apply_flags(f, spec);
    auto saved = api.call("PUT", item_path(f, name, "/spec"), &spec);
    if (!saved) return fail(saved.status());
    return kExitOk;
  }
  if (verb == "wait") {
    bool all = !f.health && !f.sync && !f.operation;
    auto app = wait_for(api, f, name, f.timeout, [&](const Json& a) {
      return ((!all && !f.sync) || sync_status(a) == "Synced") && ((!all && !f.health) || health_status(a) == "Healthy") &&
             ((!all && !f.operation) || operation_done(a));
    });
    if (!app) return fail(app.status());
    print_app(*app, f.output);
    return kExitOk;
  }
  return diff(api, f, name);
}

}  // namespace

void add_app_commands(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<AppFlags>();
  auto* top = app.add_subcommand("app", "Argo CD Applications on a server (as the argocd CLI's app commands)");
  top->require_subcommand(1);
  auto common = [f](CLI::App* c) {
    add_connection_flags(c, f->conn);
    c->add_option("-N,--app-namespace", f->app_namespace, "the Applications' namespace (default \"argocd\")");
    c->add_option("-o,--output", f->output, "json | yaml | wide | name");
  };
  auto spec_flags = [f](CLI::App* c) {
    c->add_option("--repo", f->repo, "the git repository's URL");
    c->add_option("--path", f->path, "the path in the repository");
    c->add_option("--helm-chart", f->helm_chart, "a chart of the Helm repository or OCI registry --repo (--revision: its version)");
    c->add_option("--revision", f->revision, "branch, tag or commit (default HEAD)");
    c->add_option("--dest-server", f->dest_server, "the cluster's URL (https://kubernetes.default.svc)");
    c->add_option("--dest-name", f->dest_name, "the cluster's name instead of its URL");
    c->add_option("--dest-namespace", f->dest_namespace, "the namespace to deploy into");
    c->add_option("--project", f->project, "the AppProject (default \"default\")");
    c->add_option("--sync-policy", f->sync_policy, "automated | none");
    c->add_flag("--auto-prune", f->auto_prune, "automated sync deletes what git no longer has");
    c->add_flag("--self-heal", f->self_heal, "automated sync undoes changes made in the cluster");
    c->add_option("--sync-option", f->sync_options, "e.g. CreateNamespace=true (repeatable)")->allow_extra_args(false);
  };
  struct Verb {
    const char* name;
    const char* help;
    int args;  // 0 none, 1 a name, 2 a name and an id
  };
  for (Verb v : {Verb{"create", "create an Application from -f FILE or flags", 0}, Verb{"list", "list Applications", 0},
                 Verb{"get", "show an Application", 1}, Verb{"delete", "delete an Application (and its resources)", 1},
                 Verb{"sync", "sync an Application to its target revision", 1}, Verb{"history", "show its sync history", 1},
                 Verb{"rollback", "sync to a history entry's revision", 2}, Verb{"set", "change an Application's spec", 1},
                 Verb{"wait", "wait until it is synced, healthy and done", 1},
                 Verb{"diff", "show how the live resources differ from git", 1}}) {
    auto* c = top->add_subcommand(v.name, v.help);
    common(c);
    std::string verb = v.name;
    if (v.args > 0) c->add_option("args", f->args, v.args == 2 ? "NAME ID" : "NAME")->required()->expected(v.args);
    if (verb == "create") {
      c->add_option("-f,--file", f->file, "an Application's YAML");
      c->add_option("--name", f->name, "the Application's name");
      c->add_flag("--upsert", f->upsert, "replace an existing one");
      spec_flags(c);
    }
    if (verb == "set") spec_flags(c);
    if (verb == "delete") c->add_option("--cascade", f->cascade, "delete its resources too (default true)");
    if (verb == "sync" || verb == "rollback") {
      c->add_flag("--prune", f->prune, "delete resources git no longer has");
      c->add_flag("--dry-run", f->dry_run, "only show what would change");
      c->add_flag("--async", f->async, "do not wait for the sync to finish");
      c->add_option("--timeout", f->timeout, "seconds to wait (default 300)");
    }
    if (verb == "sync") {
      c->add_option("--revision", f->revision, "sync to this revision rather than the target");
      c->add_option("--resource", f->resources, "GROUP:KIND:NAME, only these (repeatable)")->allow_extra_args(false);
    }
    if (verb == "wait") {
      c->add_flag("--health", f->health, "wait until healthy");
      c->add_flag("--sync", f->sync, "wait until synced");
      c->add_flag("--operation", f->operation, "wait until no operation runs");
      c->add_option("--timeout", f->timeout, "seconds (default 300)");
    }
    c->callback([f, exit_code, verb] { *exit_code = run(*f, verb); });
  }
}

}  // namespace skiff::cli
