#include "server/api.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "machine/controller.h"
#include "machine/objects.h"
#include "runtime/resource_executor.h"
#include "server/api_context.h"
#include "server/app_controller.h"
#include "server/app_metrics.h"
#include "server/app_routes.h"
#include "server/artifact_routes.h"
#include "server/cluster_watch.h"
#include "server/auth.h"
#include "runtime/pod_support.h"
#include "server/config_routes.h"
#include "server/connections.h"
#include "server/controller.h"
#include "server/cron_controller.h"
#include "server/cron_routes.h"
#include "server/http_util.h"
#include "server/local_objects.h"
#include "server/info_routes.h"
#include "server/metrics.h"
#include "server/objects.h"
#include "server/routes.h"
#include "server/runner.h"
#include "server/runner_queue.h"
#include "server/template_refs.h"
#include "server/template_routes.h"
#include "server/ttl_controller.h"
#include "server/ui_routes.h"
#include "server/webhook_routes.h"
#include "server/workflow_routes.h"
#include "util/json_text.h"

namespace skiff::server {

Status ApiContext::remove_workflow(const std::string& ns, const std::string& name) {
  auto record = store.get_workflow(ns, name);
  Status st = on_runner([=](Runner& r) { return r.remove(ns, name); });
  // What it owns goes with it (setOwnerReference), as Kubernetes' garbage collector does.
  if (st && record) LocalObjects::remove_owned(*this, ns, record->uid);
  return st;
}

// The assembly: the runner thread and its task queue, the controller loop and its
// controllers, and the route families over one ApiContext.
struct Server::Impl {
  ServerOptions options;
  store::Store& store;
  runtime::Executor& executor;
  const engine::Clock& clock;
  std::unique_ptr<ConnectionServer> http;
  Status tls;  // why the certificate could not be loaded

  RunnerQueue queue;  // work for the runner thread
  std::thread runner_thread;
  MetricsRegistry metrics;
  EventLog events;
  std::atomic<size_t> active_workflows{0};
  ApiContext ctx;
  TtlController ttl;
  CronController cron;
  std::shared_ptr<LocalObjects> local;  // skiff's own kinds, for resource steps and Applications
  std::shared_ptr<machine::MachineObjects> machine_objects;  // this machine, with no cluster
  std::unique_ptr<AppController> apps;
  // These two tell `apps` of health changes from their own threads: declared after it, they
  // stop (and join) before it goes. (Declared before it, the workloads' last reconcile
  // called into a destroyed controller and the server hung at exit.)
  std::unique_ptr<machine::WorkloadController> workloads;  // runs what machine_objects holds
  std::unique_ptr<ClusterWatch> cluster_watch;  // the configured cluster's tracked objects -> apps
  ControllerLoop controllers;  // after what it ticks: it stops first

  Impl(ServerOptions o, store::Store& s, runtime::Executor& e, const engine::Clock& c)
      : options(std::move(o)),
        store(s),
        executor(e),
        clock(c),
        ctx{options, store, clock, events, executor, [this](std::function<Status(Runner&)> fn) { return on_runner(std::move(fn)); },
            [this] { controllers.poke(); }},
        ttl(store, clock, [this](const std::string& ns, const std::string& name) { return ctx.remove_workflow(ns, name); }),
        cron(store, clock, [this](const std::string& wf, const std::string& ns) { return cron_submit(wf, ns); },
             [this](const std::string& ns, const std::string& name) {
               return on_runner([=](Runner& r) {
                 return r.stop(ns, name, "replaced by a newer run (concurrencyPolicy Replace)", true);
               });
             },
             [this](const std::string& ns, const std::string& name) { return ctx.remove_workflow(ns, name); }),
        controllers(clock) {
    controllers.add(&cron);
    controllers.add(&ttl);
    // Resource steps and Applications act on skiff's own kinds through the same checks as
    // the API.
    local = std::make_shared<LocalObjects>(ctx);
    if (auto* resources = dynamic_cast<runtime::ResourceExecutor*>(&executor)) resources->set_local(local);
    if (!options.app_controller) return;
    AppControllerOptions app_options;
    app_options.cache_dir = options.data_dir + "/cd/git";
    app_options.resync_ms = options.app_resync_ms;
    app_options.metrics = &metrics;
    open_machine(&app_options);
    apps = std::make_unique<AppController>(ctx, local, options.cluster, app_options);
    start_workloads();
    if (options.cluster)
      cluster_watch = std::make_unique<ClusterWatch>(options.cluster, [this](const std::string& app) { apps->refresh(app); });
    controllers.add(apps.get());
    ctx.app_managed_resources = [this](const std::string& ns, const std::string& name) {
      return apps->managed_resources(ns, name);
    };
    ctx.app_manifests = [this](const std::string& ns, const std::string& name, const std::string& revision) {
      return apps->manifests(ns, name, revision);
    };
    ctx.app_live_hooks = [this](const std::string& ns, const std::string& name) { return apps->live_hooks(ns, name); };
    ctx.app_invalidate_repo = [this](const std::string& url) { apps->invalidate_repo(url); };
  }

