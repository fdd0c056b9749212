// skiff run FILE... : runs one Workflow on this machine, as Argo would, and shows it live.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/load.h"
#include "cli/run_loop.h"
#include "cli/system_clock.h"
#include "cli/view.h"
#include "engine/workflow_json.h"
#include "cli/registry_flags.h"
#include "runtime/container_executor.h"
#include "runtime/host_executor.h"
#include "runtime/pod_support.h"

namespace skiff::cli {

namespace {

struct RunFlags {
  std::vector<std::string> files;
  std::vector<std::string> parameters;
  std::string parameter_file;
  std::string entrypoint;
  std::string executor;  // "" = container when runc is usable, else host
  RegistryFlags registry;
  std::string output;
  std::string data_dir;
  bool logs = false;
};

std::atomic<bool> g_interrupted{false};

void on_interrupt(int) { g_interrupted = true; }

std::string random_suffix() {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::string s;
  for (int i = 0; i < 5; ++i) s += kAlphabet[rd() % 36];
  return s;
}

// YAML rendering of the JSON document, for --output yaml.
void emit_yaml(YAML::Emitter& out, const nlohmann::json& j) {
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
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

const spec::Object* pick_workflow(const Loaded& loaded, std::string& error) {
  const spec::Object* found = nullptr;
  for (const auto& obj : loaded.objects) {
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
  const spec::Object* wf = pick_workflow(loaded, error);
  if (!wf) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    return kExitInvalid;
  }
  std::vector<std::string> supplied;
  for (const auto& [k, v] : *params) supplied.push_back(k);
  Diagnostics diags;
  for (const auto& obj : loaded.objects) spec::validate(obj, loaded.library, diags, supplied);
  runtime::ContainerOptions container;
  std::string executor_kind = flags.executor;
  if (executor_kind.empty()) {
    Status usable = runtime::probe_containers(container);
    executor_kind = usable ? "container" : "host";
    if (!usable) std::fprintf(stderr, "skiff: %s; steps run on the host (--executor host)\n", usable.message().c_str());
  }
  Diagnostics warnings;
  spec::check_pod_fields(*wf, &loaded.library, runtime::pod_field_support(executor_kind), warnings, diags);
  print_warnings(warnings);
  if (!diags.empty()) {
    std::fputs(format_all(diags).c_str(), stderr);
    return kExitInvalid;
  }

  engine::RunOptions options;
  options.parameters = *params;
  options.entrypoint = flags.entrypoint;
  options.name = wf->metadata.name.empty() ? wf->metadata.generate_name + random_suffix() : wf->metadata.name;
  if (!wf->metadata.namespace_.empty()) options.namespace_ = wf->metadata.namespace_;
  for (const auto& w : warnings) options.spec_warnings.push_back(w.path + ": " + w.message);
  SystemClock clock;
  auto op = engine::Operator::create(*wf, loaded.library, options, clock);
  if (!op) {
    std::fprintf(stderr, "error: %s\n", op.status().message().c_str());
    return op.status().code() == Code::kInvalid ? kExitInvalid : kExitInternal;
  }
  engine::Operator& oper = **op;

  runtime::ExecutorOptions exec_options;
  std::string data_dir = flags.data_dir.empty() ? default_data_dir() : flags.data_dir;
  exec_options.run_dir = data_dir + "/runs/" + oper.workflow_name();
  if (flags.logs) {
    exec_options.log_sink = [&oper](const std::string& node_id, std::string_view line) {
      const engine::Node* n = oper.node(node_id);
      std::string who = n ? n->pod_name : node_id;
      std::fprintf(stdout, "%s: %.*s\n", who.c_str(), static_cast<int>(line.size()), line.data());
    };
  }
  exec_options.data_dir = data_dir;
  exec_options.workflow = runtime::workflow_context(oper.effective_spec(), options.namespace_, exec_options.run_dir);
  Result<std::unique_ptr<runtime::Executor>> executor = Status(Code::kInternal, "no executor");
  if (executor_kind == "container") {
    auto registry = registry_config(flags.registry);
    if (!registry) {
      std::fprintf(stderr, "error: %s\n", registry.status().message().c_str());
      return kExitInvalid;
    }
    container.registry = std::move(*registry);
    executor = runtime::make_container_executor(exec_options, container);
  } else {
    executor = runtime::make_host_executor(exec_options);
  }
  if (!executor) {
    std::fprintf(stderr, "error: %s\n", executor.status().message().c_str());
    return kExitInternal;
  }

  bool quiet = !flags.output.empty() && flags.output != "wide";
  bool terminal = !quiet && !flags.logs && isatty(STDOUT_FILENO);
  LiveView view(oper, clock, terminal, quiet ? stderr : stdout);
  if (!quiet || isatty(STDERR_FILENO)) oper.set_observer(&view);

  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  RunLoopOptions loop_options;
  loop_options.interrupted = &g_interrupted;
  run_to_completion(oper, **executor, clock, loop_options);
  view.finish();

  // Volumes of volumeClaimTemplates live as long as the workflow; a local run ends here.
  std::error_code ec;
  std::filesystem::remove_all(exec_options.run_dir + "/volumes", ec);

  if (flags.output == "json" || flags.output == "yaml") {
    std::string json = engine::workflow_json(*wf, oper, 2);
    if (flags.output == "json") {
      std::printf("%s\n", json.c_str());
    } else {
      YAML::Emitter out;
      emit_yaml(out, nlohmann::json::parse(json));
      std::printf("%s\n", out.c_str());
    }
  } else if (flags.output == "name") {
    std::printf("%s\n", oper.workflow_name().c_str());
  } else {
    SummaryOptions summary;
    summary.wide = flags.output == "wide";
    if (!terminal) std::printf("\n%s", render_summary(oper, clock, summary).c_str());
  }
  return oper.status().phase == engine::WorkflowPhase::kSucceeded ? kExitOk : kExitFailed;
}

}  // namespace

void add_run_command(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<RunFlags>();
  auto* cmd = app.add_subcommand("run", "run a Workflow on this machine, as Argo would");
  cmd->add_option("files", flags->files, "YAML or JSON files; WorkflowTemplates in them serve templateRef")->required();
  cmd->add_option("-p,--parameter", flags->parameters, "name=value, overrides spec.arguments");
  cmd->add_option("--parameter-file", flags->parameter_file, "YAML/JSON map of parameters");
  cmd->add_option("--entrypoint", flags->entrypoint, "template to start from instead of spec.entrypoint");
  cmd->add_option("--executor", flags->executor, "where steps run: container (in their images, through runc; the default when runc is usable) or host")
      ->check(CLI::IsMember({"host", "container"}));
  add_registry_flags(cmd, &flags->registry);
  cmd->add_option("-o,--output", flags->output, "json | yaml | name | wide")->check(CLI::IsMember({"json", "yaml", "name", "wide"}));
  cmd->add_option("--data", flags->data_dir, "directory for logs and volumes (default $SKIFF_DATA or ~/.local/state/skiff)");
  cmd->add_flag("--logs", flags->logs, "print the steps' log lines as they come");
  cmd->callback([flags, exit_code] { *exit_code = run(*flags); });
}

}  // namespace skiff::cli
