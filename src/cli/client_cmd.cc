// The argo-style client commands, talking to `skiff server` (or Argo Server) over its
// REST API: submit, list, get, logs, wait, watch, delete, retry, resubmit, stop,
// terminate, suspend, resume, node set, template create|list|get|delete|lint and
// cron create|list|get|delete|suspend|resume|lint.
//
// Where and who: --argo-server HOST:PORT (ARGO_SERVER, default localhost:2746), --secure
// (ARGO_SECURE, default true as in the argo CLI), -k (ARGO_INSECURE_SKIP_VERIFY),
// --token (ARGO_TOKEN, with or without "Bearer "), -n (ARGO_NAMESPACE, default "default").
#include <CLI/CLI.hpp>
#include <curl/curl.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>
#include <map>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/load.h"
#include "server/cron_controller.h"

namespace skiff::cli {
namespace {

using Json = nlohmann::ordered_json;

struct ClientFlags {
  std::string server;
  std::string token;
  std::string namespace_;
  bool secure = true;
  bool insecure = false;
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

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

bool env_true(const char* name, bool fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::string(v) == "true" || std::string(v) == "1";
}

class Api {
 public:
  explicit Api(const ClientFlags& f) {
    std::string host = f.server.empty() ? env_or("ARGO_SERVER", "localhost:2746") : f.server;
    if (host.find("://") == std::string::npos) host = (f.secure ? "https://" : "http://") + host;
    base_ = host;
    std::string token = f.token.empty() ? env_or("ARGO_TOKEN", "") : f.token;
    if (!token.empty() && token.rfind("Bearer ", 0) != 0) token = "Bearer " + token;
    auth_ = token;
    insecure_ = f.insecure;
  }

  // Sends a request; a JSON error body becomes a Status with its message.
  Result<Json> call(const std::string& method, const std::string& path, const Json* body = nullptr) {
    std::string out;
    long status = 0;
    Status s = perform(method, path, body, [&](const char* d, size_t n) {
      if (out.size() < (64u << 20)) out.append(d, n);
      return true;
    }, &status);
    if (!s) return s;
    Json j = Json::parse(out.empty() ? "{}" : out, nullptr, false);
    if (status >= 400) {
      std::string message = j.is_object() && j.contains("message") ? j["message"].get<std::string>() : out;
      Code code = status == 404 ? Code::kNotFound : status == 409 ? Code::kAlreadyExists
                : status == 400 ? Code::kInvalid : Code::kFailed;
      return Status(code, message + " (HTTP " + std::to_string(status) + ")");
    }
    if (j.is_discarded()) return Status(Code::kFailed, "the server answered with something that is not JSON");
    return j;
  }

  // Streams a response line by line (Argo's log stream).
  Status stream(const std::string& path, const std::function<void(const std::string&)>& line) {
    std::string partial;
    long status = 0;
    Status s = perform("GET", path, nullptr, [&](const char* d, size_t n) {
      partial.append(d, n);
      for (size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
        line(partial.substr(0, nl));
        partial.erase(0, nl + 1);
      }
      return true;
    }, &status);
    if (s && status >= 400) return Status(Code::kFailed, "HTTP " + std::to_string(status) + ": " + partial);
    return s;
  }

 private:
  using Sink = std::function<bool(const char*, size_t)>;
  static size_t on_data(char* d, size_t size, size_t n, void* user) {
    return (*static_cast<Sink*>(user))(d, size * n) ? size * n : 0;
  }

  Status perform(const std::string& method, const std::string& path, const Json* body, Sink sink, long* status) {
    CURL* curl = curl_easy_init();
    if (!curl) return internal_error("cannot initialise libcurl");
    std::string url = base_ + path;
    std::string payload = body ? body->dump() : "";
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    if (!auth_.empty()) headers = curl_slist_append(headers, ("Authorization: " + auth_).c_str());
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    if (body) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload.c_str());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
    }
    if (insecure_) {
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) {
      std::string hint = rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION
                             ? " (a plain-HTTP server wants --secure=false; a self-signed certificate -k)"
                             : "";
      return Status(Code::kUnavailable, base_ + ": " + curl_easy_strerror(rc) + hint);
    }
    return Status::ok();
  }

