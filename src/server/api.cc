#include "server/api.h"

#include <httplib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <regex>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/workflow_json.h"
#include "runtime/fd.h"
#include "server/config_routes.h"
#include "server/connections.h"
#include "server/cron_controller.h"
#include "server/http_util.h"
#include "server/metrics.h"
#include "server/routes.h"
#include "server/runner.h"
#include "server/stream_routes.h"
#include "server/tokens.h"
#include "server/ui_routes.h"
#include "spec/decode.h"
#include "spec/validate.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {


// Decodes one object of `kind` from the request's field for it (the registry's body_field)
// through the same strict decoder as files, so the same mistakes get the same messages
// (with JSON paths).
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

// The metadata.resourceVersion of the request's `field` object: 0 when absent, as
// Kubernetes takes an update without one as unconditional.
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


}  // namespace

struct Server::Impl {
  ServerOptions options;
  store::Store& store;
  runtime::Executor& executor;
  const engine::Clock& clock;
  std::unique_ptr<ConnectionServer> http;
  Status tls;  // why the certificate could not be loaded

  // Work for the runner thread; called with nullptr when the server is shutting down.
  using Task = std::function<void(Runner*)>;
  std::mutex mu;
  std::condition_variable wake;
  std::deque<Task> queue;
  runtime::Fd interrupt{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};  // rung with every task
  bool stopping = false;
  std::thread runner_thread, cron_thread;
  std::condition_variable cron_wake;
  MetricsRegistry metrics;
  EventLog events;
  std::atomic<size_t> active_workflows{0};
  std::mutex ttl_mu;
  std::multimap<int64_t, std::pair<std::string, std::string>> ttl_due;  // due ms -> (namespace, name)
  std::mutex cron_mu;  // CronWorkflow read-modify-writes (API and cron thread)

  Impl(ServerOptions o, store::Store& s, runtime::Executor& e, const engine::Clock& c)
      : options(std::move(o)), store(s), executor(e), clock(c) {}

  // Takes up the workflows a previous server left unfinished (see Runner::resume).
  void resume_all(Runner& runner) {
    auto open = store.unfinished();
    if (!open) {
      std::fprintf(stderr, "skiff server: cannot list unfinished workflows: %s\n", open.status().message().c_str());
      return;
    }
    for (const auto& rec : *open) {
      Status s;
      spec::Decoded d = spec::decode_documents(rec.object, rec.name);
      auto templates = templates_for(rec.namespace_);
      if (!d.diagnostics.empty() || d.objects.size() != 1) {
        s = invalid("its stored definition no longer decodes: " + format_all(d.diagnostics));
      } else if (!templates) {
        s = templates.status();
      } else {
        s = runner.resume(rec, std::move(d.objects[0]), std::move(*templates));
      }
      if (!s) {
        const spec::WorkflowPhase error = spec::WorkflowPhase::kError;
        Json status = {{"phase", spec::workflow_phase_name(error)}, {"message", "could not resume after a restart: " + s.message()}};
        store.save_progress(rec.uid, error, clock.now_ms(), status.dump(), {});
      }
    }
    if (!open->empty()) std::fprintf(stderr, "skiff server: resumed %zu unfinished workflows\n", open->size());
  }

  void runner_loop() {
    Runner runner(executor, store, clock, options.data_dir);
    runner.set_metrics(&metrics);
    runner.set_max_steps(options.max_steps);
    runner.set_max_nodes(options.max_nodes);
    runner.set_events(&events);
    executor.set_interrupt_fd(interrupt.get());
    resume_all(runner);
    for (;;) {
      std::deque<Task> batch;
      {
        std::unique_lock<std::mutex> lock(mu);
        if (int idle = runner.idle_ms(200); idle > 0) {  // nothing running: sleep till a task or timer
          wake.wait_for(lock, std::chrono::milliseconds(idle), [this] { return stopping || !queue.empty(); });
        }
        if (stopping) {
          for (auto& task : queue) task(nullptr);
          queue.clear();
          return;
        }
        batch.swap(queue);
        uint64_t n;
        (void)!::read(interrupt.get(), &n, sizeof n);
      }
      for (auto& task : batch) task(&runner);
      if (runner.active() > 0) runner.turn(20);
      active_workflows = runner.active();
      for (const auto& e : runner.take_expiries()) add_expiry(e);
    }
  }

