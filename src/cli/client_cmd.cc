// The argo-style client commands, talking to `skiff server` (or Argo Server) over its
// REST API: submit, list, get, logs, wait, watch, delete, retry, resubmit, stop,
// terminate, suspend, resume, node set, template create|list|get|delete|lint and
// cron create|list|get|delete|suspend|resume|lint.
// Where and who: see api_client.h; -n (ARGO_NAMESPACE, default "default").
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>
#include <map>
#include <optional>
#include <unistd.h>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/load.h"
#include "cli/system_clock.h"
#include "engine/workflow_json.h"
#include "net/http_client.h"
#include "server/cron_controller.h"
#include "spec/decode.h"

namespace skiff::cli {
namespace {


struct ClientFlags {
  Connection conn = connection_from_env();
  std::string namespace_;
  std::string output;
  std::vector<std::string> args;
  std::vector<std::string> parameters;
  std::string from;
  bool watch = false;
  bool log = false;
  bool follow = false;
  std::string selector;
  std::string node_selector;
  std::string phase, message;
  std::vector<std::string> output_parameters;
};

std::string ns_of(const ClientFlags& f) { return f.namespace_.empty() ? env_or("ARGO_NAMESPACE", "default") : f.namespace_; }

int fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return s.code() == Code::kInvalid ? kExitInvalid : kExitFailed;
}

spec::WorkflowPhase phase_of(const Json& wf) {
  const Json status = wf.value("status", Json::object());
  return spec::parse_workflow_phase(status.value("phase", std::string()));
}

void print_workflow(const Json& wf, const std::string& output) {
  if (output == "json" || output == "yaml") return print_object(wf, output);
  const Json meta = wf.value("metadata", Json::object());
  if (output == "name") {
    std::printf("%s\n", meta.value("name", "").c_str());
    return;
  }
  const Json status = wf.value("status", Json::object());
  std::printf("Name:        %s\nNamespace:   %s\nStatus:      %s\n", meta.value("name", "").c_str(),
              meta.value("namespace", "").c_str(), spec::workflow_phase_name(phase_of(wf)));
  if (status.contains("message")) std::printf("Message:     %s\n", status["message"].get<std::string>().c_str());
  if (status.contains("progress")) std::printf("Progress:    %s\n", status["progress"].get<std::string>().c_str());
  if (!status.contains("nodes")) return;
  std::printf("\n %-40s %-10s %-12s %s\n", "STEP", "TYPE", "PHASE", "MESSAGE");
  for (const auto& [id, n] : status["nodes"].items()) {
    std::printf(" %-40s %-10s %-12s %s\n", n.value("name", id).c_str(), n.value("type", "").c_str(),
                n.value("phase", "").c_str(), n.value("message", "").c_str());
  }
}

// Polls until the workflow ends; prints each phase change when `verbose`.
Result<Json> wait_for(ApiClient& api, const std::string& ns, const std::string& name, bool verbose) {
  std::optional<spec::WorkflowPhase> last;
  for (;;) {
    auto wf = api.call("GET", "/api/v1/workflows/" + ns + "/" + name);
    if (!wf) return wf;
    spec::WorkflowPhase phase = phase_of(*wf);
    if (verbose && phase != last) std::fprintf(stderr, "%s: %s\n", name.c_str(), spec::workflow_phase_name(phase));
    last = phase;
    if (spec::is_finished(phase)) return wf;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

// `argo watch`: the workflow shown again whenever it changes, until it ends.
Result<Json> watch(ApiClient& api, const std::string& ns, const std::string& name) {
  std::string last;
  bool tty = isatty(STDOUT_FILENO);
  for (;;) {
    auto wf = api.call("GET", "/api/v1/workflows/" + ns + "/" + name);
    if (!wf) return wf;
    std::string version = (*wf)["metadata"].value("resourceVersion", "");
    if (version != last) {
      if (tty) std::printf("\033[H\033[2J");
      print_workflow(*wf, "wide");
      std::printf("\n");
      std::fflush(stdout);
      last = version;
    }
    if (spec::is_finished(phase_of(*wf))) return wf;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// `argo node set NAME --node-field-selector S [--output-parameter k=v] [--phase P] [--message M]`.
int node_set(const ClientFlags& f) {
  ApiClient api(f.conn);
  if (f.node_selector.empty()) return fail(invalid("node set needs --node-field-selector, e.g. displayName=approve"));
  Json outputs = Json::object();
  for (const auto& kv : f.output_parameters) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) return fail(invalid("--output-parameter \"" + kv + "\" is not name=value"));
    outputs[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  Json body = {{"nodeFieldSelector", f.node_selector}, {"phase", f.phase}, {"message", f.message}};
  if (!outputs.empty()) body["outputParameters"] = outputs.dump();
  auto r = api.call("PUT", "/api/v1/workflows/" + ns_of(f) + "/" + f.args[0] + "/set", &body);
  if (!r) return fail(r.status());
  std::printf("workflow %s: nodes matching %s set\n", f.args[0].c_str(), f.node_selector.c_str());
  return kExitOk;
}

int stream_logs(ApiClient& api, const std::string& ns, const std::string& name, bool follow) {
  Status s = api.stream("/api/v1/workflows/" + ns + "/" + name + "/log?logOptions.container=main" +
                            (follow ? "&logOptions.follow=true" : ""),
                        [](const std::string& line) {
                          Json j = Json::parse(line, nullptr, false);
                          if (!j.is_object() || !j.contains("result")) return;
                          std::printf("%s: %s\n", j["result"].value("podName", "").c_str(),
                                      j["result"].value("content", "").c_str());
                          std::fflush(stdout);
                        });
  return s ? kExitOk : fail(s);
}

int submit(const ClientFlags& f) {
  ApiClient api(f.conn);
  std::string ns = ns_of(f);
  std::vector<std::string> names;
  auto params = load_parameters(f.parameters, "");
  if (!params) return fail(params.status());
  if (!f.from.empty()) {
    size_t slash = f.from.find('/');
    std::string kind = f.from.substr(0, slash);
    if (slash == std::string::npos || (kind != "workflowtemplate" && kind != "clusterworkflowtemplate")) {
      return fail(invalid("--from " + f.from + ": expected workflowtemplate/NAME or clusterworkflowtemplate/NAME"));
    }
    Json opts = {{"parameters", Json::array()}};
    for (const auto& [k, v] : *params) opts["parameters"].push_back(k + "=" + v);
    Json body = {{"resourceKind", kind == "workflowtemplate" ? "WorkflowTemplate" : "ClusterWorkflowTemplate"},
                 {"resourceName", f.from.substr(slash + 1)},
                 {"submitOptions", opts}};
    auto wf = api.call("POST", "/api/v1/workflows/" + ns + "/submit", &body);
    if (!wf) return fail(wf.status());
    names.push_back((*wf)["metadata"]["name"]);
  } else {
    if (f.args.empty()) return fail(invalid("give workflow files, or --from workflowtemplate/NAME"));
    Loaded loaded;
    load_files(f.args, loaded);
    if (!loaded.diagnostics.empty()) {
      std::fputs(format_all(loaded.diagnostics).c_str(), stderr);
      return kExitInvalid;
    }
    if (Status s = refuse_configs(loaded); !s) return fail(s);
    for (const auto& obj : loaded.objects) {
      if (obj.kind != spec::Kind::kWorkflow) continue;
      Json doc = Json::parse(obj.source_json);
      for (const auto& [k, v] : *params) {
        Json& list = doc["spec"]["arguments"]["parameters"];
        bool set = false;
        for (auto& p : list) {
          if (p.value("name", "") == k) {
            p["value"] = v;
            set = true;
          }
        }
        if (!set) list.push_back({{"name", k}, {"value", v}});
      }
      Json body = {{"workflow", doc}};
      auto wf = api.call("POST", "/api/v1/workflows/" + ns, &body);
      if (!wf) return fail(wf.status());
      names.push_back((*wf)["metadata"]["name"]);
    }
    if (names.empty()) return fail(invalid("no Workflow in the given files"));
  }
  int rc = kExitOk;
  for (const auto& name : names) {
    if (f.log) stream_logs(api, ns, name, true);
    if (f.watch || f.log) {
      auto wf = wait_for(api, ns, name, !f.log);
      if (!wf) return fail(wf.status());
      print_workflow(*wf, f.output);
      if (phase_of(*wf) != spec::WorkflowPhase::kSucceeded) rc = kExitFailed;
    } else if (f.output == "name" || f.output.empty()) {
      std::printf("%s\n", name.c_str());
    } else {
      auto wf = api.call("GET", "/api/v1/workflows/" + ns + "/" + name);
      if (wf) print_workflow(*wf, f.output);
    }
  }
  return rc;
}

int list(const ClientFlags& f) {
  ApiClient api(f.conn);
  std::string path = "/api/v1/workflows/" + ns_of(f);
  if (!f.selector.empty()) {
    path += "?listOptions.labelSelector=" + net::url_escape(f.selector);
  }
  auto page = api.call("GET", path);
  if (!page) return fail(page.status());
  if (f.output == "json" || f.output == "yaml") {
    print_object(*page, f.output);
    return kExitOk;
  }
  bool wide = f.output == "wide";
  if (f.output != "name") {
    std::printf("%-40s %-10s %-20s ", "NAME", "STATUS", "STARTED");
    if (wide) std::printf("%-9s %-8s ", "DURATION", "PROGRESS");
    std::printf("MESSAGE\n");
  }
  for (const auto& wf : page->value("items", Json::array())) {
    const Json status = wf.value("status", Json::object());
    std::string name = wf["metadata"].value("name", "");
    if (f.output == "name") {
      std::printf("%s\n", name.c_str());
      continue;
    }
    std::printf("%-40s %-10s %-20s ", name.c_str(), spec::workflow_phase_name(phase_of(wf)), status.value("startedAt", std::string()).c_str());
    if (wide) {
      int64_t started = engine::parse_rfc3339(status.value("startedAt", std::string()));
      int64_t finished = engine::parse_rfc3339(status.value("finishedAt", std::string()));
      std::string duration = started < 0 ? "-" : fmt::format("{}s", ((finished < 0 ? SystemClock().now_ms() : finished) - started) / 1000);
      std::printf("%-9s %-8s ", duration.c_str(), status.value("progress", std::string("-")).c_str());
    }
    std::printf("%s\n", status.value("message", std::string()).c_str());
  }
  return kExitOk;
}

// get, wait, delete, retry, resubmit, stop, terminate: one workflow name each.
int on_each(const ClientFlags& f, const std::string& verb) {
  ApiClient api(f.conn);
  std::string ns = ns_of(f);
  if (f.args.empty()) return fail(invalid(verb + " needs a workflow name"));
  int rc = kExitOk;
  for (const auto& name : f.args) {
    std::string path = "/api/v1/workflows/" + ns + "/" + name;
    Result<Json> r = Status(Code::kInternal, "");
    Json empty = Json::object();
    if (verb == "get") {
      r = api.call("GET", path);
    } else if (verb == "wait") {
      r = wait_for(api, ns, name, false);
    } else if (verb == "delete") {
      r = api.call("DELETE", path);
    } else if (verb == "watch") {
      r = watch(api, ns, name);
    } else if (verb == "resume") {
      Json body = {{"nodeFieldSelector", f.node_selector}};
      r = api.call("PUT", path + "/resume", &body);
    } else {
      r = api.call("PUT", path + "/" + verb, &empty);
    }
    if (!r) {
      rc = fail(r.status());
      continue;
    }
    if (verb == "get" || verb == "watch") {
      if (verb == "get") print_workflow(*r, f.output);
      if (verb == "watch" && phase_of(*r) != spec::WorkflowPhase::kSucceeded) rc = kExitFailed;
    } else if (verb == "wait") {
      std::printf("%s %s\n", name.c_str(), spec::workflow_phase_name(phase_of(*r)));
      if (phase_of(*r) != spec::WorkflowPhase::kSucceeded) rc = kExitFailed;
    } else if (verb == "resubmit") {
      std::printf("%s\n", (*r)["metadata"].value("name", "").c_str());
    } else {
      static const std::map<std::string, std::string> kDone = {
          {"delete", "deleted"}, {"retry", "retried"}, {"stop", "stopped"}, {"terminate", "terminated"},
          {"suspend", "suspended"}, {"resume", "resumed"}};
      std::printf("workflow %s %s\n", name.c_str(), kDone.at(verb).c_str());
    }
  }
  return rc;
}


// `cron list` in the argo CLI's columns; the next run is worked out here from the schedule.
void print_crons(const Json& page) {
  std::printf("%-30s %-22s %-22s %-20s %-16s %s\n", "NAME", "LAST RUN", "NEXT RUN", "SCHEDULE", "TIMEZONE", "SUSPENDED");
  int64_t now = SystemClock().now_ms();
  for (const auto& c : page.value("items", Json::array())) {
    spec::Decoded d = spec::decode_documents(c.dump(), "cron-workflows");
    spec::CronSpec cron = d.objects.size() == 1 && d.objects[0].cron ? *d.objects[0].cron : spec::CronSpec();
    std::string schedule;
    for (const auto& s : cron.schedules) schedule += (schedule.empty() ? "" : ",") + s;
    auto next = server::CronController::next_run(cron, now);
    std::printf("%-30s %-22s %-22s %-20s %-16s %s\n", c["metadata"].value("name", "").c_str(),
                c.value("status", Json::object()).value("lastScheduledTime", "-").c_str(),
                next ? (*next < 0 ? "-" : engine::rfc3339(*next).c_str()) : "(bad schedule)", schedule.c_str(),
                cron.timezone.empty() ? "UTC" : cron.timezone.c_str(), cron.suspend ? "true" : "false");
  }
}

// The named objects of a kind the server keeps (WorkflowTemplates, CronWorkflows), at the
// path and in the body field its registry entry names.
int resource_cmd(const ClientFlags& f, spec::Kind kind, const std::string& verb) {
  const spec::KindInfo& what = spec::kind_info(kind);
  std::string word = what.name;  // as printed: "workflowtemplate"
  std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::tolower(c); });
  ApiClient api(f.conn);
  std::string base = std::string("/api/v1/") + what.plural + "/" + ns_of(f);
  if (verb == "list") {
    auto page = api.call("GET", base);
    if (!page) return fail(page.status());
    if (f.output == "json" || f.output == "yaml") {
      print_object(*page, f.output);
    } else if (what.kind == spec::Kind::kCronWorkflow && f.output != "name") {
      print_crons(*page);
    } else {
      for (const auto& t : page->value("items", Json::array())) std::printf("%s\n", t["metadata"].value("name", "").c_str());
    }
    return kExitOk;
  }
  if (verb == "get" || verb == "delete" || verb == "suspend" || verb == "resume") {
    int rc = kExitOk;
    Json empty = Json::object();
    for (const auto& name : f.args) {
      auto r = verb == "get"      ? api.call("GET", base + "/" + name)
               : verb == "delete" ? api.call("DELETE", base + "/" + name)
                                  : api.call("PUT", base + "/" + name + "/" + verb, &empty);
      if (!r) {
        rc = fail(r.status());
      } else if (verb == "get") {
        print_object(*r, f.output == "yaml" ? "yaml" : "json");
      } else {
        std::printf("%s %s %s\n", word.c_str(), name.c_str(), verb == "delete" ? "deleted" : (verb == "suspend" ? "suspended" : "resumed"));
      }
    }
    return rc;
  }
  // create / lint: every WorkflowTemplate in the files.
  Loaded loaded;
  load_files(f.args, loaded);
  if (!loaded.diagnostics.empty()) {
    std::fputs(format_all(loaded.diagnostics).c_str(), stderr);
    return kExitInvalid;
  }
  if (Status s = refuse_configs(loaded); !s) return fail(s);
  // Templates may refer to each other: whatever is refused is tried again after the rest,
  // as long as each pass gets further.
  std::vector<const spec::Object*> pending;
  for (const auto& obj : loaded.objects) {
    if (obj.kind == what.kind) pending.push_back(&obj);
  }
  if (pending.empty()) return fail(invalid(std::string("no ") + spec::kind_name(what.kind) + " in the given files"));
  std::map<const spec::Object*, Status> errors;
  for (bool progress = true; progress && !pending.empty();) {
    progress = false;
    std::vector<const spec::Object*> again;
    for (const spec::Object* obj : pending) {
      Json body = {{what.body_field, Json::parse(obj->source_json)}};
      auto r = api.call("POST", base + (verb == "lint" ? "/lint" : ""), &body);
      if (r) {
        std::printf("%s %s\n", obj->metadata.name.c_str(), verb == "lint" ? "is valid" : "created");
        progress = true;
      } else {
        errors[obj] = r.status();
        again.push_back(obj);
      }
    }
    pending = std::move(again);
  }
  for (const spec::Object* obj : pending) fail(errors[obj].with_context(obj->metadata.name));
  return pending.empty() ? kExitOk : kExitFailed;
}

}  // namespace

void add_client_commands(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<ClientFlags>();
  auto common = [f](CLI::App* c) {
    add_connection_flags(c, f->conn);
    c->add_option("-n,--namespace", f->namespace_, "namespace (ARGO_NAMESPACE, default \"default\")");
    c->add_option("-o,--output", f->output, "json | yaml | name | wide");
  };
  auto* s = app.add_subcommand("submit", "submit workflows to a server");
  common(s);
  s->add_option("files", f->args, "workflow files");
  s->add_option("-p,--parameter", f->parameters, "name=value")->allow_extra_args(false);
  s->add_option("--from", f->from, "workflowtemplate/NAME or clusterworkflowtemplate/NAME");
  s->add_flag("-w,--watch", f->watch, "wait for the workflow and show how it ended");
  s->add_flag("--log", f->log, "stream its logs, then show how it ended");
  s->callback([f, exit_code] { *exit_code = submit(*f); });
  auto* l = app.add_subcommand("list", "list workflows on a server");
  common(l);
  l->add_option("-l,--selector", f->selector, "label selector, e.g. app=web,workflows.argoproj.io/phase=Running");
  l->callback([f, exit_code] { *exit_code = list(*f); });
  auto* logs = app.add_subcommand("logs", "print a workflow's logs");
  common(logs);
  logs->add_option("name", f->args, "workflow name")->required();
  logs->add_flag("-f,--follow", f->follow, "keep streaming until the workflow ends");
  logs->callback([f, exit_code] {
    ApiClient api(f->conn);
    *exit_code = stream_logs(api, ns_of(*f), f->args[0], f->follow);
  });
  for (const char* verb : {"get", "wait", "watch", "delete", "retry", "resubmit", "stop", "terminate", "suspend", "resume"}) {
    auto* c = app.add_subcommand(verb, std::string(verb) + " workflows on a server");
    common(c);
    c->add_option("names", f->args, "workflow names")->required();
    if (std::string(verb) == "resume") {
      c->add_option("--node-field-selector", f->node_selector, "resume only these Suspend nodes, e.g. displayName=approve");
    }
    c->callback([f, exit_code, verb] { *exit_code = on_each(*f, verb); });
  }
  auto* node = app.add_subcommand("node", "change a running workflow's nodes");
  node->require_subcommand(1);
  auto* set = node->add_subcommand("set", "set outputs, phase or message of Suspend nodes");
  common(set);
  set->add_option("name", f->args, "workflow name")->required();
  set->add_option("--node-field-selector", f->node_selector, "which nodes, e.g. displayName=approve")->required();
  set->add_option("--output-parameter", f->output_parameters, "name=value")->allow_extra_args(false);
  set->add_option("--phase", f->phase, "Succeeded | Failed | Error");
  set->add_option("--message", f->message, "the node's message");
  set->callback([f, exit_code] { *exit_code = node_set(*f); });
  auto* t = app.add_subcommand("template", "workflow templates on a server");
  t->require_subcommand(1);
  for (const char* verb : {"create", "list", "get", "delete", "lint"}) {
    auto* c = t->add_subcommand(verb, std::string(verb) + " workflow templates");
    common(c);
    if (std::string(verb) != "list") c->add_option("args", f->args, "files or names")->required();
    c->callback([f, exit_code, verb] { *exit_code = resource_cmd(*f, spec::Kind::kWorkflowTemplate, verb); });
  }
  auto* cron = app.add_subcommand("cron", "cron workflows on a server");
  cron->require_subcommand(1);
  for (const char* verb : {"create", "list", "get", "delete", "suspend", "resume", "lint"}) {
    auto* c = cron->add_subcommand(verb, std::string(verb) + " cron workflows");
    common(c);
    if (std::string(verb) != "list") c->add_option("args", f->args, "files or names")->required();
    c->callback([f, exit_code, verb] { *exit_code = resource_cmd(*f, spec::Kind::kCronWorkflow, verb); });
  }
}

}  // namespace skiff::cli
