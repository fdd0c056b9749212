// skiff run FILE... : runs one Workflow on this machine, as Argo would, and shows it live.
//
// The workflow runs on the server's Runner (server/runner.h) over a store held in memory:
// `skiff run` and `skiff server` carry out the engine's actions and report steps back to
// it through the same code. This file loads, validates, picks the executor and prints.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <poll.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/load.h"
#include "cli/registry_flags.h"
#include "cli/system_clock.h"
#include "cli/view.h"
#include "cli/yaml_emit.h"
#include "engine/workflow_json.h"
#include "kube/client.h"
#include "runtime/secret_store.h"
#include "util/base64.h"
#include "runtime/container_executor.h"
#include "runtime/fd.h"
#include "runtime/pod_support.h"
#include "runtime/resource_executor.h"
#include "server/api_context.h"
#include "server/app_controller.h"
#include "server/controller.h"
#include "server/local_objects.h"
#include "server/runner.h"
#include "server/runner_queue.h"
#include "store/store.h"

namespace skiff::cli {

namespace {

struct RunFlags {
  std::vector<std::string> files;
  std::vector<std::string> parameters;
  std::string parameter_file;
  std::string entrypoint;
  std::string namespace_;  // -n: the workflow's namespace when its metadata names none
  std::string executor;  // "" = container when runc is usable, else host
  RegistryFlags registry;
  ClusterFlags cluster;
  std::string output;
  std::string data_dir;
  bool logs = false;
};

// SIGINT and SIGTERM set the flag and ring the eventfd, which wakes the runner's wait.
std::atomic<bool> g_interrupted{false};
int g_interrupt_fd = -1;

void on_interrupt(int) {
  g_interrupted = true;
  uint64_t one = 1;
  (void)!::write(g_interrupt_fd, &one, sizeof one);
}

std::string random_suffix() {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::string s;
  for (int i = 0; i < 5; ++i) s += kAlphabet[rd() % 36];
  return s;
}

spec::Object* pick_workflow(Loaded& loaded, std::string& error) {
  spec::Object* found = nullptr;
  for (auto& obj : loaded.objects) {
    if (obj.kind != spec::Kind::kWorkflow) continue;
    if (found) {
      error = fmt::format("{}:{}: more than one Workflow given; run them one at a time",
                          obj.pos.file, obj.pos.line);
      return nullptr;
    }
    found = &obj;
  }
  if (!found) error = "no Workflow among the given files (kind: Workflow); WorkflowTemplates alone cannot run";
  return found;
}

// The executor the flags ask for: container when runc is usable and none is named.
std::string executor_kind(const RunFlags& flags) {
  if (!flags.executor.empty()) return flags.executor;
  runtime::ContainerOptions container;
  Status usable = runtime::probe_containers(container);
  if (!usable) std::fprintf(stderr, "skiff: %s; steps run on the host (--executor host)\n", usable.message().c_str());
  return usable ? "container" : "host";
}

// Turns the runner until the workflow ends. An interrupt terminates it, as `argo
// terminate` does. A workflow left waiting for a resume (a suspend without a duration,
// with nothing else to do) cannot get one here: the run ends with it still Running.
// Resource steps acting on skiff's own kinds (a workflow of workflows) reach the runner
// through `queue`, whose eventfd the interrupts ring too.
void run_to_end(server::Runner& runner, server::RunnerQueue& queue, const std::string& namespace_,
                const std::string& name) {
  constexpr int kMaxWaitMs = 1000;  // interrupts and step events wake the wait at once
  bool terminated = false;
  while (runner.active() > 0) {
    queue.run_pending(runner);
    if (g_interrupted && !terminated) {
      terminated = true;
      (void)runner.stop(namespace_, name, "terminated: interrupted by the user", /*terminate=*/true);
    } else if (runner.stalled() && queue.size() == 0) {
      break;
    }
    if (int idle = runner.idle_ms(kMaxWaitMs); idle > 0) {  // nothing runs: sleep till a timer
      pollfd pfd{g_interrupt_fd, POLLIN, 0};
      ::poll(&pfd, 1, idle);
    }
    runner.turn(kMaxWaitMs);
  }
  queue.close();
}

void print_result(const RunFlags& flags, const spec::Object& wf, const engine::Operator& op,
                  const engine::Clock& clock, bool live_terminal) {
  if (flags.output == "json" || flags.output == "yaml") {
    std::string json = engine::workflow_json(wf, op, 2);
    if (flags.output == "json") {
      std::printf("%s\n", json.c_str());
    } else {
      YAML::Emitter out;
      emit_yaml(out, nlohmann::json::parse(json));
      std::printf("%s\n", out.c_str());
    }
  } else if (flags.output == "name") {
    std::printf("%s\n", op.workflow_name().c_str());
  } else {
    SummaryOptions summary;
    summary.wide = flags.output == "wide";
    if (!live_terminal) std::printf("\n%s", render_summary(op, clock, summary).c_str());
  }
}

int run(const RunFlags& flags) {
  Loaded loaded;
  load_files(flags.files, loaded);
  if (!loaded.diagnostics.empty()) {
    std::fputs(format_all(loaded.diagnostics).c_str(), stderr);
    return kExitInvalid;
  }
  auto params = load_parameters(flags.parameters, flags.parameter_file);
  if (!params) {
    std::fprintf(stderr, "error: %s\n", params.status().message().c_str());
    return kExitInvalid;
  }
  std::string error;
  spec::Object* wf = pick_workflow(loaded, error);
  if (!wf) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    return kExitInvalid;
  }
  std::vector<std::string> supplied;
  for (const auto& [k, v] : *params) supplied.push_back(k);
  Diagnostics diags;
  for (const auto& obj : loaded.objects) {
    spec::validate(obj, loaded.library, diags, supplied);
    runtime::check_resource_templates(obj, diags);
  }
  std::string kind = executor_kind(flags);
  Diagnostics warnings;  // pod-level fields the executor ignores (the Runner makes them a SpecWarning)
  spec::check_pod_fields(*wf, &loaded.library, runtime::pod_field_support(kind), warnings, diags);
  print_warnings(warnings);
  if (!diags.empty()) {
    std::fputs(format_all(diags).c_str(), stderr);
    return kExitInvalid;
  }