  std::string base_, auth_;
  bool insecure_ = false;
};

std::string ns_of(const ClientFlags& f) { return f.namespace_.empty() ? env_or("ARGO_NAMESPACE", "default") : f.namespace_; }

int fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return s.code() == Code::kInvalid ? kExitInvalid : kExitFailed;
}

void emit_yaml(YAML::Emitter& out, const Json& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (auto it = j.begin(); it != j.end(); ++it) {
      out << YAML::Key << it.key() << YAML::Value;
      emit_yaml(out, it.value());
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& e : j) emit_yaml(out, e);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    out << j.get<std::string>();
  } else if (j.is_null()) {
    out << YAML::Null;
  } else {
    out << j.dump();
  }
}

void print_object(const Json& j, const std::string& output) {
  if (output == "yaml") {
    YAML::Emitter out;
    emit_yaml(out, j);
    std::printf("%s\n", out.c_str());
  } else {
    std::printf("%s\n", j.dump(2).c_str());
  }
}

std::string phase_of(const Json& wf) {
  const Json status = wf.value("status", Json::object());
  return status.value("phase", std::string("Pending"));
}

bool finished(const std::string& phase) { return phase == "Succeeded" || phase == "Failed" || phase == "Error"; }

void print_workflow(const Json& wf, const std::string& output) {
  if (output == "json" || output == "yaml") return print_object(wf, output);
  const Json meta = wf.value("metadata", Json::object());
  if (output == "name") {
    std::printf("%s\n", meta.value("name", "").c_str());
    return;
  }
  const Json status = wf.value("status", Json::object());
  std::printf("Name:        %s\nNamespace:   %s\nStatus:      %s\n", meta.value("name", "").c_str(),
              meta.value("namespace", "").c_str(), phase_of(wf).c_str());
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
Result<Json> wait_for(Api& api, const std::string& ns, const std::string& name, bool verbose) {
  std::string last;
  for (;;) {
    auto wf = api.call("GET", "/api/v1/workflows/" + ns + "/" + name);
    if (!wf) return wf;
    std::string phase = phase_of(*wf);
    if (verbose && phase != last) std::fprintf(stderr, "%s: %s\n", name.c_str(), phase.c_str());
    last = phase;
    if (finished(phase)) return wf;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

// `argo watch`: the workflow shown again whenever it changes, until it ends.
Result<Json> watch(Api& api, const std::string& ns, const std::string& name) {
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
    if (finished(phase_of(*wf))) return wf;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// `argo node set NAME --node-field-selector S [--output-parameter k=v] [--phase P] [--message M]`.
int node_set(const ClientFlags& f) {
  Api api(f);
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

int stream_logs(Api& api, const std::string& ns, const std::string& name, bool follow) {
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
  Api api(f);
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
      if (phase_of(*wf) != "Succeeded") rc = kExitFailed;
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
  Api api(f);
  std::string path = "/api/v1/workflows/" + ns_of(f);
  if (!f.selector.empty()) {
    char* escaped = curl_easy_escape(nullptr, f.selector.c_str(), static_cast<int>(f.selector.size()));
    path += "?listOptions.labelSelector=" + std::string(escaped);
    curl_free(escaped);
  }
  auto page = api.call("GET", path);
  if (!page) return fail(page.status());
  if (f.output == "json" || f.output == "yaml") {
    print_object(*page, f.output);
    return kExitOk;
  }
  if (f.output != "name") std::printf("%-40s %-10s %-20s %s\n", "NAME", "STATUS", "STARTED", "MESSAGE");
  for (const auto& wf : page->value("items", Json::array())) {
    const Json status = wf.value("status", Json::object());
    std::string name = wf["metadata"].value("name", "");
    if (f.output == "name") {
      std::printf("%s\n", name.c_str());
    } else {
      std::printf("%-40s %-10s %-20s %s\n", name.c_str(), phase_of(wf).c_str(),
                  status.value("startedAt", std::string()).c_str(), status.value("message", std::string()).c_str());
    }
  }
  return kExitOk;
}

// get, wait, delete, retry, resubmit, stop, terminate: one workflow name each.
int on_each(const ClientFlags& f, const std::string& verb) {
  Api api(f);
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
      if (verb == "watch" && phase_of(*r) != "Succeeded") rc = kExitFailed;
    } else if (verb == "wait") {
      std::printf("%s %s\n", name.c_str(), phase_of(*r).c_str());
      if (phase_of(*r) != "Succeeded") rc = kExitFailed;
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

// A kind of named object the server keeps: WorkflowTemplates or CronWorkflows.
struct Resource {
  const char* path;   // /api/v1/<path>/<namespace>
  const char* field;  // the request body's field holding the object
  spec::Kind kind;
  const char* word;   // as printed: "workflowtemplate"
};

constexpr Resource kTemplates{"workflow-templates", "template", spec::Kind::kWorkflowTemplate, "workflowtemplate"};
constexpr Resource kCrons{"cron-workflows", "cronWorkflow", spec::Kind::kCronWorkflow, "cronworkflow"};

std::string cron_time(int64_t ms) {
  if (ms < 0) return "-";
  time_t secs = ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// `cron list` in the argo CLI's columns; the next run is worked out here from the schedule.
void print_crons(const Json& page) {
  std::printf("%-30s %-22s %-22s %-20s %-16s %s\n", "NAME", "LAST RUN", "NEXT RUN", "SCHEDULE", "TIMEZONE", "SUSPENDED");
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const auto& c : page.value("items", Json::array())) {
    const Json spec = c.value("spec", Json::object());
    std::string schedule = spec.value("schedule", "");
    for (const auto& s : spec.value("schedules", Json::array())) schedule += (schedule.empty() ? "" : ",") + s.get<std::string>();
    auto next = server::CronController::next_run(c.dump(), now);
    std::printf("%-30s %-22s %-22s %-20s %-16s %s\n", c["metadata"].value("name", "").c_str(),
                c.value("status", Json::object()).value("lastScheduledTime", "-").c_str(),
                next ? cron_time(*next).c_str() : "(bad schedule)", schedule.c_str(), spec.value("timezone", "UTC").c_str(),
                spec.value("suspend", false) ? "true" : "false");
  }
}

int resource_cmd(const ClientFlags& f, const Resource& what, const std::string& verb) {
  Api api(f);
  std::string base = std::string("/api/v1/") + what.path + "/" + ns_of(f);
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
        std::printf("%s %s %s\n", what.word, name.c_str(), verb == "delete" ? "deleted" : (verb == "suspend" ? "suspended" : "resumed"));
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
      Json body = {{what.field, Json::parse(obj->source_json)}};
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
  f->secure = env_true("ARGO_SECURE", true);
  f->insecure = env_true("ARGO_INSECURE_SKIP_VERIFY", false);
  auto common = [f](CLI::App* c) {
    c->add_option("-s,--argo-server", f->server, "HOST:PORT of the server (ARGO_SERVER, default localhost:2746)");
    c->add_option("--token", f->token, "API token (ARGO_TOKEN)");
    c->add_option("-n,--namespace", f->namespace_, "namespace (ARGO_NAMESPACE, default \"default\")");
    c->add_option("--secure", f->secure, "use HTTPS (ARGO_SECURE, default true)");
    c->add_flag("-k,--insecure-skip-verify", f->insecure, "accept any server certificate (ARGO_INSECURE_SKIP_VERIFY)");
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
    Api api(*f);
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
    c->callback([f, exit_code, verb] { *exit_code = resource_cmd(*f, kTemplates, verb); });
  }
  auto* cron = app.add_subcommand("cron", "cron workflows on a server");
  cron->require_subcommand(1);
  for (const char* verb : {"create", "list", "get", "delete", "suspend", "resume", "lint"}) {
    auto* c = cron->add_subcommand(verb, std::string(verb) + " cron workflows");
    common(c);
    if (std::string(verb) != "list") c->add_option("args", f->args, "files or names")->required();
    c->callback([f, exit_code, verb] { *exit_code = resource_cmd(*f, kCrons, verb); });
  }
}

}  // namespace skiff::cli