  // Runs `fn` on the runner thread and waits for its answer.
  template <typename T>
  Result<T> on_runner(std::function<Result<T>(Runner&)> fn) {
    auto promise = std::make_shared<std::promise<Result<T>>>();
    auto answer = promise->get_future();
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) return Status(Code::kUnavailable, "the server is shutting down");
      queue.push_back([promise, fn = std::move(fn)](Runner* r) {
        promise->set_value(r ? fn(*r) : Result<T>(Status(Code::kUnavailable, "the server is shutting down")));
      });
    }
    wake.notify_one();
    uint64_t one = 1;
    (void)!::write(interrupt.get(), &one, sizeof one);
    return answer.get();
  }

  // The same, for work that answers only with a Status.
  Status on_runner_status(std::function<Status(Runner&)> fn) {
    return on_runner<bool>([fn = std::move(fn)](Runner& r) -> Result<bool> {
             if (Status st = fn(r); !st) return st;
             return true;
           }).status();
  }

  // Deletes a workflow with its logs (see Runner::remove).
  Status remove_workflow(const std::string& ns, const std::string& name) {
    return on_runner_status([=](Runner& r) { return r.remove(ns, name); });
  }

  // Validates and starts a workflow.
  Result<store::WorkflowRecord> start_workflow(spec::Object wf, const std::string& ns) {
    if (wf.metadata.name.empty() && wf.metadata.generate_name.empty()) {
      return invalid("workflow.metadata needs name or generateName");
    }
    if (!wf.metadata.name.empty()) {
      if (Status st = check_name("workflow.metadata.name", wf.metadata.name); !st) return st;
    } else if (Status st = check_name("workflow.metadata.generateName", wf.metadata.generate_name + "x"); !st) {
      return st;
    }
    auto templates = templates_for(ns);
    if (!templates) return templates.status();
    if (Status st = validate(wf, *templates); !st) return st;
    auto shared = std::make_shared<std::pair<spec::Object, std::vector<spec::Object>>>(std::move(wf), std::move(*templates));
    return on_runner<store::WorkflowRecord>([shared, ns](Runner& r) {
      engine::RunOptions o;
      o.namespace_ = ns;
      return r.add(std::move(shared->first), std::move(shared->second), o);
    });
  }

  // Validates and starts a workflow; replies with it.
  void submit(spec::Object wf, const std::string& ns, httplib::Response& res) {
    auto record = start_workflow(std::move(wf), ns);
    if (!record) return fail(res, record.status());
    reply(res, 200, workflow_json(*record, false));
  }

  // ttlStrategy: finished workflows to delete, by when.
  void add_expiry(const Runner::Expiry& e) {
    std::lock_guard<std::mutex> guard(ttl_mu);
    ttl_due.emplace(e.due_ms, std::make_pair(e.namespace_, e.name));
  }

  // After a start: the finished workflows whose own spec carries a ttlStrategy.
  void load_expiries() {
    store::ListQuery q;
    q.label_selector = "workflows.argoproj.io/completed=true";
    q.limit = 1000;
    for (;;) {
      auto page = store.list_workflows(q);
      if (!page) return;
      for (const auto& wf : page->items) {
        if (wf.object.find("ttlStrategy") == std::string::npos) continue;
        spec::Decoded d = spec::decode_documents(wf.object, wf.name);
        if (d.objects.size() != 1) continue;
        int64_t due = Runner::expiry(d.objects[0].spec, wf.phase, wf.finished_ms);
        if (due >= 0) add_expiry({wf.namespace_, wf.name, due});
      }
      if (page->continue_token.empty()) return;
      q.continue_token = page->continue_token;
    }
  }

  void expire() {
    std::vector<std::pair<std::string, std::string>> due;
    {
      std::lock_guard<std::mutex> guard(ttl_mu);
      int64_t now = clock.now_ms();
      while (!ttl_due.empty() && ttl_due.begin()->first <= now) {
        due.push_back(ttl_due.begin()->second);
        ttl_due.erase(ttl_due.begin());
      }
    }
    for (const auto& [ns, name] : due) (void)remove_workflow(ns, name);
  }

  // The cron thread: CronWorkflows come due about on the second; so do ttlStrategy deletions.
  void cron_loop() {
    CronController cron(
        store, clock, cron_mu,
        [this](const std::string& workflow_json, const std::string& ns) -> Result<std::string> {
          auto parsed = parse_json<Json>(workflow_json, "the CronWorkflow's workflow");
          if (!parsed) return parsed.status();
          auto wf = decode_object({{"workflow", *parsed}}, spec::Kind::kWorkflow, ns);
          if (!wf) return wf.status();
          auto record = start_workflow(std::move(*wf), ns);
          if (!record) return record.status();
          return record->name;
        },
        [this](const std::string& ns, const std::string& name) {
          return on_runner_status(
              [=](Runner& r) { return r.stop(ns, name, "replaced by a newer run (concurrencyPolicy Replace)", true); });
        },
        [this](const std::string& ns, const std::string& name) { return remove_workflow(ns, name); });
    load_expiries();
    std::unique_lock<std::mutex> lock(mu);
    while (!stopping) {
      lock.unlock();
      cron.tick();
      expire();
      lock.lock();
      cron_wake.wait_for(lock, std::chrono::milliseconds(1000 - clock.now_ms() % 1000 + 5), [this] { return stopping; });
    }
  }

  // The stored workflow decoded again, with the templates it may use.
  Result<std::pair<spec::Object, std::vector<spec::Object>>> stored_definition(const store::WorkflowRecord& rec) {
    spec::Decoded d = spec::decode_documents(rec.object, rec.name);
    if (!d.diagnostics.empty() || d.objects.size() != 1) {
      return invalid("the stored definition of " + rec.name + " no longer decodes: " + format_all(d.diagnostics));
    }
    auto templates = templates_for(rec.namespace_);
    if (!templates) return templates.status();
    return std::make_pair(std::move(d.objects[0]), std::move(*templates));
  }

  void workflow_actions() {
    httplib::Server& s = *http;
    // PUT .../stop and .../terminate: the running workflow ends as `argo stop/terminate` ends it.
    for (const char* verb : {"stop", "terminate"}) {
      s.Put(std::string(R"(/api/v1/workflows/([^/]+)/([^/]+)/)") + verb, [this, verb](const httplib::Request& req, httplib::Response& res) {
        std::string ns = req.matches[1], name = req.matches[2];
        auto body = parse_body(req, true);
        if (!body) return fail(res, body.status());
        std::string message = body->value("message", "");
        bool terminate = std::string(verb) == "terminate";
        if (Status st = on_runner_status([=](Runner& r) { return r.stop(ns, name, message, terminate); }); !st) {
          return fail(res, st);
        }
        auto wf = store.get_workflow(ns, name);
        if (!wf) return fail(res, wf.status());
        res.set_content(workflow_text(*wf), "application/json");
      });
    }
    // PUT .../suspend, .../resume {nodeFieldSelector}, .../set {nodeFieldSelector, phase,
    // message, outputParameters: "<JSON object as text>"}: as `argo suspend/resume/node set`.
    s.Put(R"(/api/v1/workflows/([^/]+)/([^/]+)/(suspend|resume|set))", [this](const httplib::Request& req, httplib::Response& res) {
      std::string ns = req.matches[1], name = req.matches[2], verb = req.matches[3];
      auto body = parse_body(req, true);
      if (!body) return fail(res, body.status());
      std::string selector = body->value("nodeFieldSelector", "");
      engine::NodeUpdate update;
      if (verb == "set") {
        update.phase = body->value("phase", "");
        update.message = body->value("message", "");
        std::string outputs = body->value("outputParameters", "");
        if (!outputs.empty()) {
          auto o = parse_json<Json>(outputs, "outputParameters");
          if (!o) return fail(res, o.status());
          if (!o->is_object()) return fail(res, invalid("outputParameters must be a JSON object of names to values, as text"));
          for (const auto& [k, v] : o->items()) update.output_parameters[k] = v.is_string() ? v.get<std::string>() : v.dump();
        }
      }
      Status done = on_runner_status([=](Runner& r) -> Status {
        if (verb == "suspend") return r.suspend(ns, name);
        if (verb == "resume") return r.resume(ns, name, selector);
        auto n = r.set_nodes(ns, name, selector, update);
        if (!n) return n.status();
        if (*n == 0) return Status(Code::kNotFound, "no node of " + name + " matches \"" + selector + "\"");
        return Status::ok();
      });
      if (!done) {
        if (done.code() == Code::kInvalid && !store.get_workflow(ns, name)) {
          return fail(res, Status(Code::kNotFound, "workflow " + ns + "/" + name + " not found"));
        }
        return fail(res, done);
      }
      auto wf = store.get_workflow(ns, name);
      if (!wf) return fail(res, wf.status());
      res.set_content(workflow_text(*wf), "application/json");
    });
    s.Put(R"(/api/v1/workflows/([^/]+)/([^/]+)/retry)", [this](const httplib::Request& req, httplib::Response& res) {
      auto rec = store.get_workflow(req.matches[1], req.matches[2]);
      if (!rec) return fail(res, rec.status());
      auto def = stored_definition(*rec);
      if (!def) return fail(res, def.status());
      auto shared = std::make_shared<std::pair<spec::Object, std::vector<spec::Object>>>(std::move(*def));
      Status done = on_runner_status(
          [shared, rec = *rec](Runner& r) { return r.retry(rec, std::move(shared->first), std::move(shared->second)); });
      if (!done) return fail(res, done);
      auto wf = store.get_workflow(req.matches[1], req.matches[2]);
      if (!wf) return fail(res, wf.status());
      res.set_content(workflow_text(*wf), "application/json");
    });
    // PUT .../resubmit: a new workflow from the same definition (generateName <name>-).
    s.Put(R"(/api/v1/workflows/([^/]+)/([^/]+)/resubmit)", [this](const httplib::Request& req, httplib::Response& res) {
      auto rec = store.get_workflow(req.matches[1], req.matches[2]);
      if (!rec) return fail(res, rec.status());
      Json object = parse_json_or_discarded<Json>(rec->object);
      if (!object.is_object()) return fail(res, internal_error("the stored definition is damaged"));
      object["metadata"].erase("name");
      object["metadata"]["generateName"] = rec->name + "-";
      auto wf = decode_object({{"workflow", object}}, spec::Kind::kWorkflow, rec->namespace_);
      if (!wf) return fail(res, wf.status());
      submit(std::move(*wf), rec->namespace_, res);
    });
    // POST .../submit: a workflow from a WorkflowTemplate or ClusterWorkflowTemplate.
    s.Post(R"(/api/v1/workflows/([^/]+)/submit)", [this](const httplib::Request& req, httplib::Response& res) {
      std::string ns = req.matches[1];
      auto body = parse_body(req);
      if (!body) return fail(res, body.status());
      const spec::KindInfo* kind = spec::find_kind(body->value("resourceKind", ""), true);
      std::string name = body->value("resourceName", "");
      if (!kind || (kind->kind != spec::Kind::kWorkflowTemplate && kind->kind != spec::Kind::kClusterWorkflowTemplate) ||
          !valid_name(name)) {
        return fail(res, invalid("submit needs resourceKind WorkflowTemplate or ClusterWorkflowTemplate and a resourceName"));
      }
      bool cluster = !kind->namespaced;
      auto found = store.get_object(kind->kind, cluster ? "" : ns, name);
      if (!found) return fail(res, found.status());
      Json opts = body->value("submitOptions", Json::object());
      Json wf = {{"metadata", {{"generateName", opts.value("generateName", name + "-")}}},
                 {"spec", {{"workflowTemplateRef", {{"name", name}}}}}};
      if (cluster) wf["spec"]["workflowTemplateRef"]["clusterScope"] = true;
      if (opts.contains("name")) {
        wf["metadata"]["name"] = opts["name"];
        wf["metadata"].erase("generateName");
      }
      if (opts.contains("entryPoint")) wf["spec"]["entrypoint"] = opts["entryPoint"];
      if (opts.contains("labels") && opts["labels"].is_string()) {
        for (const std::string& kv : split_csv(opts["labels"].get<std::string>())) {
          size_t eq = kv.find('=');
          if (eq != std::string::npos) wf["metadata"]["labels"][kv.substr(0, eq)] = kv.substr(eq + 1);
        }
      }
      for (const auto& p : opts.value("parameters", Json::array())) {
        std::string kv = p.is_string() ? p.get<std::string>() : "";
        size_t eq = kv.find('=');
        if (eq == std::string::npos) return fail(res, invalid("submitOptions.parameters: \"" + kv + "\" is not name=value"));
        wf["spec"]["arguments"]["parameters"].push_back({{"name", kv.substr(0, eq)}, {"value", kv.substr(eq + 1)}});
      }
      auto decoded = decode_object({{"workflow", wf}}, spec::Kind::kWorkflow, ns);
      if (!decoded) return fail(res, decoded.status());
      submit(std::move(*decoded), ns, res);
    });
    add_stream_routes(s, store, events, options.data_dir,
                      [this](const store::WorkflowRecord& wf, bool with_nodes) { return workflow_json(wf, with_nodes); });
  }

  // The WorkflowTemplates and ClusterWorkflowTemplates a workflow in `ns` may refer to.
  Result<std::vector<spec::Object>> templates_for(const std::string& ns) {
    std::vector<spec::Object> out;
    for (auto [kind, scope] : {std::pair{spec::Kind::kWorkflowTemplate, ns},
                               {spec::Kind::kClusterWorkflowTemplate, std::string()}}) {
      auto list = store.list_objects(kind, scope);
      if (!list) return list.status();
      for (const auto& o : *list) {
        spec::Decoded d = spec::decode_documents(object_json(o, kind).dump(), o.name);
        for (auto& obj : d.objects) out.push_back(std::move(obj));
      }
    }
    return out;
  }

  Json workflow_json(const store::WorkflowRecord& wf, bool with_nodes) {
    Json object = parse_json_or_discarded<Json>(wf.object);
    Json j;
    j["apiVersion"] = "argoproj.io/v1alpha1";
    j["kind"] = "Workflow";
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

  // The whole workflow as text, its node map as the store puts it together: a GET of a
  // workflow of 100,000 nodes neither parses nor rebuilds 30 MB of JSON node by node.
  std::string workflow_text(const store::WorkflowRecord& wf) {
    Json j = workflow_json(wf, false);
    bool empty_status = j["status"].empty();
    std::string text = j.dump(-1, ' ', false, Json::error_handler_t::replace);  // ends with status's "}" and "}"
    auto nodes = store.nodes_json(wf.uid);
    if (!nodes || *nodes == "{}") return text;
    text.insert(text.size() - 2, (empty_status ? "\"nodes\":" : ",\"nodes\":") + *nodes);
    return text;
  }

  // --auth-mode client: every API call but /api/v1/version carries a Bearer token whose
  // scope covers the namespace in its path (cluster-scoped objects need "*").
  httplib::Server::HandlerResponse authorize(const httplib::Request& req, httplib::Response& res) {
    using R = httplib::Server::HandlerResponse;
    if (!options.require_token || req.path.rfind("/api/", 0) != 0 || req.path == "/api/v1/version") return R::Unhandled;
    std::string header = req.get_header_value("Authorization");
    if (header.rfind("Bearer ", 0) != 0) {
      reply(res, 401, {{"code", 16}, {"message", "token not valid: send Authorization: Bearer <token> (create one with "
                                                 "`skiff token create --namespace NS`)"}});
      return R::Handled;
    }
    auto scope = check_token(options.data_dir, header.substr(7));
    if (!scope) {
      reply(res, 401, {{"code", 16}, {"message", "token not valid"}});
      return R::Handled;
    }
    // Namespaced paths: every namespaced kind's plural (the registry's), and the rest.
    static const std::regex namespaced([] {
      std::string paths = "workflow-events|stream/events|secrets|configmaps";
      for (const spec::KindInfo& k : spec::all_kinds()) {
        if (k.namespaced) paths += std::string("|") + k.plural;
      }
      return "^/api/v1/(" + paths + ")/([^/]+)";
    }());
    auto cluster_scoped = [&req] {
      for (const spec::KindInfo& k : spec::all_kinds()) {
        if (!k.namespaced && req.path.rfind(std::string("/api/v1/") + k.plural, 0) == 0) return true;
      }
      return false;
    };
    std::smatch m;
    std::string ns;
    bool scoped = false;
    if (std::regex_search(req.path, m, namespaced)) {
      ns = m[2];
      scoped = true;
    } else if (req.path == "/api/v1/workflows" || req.path == "/api/v1/workflows/") {
      scoped = true;  // every namespace: needs "*"
    } else if (cluster_scoped()) {
      scoped = true;  // ns "" needs "*" to write; anyone may read
      if (req.method == "GET") return R::Unhandled;
    }
    if (scoped && !scope->allows(ns)) {
      reply(res, 403, {{"code", 7}, {"message", "this token may not use " + (ns.empty() ? "every namespace or cluster-scoped objects" : "namespace " + ns)}});
      return R::Handled;
    }
    return R::Unhandled;
  }

  // GET /metrics: the controller's figures, then the metrics workflows declared.
  void serve_metrics(httplib::Response& res) {
    auto phases = store.count_by_phase();
    if (phases) {
      for (spec::WorkflowPhase phase : spec::kWorkflowPhases) {
        auto it = phases->find(phase);
        metrics.set_gauge("argo_workflows_gauge", "Workflows by phase, as stored", {{"phase", spec::workflow_phase_name(phase)}},
                          it == phases->end() ? 0 : static_cast<double>(it->second));
      }
    }
    size_t queued;
    {
      std::lock_guard<std::mutex> lock(mu);
      queued = queue.size();
    }
    metrics.set_gauge("argo_workflows_queue_depth_gauge", "Requests waiting for the runner thread",
                      {{"queue_name", "runner"}}, static_cast<double>(queued));
    metrics.set_gauge("skiff_workflows_active", "Workflows the runner is driving (running or winding down)", {},
                      static_cast<double>(active_workflows.load()));
    metrics.set_gauge("skiff_http_connections_open", "Client connections open", {},
                      static_cast<double>(http->open_connections()));
    metrics.set_gauge("skiff_http_streams_open", "Log, watch and event streams open", {},
                      static_cast<double>(http->open_streams()));
    res.set_content(metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
  }

  // Counts and times every API request, by method, route pattern (never the raw path: a
  // label value per path would let any client grow /metrics) and status code.
  void count_request(const httplib::Request& req, const httplib::Response& res) {
    metrics.add_counter("skiff_api_requests_total", "API requests served", {{"code", std::to_string(res.status)},
                        {"method", req.method}, {"route", route_of(req.path).pattern}});
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - request_started).count();
    metrics.observe("skiff_api_request_duration_seconds", "API request latency (until the handler returned)",
                    {{"method", req.method}}, secs, {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5});
  }
  static thread_local std::chrono::steady_clock::time_point request_started;

  void routes() {
    httplib::Server& s = *http;
    s.set_payload_max_length(options.max_body);
    s.set_logger([this](const httplib::Request& req, const httplib::Response& res) { count_request(req, res); });
    s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) { serve_metrics(res); });
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      request_started = std::chrono::steady_clock::now();
      // cpp-httplib answers "br" with brotli at its slowest setting (a 2.4 MB workflow took
      // 6 s, gzip 0.27 s): offer it gzip only. The request is the library's own mutable
      // object, handed over as const.
      auto& headers = const_cast<httplib::Request&>(req).headers;
      if (auto it = headers.find("Accept-Encoding"); it != headers.end() && it->second.find("br") != std::string::npos) {
        it->second = it->second.find("gzip") != std::string::npos ? "gzip" : "";
      }
      using R = httplib::Server::HandlerResponse;
      if (authorize(req, res) == R::Handled) return R::Handled;
      // A stream counts against its client's share until it ends (connections.h).
      bool refused = req.method == "GET" && route_of(req.path).stream && !ConnectionServer::admit_stream(res);
      return refused ? R::Handled : R::Unhandled;
    });
    s.Get("/api/v1/version", [](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, {{"version", "v3.6.0+skiff"}, {"buildDate", ""}, {"gitCommit", ""}, {"gitTag", "v3.6.0"},
                       {"gitTreeState", "clean"}, {"goVersion", ""}, {"compiler", "skiff"}, {"platform", "linux/amd64"}});
    });
    s.Get("/api/v1/info", [](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, {{"managedNamespace", ""}, {"links", Json::array()}, {"modals", Json::object()}});
    });
    s.Get("/api/v1/userinfo", [](const httplib::Request&, httplib::Response& res) { reply(res, 200, Json::object()); });

    s.Post(R"(/api/v1/workflows/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      create_workflow(req, res);
    });
    s.Post(R"(/api/v1/workflows/([^/]+)/lint)", [this](const httplib::Request& req, httplib::Response& res) {
      std::string ns = req.matches[1];
      auto body = parse_body(req);
      if (!body) return fail(res, body.status());
      auto wf = decode_object(*body, spec::Kind::kWorkflow, ns);
      if (!wf) return fail(res, wf.status());
      auto templates = templates_for(ns);
      if (!templates) return fail(res, templates.status());
      if (Status st = validate(*wf, *templates); !st) return fail(res, st);
      reply(res, 200, (*body)["workflow"]);
    });
    // GET /api/v1/workflows/{ns}, or /api/v1/workflows/ for every namespace (a token for "*").
    s.Get(R"(/api/v1/workflows/?([^/]*))", [this](const httplib::Request& req, httplib::Response& res) {
      store::ListQuery q;
      q.namespace_ = req.matches[1];
      q.label_selector = query(req, "listOptions.labelSelector");
      q.field_selector = query(req, "listOptions.fieldSelector");
      q.continue_token = query(req, "listOptions.continue");
      std::string limit = query(req, "listOptions.limit");
      if (!limit.empty()) {
        char* end = nullptr;
        q.limit = std::strtoll(limit.c_str(), &end, 10);
        if (*end || q.limit < 0) return fail(res, invalid("listOptions.limit \"" + limit + "\" is not a count"));
      }
      auto page = store.list_workflows(q);
      if (!page) return fail(res, page.status());
      std::string fields = query(req, "fields");  // items.… (Argo's list fields)
      Json items = Json::array();
      for (const auto& wf : page->items) items.push_back(select_fields(workflow_json(wf, false), fields, "items."));
      Json meta = Json::object();
      if (!page->continue_token.empty()) meta["continue"] = page->continue_token;
      reply(res, 200, {{"metadata", meta}, {"items", items}});
    });
    // Argo's `fields` ("metadata,status.phase", "-status.nodes"): nodes are read only when kept.
    s.Get(R"(/api/v1/workflows/([^/]+)/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      auto wf = store.get_workflow(req.matches[1], req.matches[2]);
      if (!wf) return fail(res, wf.status());
      std::string fields = query(req, "fields");
      if (fields.empty()) return res.set_content(workflow_text(*wf), "application/json");
      reply(res, 200, select_fields(workflow_json(*wf, fields_keep(fields, "", "status.nodes")), fields, ""));
    });
    s.Delete(R"(/api/v1/workflows/([^/]+)/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (Status st = remove_workflow(req.matches[1], req.matches[2]); !st) return fail(res, st);
      reply(res, 200, Json::object());
    });

    workflow_actions();
    for (spec::Kind kind : {spec::Kind::kWorkflowTemplate, spec::Kind::kClusterWorkflowTemplate, spec::Kind::kCronWorkflow}) {
      template_routes(kind);
    }
    cron_routes();
    add_config_routes(s, options.data_dir);
    add_ui_routes(s, options.ui_dir);  // the catch-all: last
  }

  Status validate(const spec::Object& obj, const std::vector<spec::Object>& templates) {
    spec::Library library;
    for (const auto& t : templates) {
      (t.kind == spec::Kind::kClusterWorkflowTemplate ? library.cluster_workflow_templates : library.workflow_templates)
          .push_back(&t);
    }
    Diagnostics diags;
    spec::validate(obj, library, diags);
    if (!diags.empty()) return invalid(format_all(diags));
    return Status::ok();
  }

  void create_workflow(const httplib::Request& req, httplib::Response& res) {
    std::string ns = req.matches[1];
    if (Status st = check_name("namespace", ns); !st) return fail(res, st);
    auto body = parse_body(req);
    if (!body) return fail(res, body.status());
    auto wf = decode_object(*body, spec::Kind::kWorkflow, ns);
    if (!wf) return fail(res, wf.status());
    submit(std::move(*wf), ns, res);
  }

  // CronWorkflows: PUT .../suspend and .../resume flip spec.suspend; deleting one deletes
  // the workflows it created (as Kubernetes' owner references do).
  void cron_routes() {
    httplib::Server& s = *http;
    s.Put(R"(/api/v1/cron-workflows/([^/]+)/([^/]+)/(suspend|resume))", [this](const httplib::Request& req, httplib::Response& res) {
      std::string ns = req.matches[1], name = req.matches[2];
      std::lock_guard<std::mutex> guard(cron_mu);
      auto rec = store.get_object(spec::Kind::kCronWorkflow, ns, name);
      if (!rec) return fail(res, rec.status());
      Json cron = parse_json_or_discarded<Json>(rec->body);
      if (!cron.is_object()) return fail(res, internal_error("the stored CronWorkflow " + name + " is damaged"));
      cron["spec"]["suspend"] = req.matches[3] == "suspend";
      rec->body = cron.dump();
      if (Status st = store.update_object(spec::Kind::kCronWorkflow, *rec); !st) return fail(res, st);
      auto saved = store.get_object(spec::Kind::kCronWorkflow, ns, name);
      if (!saved) return fail(res, saved.status());
      reply(res, 200, object_json(*saved, spec::Kind::kCronWorkflow));
    });
  }

  // A CronWorkflow's schedules must parse; an update keeps the status the controller wrote.
  Status check_cron(const spec::Object& cron, store::ObjectRecord& rec, bool update) {
    if (!cron.cron) return invalid("\"cronWorkflow\" has no CronWorkflow spec");
    if (auto next = CronController::next_run(*cron.cron, clock.now_ms()); !next) return next.status();
    if (!update) return Status::ok();
    auto old = store.get_object(spec::Kind::kCronWorkflow, rec.namespace_, rec.name);
    if (!old) return old.status();
    Json before = parse_json_or_discarded<Json>(old->body), after = parse_json_or_discarded<Json>(rec.body);
    if (before.is_object() && before.contains("status") && after.is_object()) {
      after["status"] = before["status"];
      rec.body = after.dump();
    }
    return Status::ok();
  }

  // The routes of a kind the store keeps as named objects, all from its registry entry:
  // /api/v1/<plural>[/<namespace>][/<name>].
  void template_routes(spec::Kind kind) {
    httplib::Server& s = *http;
    const spec::KindInfo& info = spec::kind_info(kind);
    const bool namespaced = info.namespaced;
    const char* field = info.body_field;
    const std::string base = std::string("/api/v1/") + info.plural;
    const std::string collection = namespaced ? base + "/([^/]+)" : base;
    const std::string item = collection + "/([^/]+)";
    auto ns_of = [namespaced](const httplib::Request& req) { return namespaced ? std::string(req.matches[1]) : std::string(); };
    auto name_of = [namespaced](const httplib::Request& req) { return std::string(req.matches[namespaced ? 2 : 1]); };
    // `version`, when asked for: the metadata.resourceVersion the client read (0: none).
    auto decode = [=, this](const httplib::Request& req, const std::string& ns,
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
    s.Post(collection, [=, this](const httplib::Request& req, httplib::Response& res) {
      std::string ns = ns_of(req);
      if (namespaced) {
        if (Status st = check_name("namespace", ns); !st) return fail(res, st);
      }
      auto obj = decode(req, ns);
      if (!obj) return fail(res, obj.status());
      if (Status st = check_name("metadata.name", obj->first.metadata.name); !st) return fail(res, st);
      auto known = templates_for(namespaced ? ns_of(req) : "");
      if (!known) return fail(res, known.status());
      if (Status st = validate(obj->first, *known); !st) return fail(res, st);
      store::ObjectRecord rec{ns, obj->first.metadata.name, obj->second.dump(), clock.now_ms(), 1};
      std::lock_guard<std::mutex> guard(cron_mu);
      if (kind == spec::Kind::kCronWorkflow) {
        if (Status st = check_cron(obj->first, rec, false); !st) return fail(res, st);
      }
      if (Status st = store.create_object(kind, rec); !st) return fail(res, st);
      reply(res, 200, object_json(rec, kind));
    });
    s.Post(collection + "/lint", [=, this](const httplib::Request& req, httplib::Response& res) {
      auto obj = decode(req, ns_of(req));
      if (!obj) return fail(res, obj.status());
      auto known = templates_for(namespaced ? ns_of(req) : "");
      if (!known) return fail(res, known.status());
      if (Status st = validate(obj->first, *known); !st) return fail(res, st);
      reply(res, 200, obj->second);
    });
    s.Get(collection, [=, this](const httplib::Request& req, httplib::Response& res) {
      auto list = store.list_objects(kind, ns_of(req));
      if (!list) return fail(res, list.status());
      Json items = Json::array();
      for (const auto& o : *list) items.push_back(object_json(o, kind));
      reply(res, 200, {{"metadata", Json::object()}, {"items", items}});
    });
    s.Get(item, [=, this](const httplib::Request& req, httplib::Response& res) {
      auto o = store.get_object(kind, ns_of(req), name_of(req));
      if (!o) return fail(res, o.status());
      reply(res, 200, object_json(*o, kind));
    });
    s.Put(item, [=, this](const httplib::Request& req, httplib::Response& res) {
      std::string ns = ns_of(req), name = name_of(req);
      int64_t version = 0;  // a stale one is a 409, as on Kubernetes
      auto obj = decode(req, ns, &version);
      if (!obj) return fail(res, obj.status());
      if (obj->first.metadata.name != name) {
        return fail(res, invalid("template.metadata.name \"" + obj->first.metadata.name + "\" is not " + name));
      }
      auto known = templates_for(namespaced ? ns_of(req) : "");
      if (!known) return fail(res, known.status());
      if (Status st = validate(obj->first, *known); !st) return fail(res, st);
      store::ObjectRecord rec{ns, name, obj->second.dump(), 0, version};
      std::lock_guard<std::mutex> guard(cron_mu);
      if (kind == spec::Kind::kCronWorkflow) {
        if (Status st = check_cron(obj->first, rec, true); !st) return fail(res, st);
      }
      if (Status st = store.update_object(kind, rec); !st) return fail(res, st);
      auto saved = store.get_object(kind, ns, name);
      if (!saved) return fail(res, saved.status());
      reply(res, 200, object_json(*saved, kind));
    });
    s.Delete(item, [=, this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> guard(cron_mu);
      if (Status st = store.delete_object(kind, ns_of(req), name_of(req)); !st) return fail(res, st);
      if (kind == spec::Kind::kCronWorkflow) {
        store::ListQuery q;
        q.namespace_ = ns_of(req);
        q.label_selector = "workflows.argoproj.io/cron-workflow=" + name_of(req);
        if (auto children = store.list_workflows(q)) {
          for (const auto& wf : children->items) (void)remove_workflow(wf.namespace_, wf.name);
        }
      }
      reply(res, 200, Json::object());
    });
  }
};