  engine::RunOptions options;
  options.parameters = *params;
  options.entrypoint = flags.entrypoint;
  // generateName cut to 58 characters, as Kubernetes' name generator does: the name fits in 63.
  options.name = wf->metadata.name.empty() ? wf->metadata.generate_name.substr(0, 58) + random_suffix()
                                           : wf->metadata.name;
  if (!wf->metadata.namespace_.empty()) options.namespace_ = wf->metadata.namespace_;
  // Pods can only go to the managed namespace: a workflow that names none runs there.
  else if (kind == "kubernetes" && !flags.cluster.managed_namespace.empty()) options.namespace_ = flags.cluster.managed_namespace;
  if (!flags.namespace_.empty()) {
    if (!wf->metadata.namespace_.empty() && wf->metadata.namespace_ != flags.namespace_) {
      std::fprintf(stderr, "error: %s: the workflow's metadata.namespace is %s, but -n says %s: drop one of them\n",
                   wf->pos.file.c_str(), wf->metadata.namespace_.c_str(), flags.namespace_.c_str());
      return kExitInvalid;
    }
    options.namespace_ = flags.namespace_;
  }

  // The executor's own scratch space is data/executor, as the server's; each workflow's
  // logs and claims go to data/runs/<namespace>/<name> (Runner).
  std::error_code ec;
  std::string data_dir =
      std::filesystem::absolute(flags.data_dir.empty() ? default_data_dir() : flags.data_dir, ec).string();
  // ConfigMaps and Secrets among the files are there for the run, as `kubectl apply -f`
  // would make them (replacing one of the same name).
  for (const spec::ConfigDocument& d : loaded.configs) {
    runtime::ConfigObject object;
    object.type = d.secret ? d.type : "Opaque";
    object.data = d.data;
    object.labels = d.labels;
    object.annotations = d.annotations;
    std::string ns = d.namespace_.empty() ? options.namespace_ : d.namespace_;
    runtime::ConfigKind kind = d.secret ? runtime::ConfigKind::kSecret : runtime::ConfigKind::kConfigMap;
    if (Status s = runtime::write_config_object(data_dir, kind, ns, d.name, object, /*replace=*/true); !s) {
      std::fprintf(stderr, "error: %s:%d: %s %s: %s\n", d.pos.file.c_str(), d.pos.line, d.secret ? "Secret" : "ConfigMap",
                   d.name.c_str(), s.message().c_str());
      return kExitInternal;
    }
  }
  std::shared_ptr<const engine::Operator> op;  // set once the run is added
  runtime::ExecutorOptions exec_options;
  exec_options.run_dir = data_dir + "/executor";
  exec_options.data_dir = data_dir;
  if (flags.logs) {
    exec_options.log_sink = [&op](const std::string& step, std::string_view line) {
      std::string node_id = step.substr(step.find('/') + 1);  // the runner's "<uid>/<node id>"
      const engine::Node* n = op ? op->node(node_id) : nullptr;
      std::string who = n ? n->pod_name : node_id;
      std::fprintf(stdout, "%s: %.*s\n", who.c_str(), static_cast<int>(line.size()), line.data());
    };
  }
  auto cluster = cluster_client(flags.cluster);
  if (!cluster) {
    std::fprintf(stderr, "error: %s\n", cluster.status().message().c_str());
    return kExitInvalid;
  }
  if (kind == "kubernetes" && *cluster) {
    // Steps' Pods read them from the cluster: there too, as `kubectl apply -f` would make them.
    for (const spec::ConfigDocument& d : loaded.configs) {
      nlohmann::json object = {{"apiVersion", "v1"}, {"kind", d.secret ? "Secret" : "ConfigMap"},
                               {"metadata", {{"name", d.name}, {"namespace", d.namespace_.empty() ? options.namespace_ : d.namespace_}}}};
      if (!d.labels.empty()) object["metadata"]["labels"] = d.labels;
      if (!d.annotations.empty()) object["metadata"]["annotations"] = d.annotations;
      nlohmann::json data = nlohmann::json::object();
      for (const auto& [k, v] : d.data) data[k] = d.secret ? base64_encode(v) : v;
      object["data"] = std::move(data);
      if (d.secret) object["type"] = d.type.empty() ? "Opaque" : d.type;
      kube::ApplyOptions apply;
      apply.force = true;
      if (auto applied = (*cluster)->apply(object, options.namespace_, apply); !applied) {
        std::fprintf(stderr, "error: %s:%d: %s\n", d.pos.file.c_str(), d.pos.line, applied.status().message().c_str());
        return kExitInvalid;
      }
    }
  }
  auto executor = make_executor(kind, flags.registry, *cluster, exec_options, flags.cluster);
  if (!executor) {
    std::fprintf(stderr, "error: %s\n", executor.status().message().c_str());
    return executor.status().code() == Code::kInvalid ? kExitInvalid : kExitInternal;
  }
  auto store = store::Store::open("sqlite::memory:");
  if (!store) {
    std::fprintf(stderr, "error: %s\n", store.status().message().c_str());
    return kExitInternal;
  }
  SystemClock clock;
  server::Runner runner(**executor, **store, clock, data_dir);
  runner.set_space_reserve(false);
  runner.set_pod_support(runtime::pod_field_support(kind));
  // skiff's own kinds for resource steps, as the server keeps them: the files'
  // WorkflowTemplates are in the store for the workflows those steps create.
  server::ServerOptions local_options;
  local_options.data_dir = data_dir;
  server::EventLog events;
  server::RunnerQueue queue;
  server::ApiContext local{local_options, **store, clock, events, **executor,
                           [&queue](std::function<Status(server::Runner&)> fn) { return queue.call(std::move(fn)); },
                           [] {}};
  auto local_objects = std::make_shared<server::LocalObjects>(local);
  if (auto* resources = dynamic_cast<runtime::ResourceExecutor*>(executor->get())) resources->set_local(local_objects);
  // Applications a step creates (a pipeline's deploy step) sync as under skiff server.
  server::AppControllerOptions app_options;
  app_options.cache_dir = data_dir + "/cd/git";
  server::AppController apps(local, local_objects, *cluster, app_options);
  server::ControllerLoop controllers(clock);
  controllers.add(&apps);
  local.poke_controllers = [&controllers] { controllers.poke(); };
  controllers.start();
  for (const auto* lib : {&loaded.library.workflow_templates, &loaded.library.cluster_workflow_templates}) {
    for (const spec::Object* t : *lib) {
      const spec::KindInfo& info = spec::kind_info(t->kind);
      std::string ns = !info.namespaced ? "" : t->metadata.namespace_.empty() ? options.namespace_ : t->metadata.namespace_;
      (void)(*store)->create_object(t->kind, {ns, t->metadata.name, t->source_json, clock.now_ms(), 1});
    }
  }