  // With no cluster, Applications deploy the kinds skiff does not keep to this machine.
  void open_machine(AppControllerOptions* app_options) {
    if (options.cluster) return;
    if (!options.machine_executor) {
      app_options->no_cluster_hint = "this machine cannot run containers (" + options.machine_unavailable +
                                     "); start skiff server with --kubeconfig FILE (or KUBECONFIG) to deploy to a cluster";
      return;
    }
    auto opened = machine::MachineObjects::open(options.data_dir + "/machine/objects", local.get());
    if (!opened) {
      app_options->no_cluster_hint = "this machine's objects cannot be read: " + opened.status().message();
      return;
    }
    machine_objects = std::move(*opened);
    app_options->machine = machine_objects;
    ctx.machine_objects = machine_objects.get();
  }

  // Starts running what this machine holds, once the controller that hears of its health exists.
  void start_workloads() {
    if (!machine_objects) return;
    machine_objects->set_on_tracked_status([this](const std::string& app) { apps->refresh(app); });
    workloads = std::make_unique<machine::WorkloadController>(*machine_objects, options.machine_executor);
    machine_objects->set_on_change([this] { workloads->poke(); });
    ctx.workloads = workloads.get();
  }

  // A CronWorkflow's run, through the same checks as the API's.
  Result<std::string> cron_submit(const std::string& workflow_json, const std::string& ns) {
    auto parsed = parse_json<Json>(workflow_json, "the CronWorkflow's workflow");
    if (!parsed) return parsed.status();
    auto wf = decode_object({{spec::kind_info(spec::Kind::kWorkflow).body_field, *parsed}}, spec::Kind::kWorkflow, ns);
    if (!wf) return wf.status();
    auto record = start_workflow(ctx, std::move(*wf), ns);
    if (!record) return record.status();
    return record->name;
  }

  // Takes up the workflows a previous server left unfinished (see Runner::resume).
  void resume_all(Runner& runner) {
    auto open = store.unfinished();
    if (!open) {
      std::fprintf(stderr, "skiff server: cannot list unfinished workflows: %s\n", open.status().message().c_str());
      return;
    }
    for (const auto& rec : *open) {
      auto def = stored_definition(store, rec);
      Status s = def ? runner.resume(rec, std::move(def->first), std::move(def->second)) : def.status();
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
    runner.set_pod_support(runtime::pod_field_support(options.executor));
    runner.set_events(&events);
    executor.set_interrupt_fd(queue.fd());
    resume_all(runner);
    for (;;) {
      if (int idle = runner.idle_ms(200); idle > 0) queue.wait(idle);  // nothing running: sleep till a task or timer
      if (!queue.run_pending(runner)) return;
      if (runner.active() > 0) runner.turn(20);
      active_workflows = runner.active();
      auto expiries = runner.take_expiries();
      for (const auto& e : expiries) ttl.add(e.namespace_, e.name, e.due_ms);
      if (!expiries.empty()) controllers.poke();
    }
  }

  // Runs `fn` on the runner thread and waits for its answer.
  Status on_runner(std::function<Status(Runner&)> fn) { return queue.call(std::move(fn)); }

  void serve_metrics(httplib::Response& res) {
    auto phases = store.count_by_phase();
    if (phases) {
      for (spec::WorkflowPhase phase : spec::kWorkflowPhases) {
        auto it = phases->find(phase);
        metrics.set_gauge("argo_workflows_gauge", "Workflows by phase, as stored", {{"phase", spec::workflow_phase_name(phase)}},
                          it == phases->end() ? 0 : static_cast<double>(it->second));
      }
    }
    if (apps) refresh_app_info(metrics, store);
    size_t queued = queue.size();
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
      if (authorize(options, req, res) == R::Handled) return R::Handled;
      // A stream counts against its client's share until it ends (connections.h).
      bool refused = req.method == "GET" && route_of(req.path).stream && !ConnectionServer::admit_stream(res);
      return refused ? R::Handled : R::Unhandled;
    });
    // Who serves here, for probes and clients of a failover pair (docs/failover.md); like
    // /api/v1/version, it needs no token.
    s.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, {{"role", options.role},
                       {"leader", options.advertise_url.empty() ? Json(nullptr) : Json(options.advertise_url)}});
    });
    add_info_routes(s);
    add_workflow_routes(s, ctx);
    add_template_routes(s, ctx);
    add_cron_routes(s, ctx);
    add_app_routes(s, ctx);
    add_webhook_routes(s, ctx);
    add_config_routes(s, options.data_dir);
    add_artifact_routes(s, store, options.data_dir);
    add_ui_routes(s, options.ui_dir);  // the catch-all: last
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
  impl_->controllers.join();
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
  impl_->controllers.start();
  impl_->http->listen_after_bind();
  return Status::ok();
}

int Server::port() const { return impl_->options.port; }

void Server::stop() {
  impl_->queue.close();
  impl_->controllers.stop();
  impl_->http->stop();
}

}  // namespace skiff::server