thread_local std::chrono::steady_clock::time_point Server::Impl::request_started;

Server::Server(ServerOptions options, store::Store& store, runtime::Executor& executor, const engine::Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(options), store, executor, clock)) {
  const ServerOptions& o = impl_->options;
  ConnectionLimits limits;
  limits.max_connections_per_client = o.max_connections_per_client;
  limits.max_streams_per_client = o.max_streams_per_client;
  limits.stream.max_body_bytes = o.max_body;
  impl_->http = std::make_unique<ConnectionServer>(limits);
  if (!o.tls_cert.empty() && !o.tls_key.empty()) impl_->tls = impl_->http->use_tls(o.tls_cert, o.tls_key);
  impl_->routes();
}

Server::~Server() {
  stop();
  if (impl_->cron_thread.joinable()) impl_->cron_thread.join();
  if (impl_->runner_thread.joinable()) impl_->runner_thread.join();
}

Status Server::run() {
  if (!impl_->tls) return impl_->tls;
  if (impl_->options.port == 0) {
    impl_->options.port = impl_->http->bind_to_any_port(impl_->options.host.c_str());
  } else if (!impl_->http->bind_to_port(impl_->options.host.c_str(), impl_->options.port)) {
    impl_->options.port = -1;
  }
  if (impl_->options.port <= 0) {
    return Status(Code::kUnavailable, "cannot listen on " + impl_->options.host + ":" + std::to_string(impl_->options.port) +
                                          " (in use, or not allowed)");
  }
  impl_->runner_thread = std::thread([this] { impl_->runner_loop(); });
  impl_->cron_thread = std::thread([this] { impl_->cron_loop(); });
  impl_->http->listen_after_bind();
  return Status::ok();
}

int Server::port() const { return impl_->options.port; }

void Server::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->cron_wake.notify_all();
  impl_->http->stop();
}

}  // namespace skiff::server