  bool quiet = !flags.output.empty() && flags.output != "wide";
  bool terminal = !quiet && !flags.logs && isatty(STDOUT_FILENO);
  std::optional<LiveView> view;
  auto watch = [&](const engine::Operator& started) -> engine::Observer* {
    view.emplace(started, clock, terminal, quiet ? stderr : stdout);
    return !quiet || isatty(STDERR_FILENO) ? &*view : nullptr;
  };
  std::vector<spec::Object> templates;
  for (const auto* lib : {&loaded.library.workflow_templates, &loaded.library.cluster_workflow_templates}) {
    for (const spec::Object* t : *lib) templates.push_back(*t);
  }
  // The runner gets the definition; the printed result needs only its metadata and source
  // (the document as JSON), which stays here alone: the runner would store it in the
  // workflow's row, which every turn rewrites (1.4 ms a turn for 100,000 tasks), and
  // nobody reads it back from a store in memory.
  spec::Object shown;
  shown.kind = wf->kind;
  shown.metadata = wf->metadata;
  shown.metadata.namespace_ = options.namespace_;  // where it ran (-n, --managed-namespace), not "default"
  shown.source_json = std::move(wf->source_json);
  auto record = runner.add(std::move(*wf), std::move(templates), options, watch);
  if (!record) {
    std::fprintf(stderr, "error: %s\n", record.status().message().c_str());
    return record.status().code() == Code::kInvalid ? kExitInvalid : kExitInternal;
  }
  op = runner.operator_of(record->uid);

  g_interrupt_fd = queue.fd();
  (*executor)->set_interrupt_fd(g_interrupt_fd);
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  run_to_end(runner, queue, options.namespace_, op->workflow_name());
  view->finish();

  // Volumes of volumeClaimTemplates live as long as the workflow; a local run ends here.
  std::filesystem::remove_all(data_dir + "/runs/" + options.namespace_ + "/" + op->workflow_name() + "/volumes", ec);

  print_result(flags, shown, *op, clock, terminal);
  return op->status().phase == engine::WorkflowPhase::kSucceeded ? kExitOk : kExitFailed;
}

}  // namespace

void add_run_command(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<RunFlags>();
  auto* cmd = app.add_subcommand("run", "run a Workflow on this machine, as Argo would");
  cmd->add_option("files", flags->files, "YAML or JSON files; WorkflowTemplates in them serve templateRef")->required();
  cmd->add_option("-p,--parameter", flags->parameters, "name=value, overrides spec.arguments");
  cmd->add_option("--parameter-file", flags->parameter_file, "YAML/JSON map of parameters");
  cmd->add_option("--entrypoint", flags->entrypoint, "template to start from instead of spec.entrypoint");
  cmd->add_option("-n,--namespace", flags->namespace_, "the workflow's namespace when its metadata gives none (default \"default\", or --managed-namespace)");
  cmd->add_option("--executor", flags->executor, "where steps run: container (in their images, through runc; the default when runc is usable), host, or kubernetes (as Pods on --kubeconfig's cluster)")
      ->check(CLI::IsMember({"host", "container", "kubernetes"}));
  add_registry_flags(cmd, &flags->registry);
  add_cluster_flags(cmd, &flags->cluster);
  cmd->add_option("-o,--output", flags->output, "json | yaml | name | wide")->check(CLI::IsMember({"json", "yaml", "name", "wide"}));
  cmd->add_option("--data", flags->data_dir, "directory for logs and volumes (default $SKIFF_DATA or ~/.local/state/skiff)");
  cmd->add_flag("--logs", flags->logs, "print the steps' log lines as they come");
  cmd->callback([flags, exit_code] { *exit_code = run(*flags); });
}

}  // namespace skiff::cli
