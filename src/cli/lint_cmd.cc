// skiff lint FILE...: every problem in every file at once; exit 2 when there is any.
// Fields the chosen executor ignores are warnings (printed, exit 0); those it refuses are
// problems.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "cli/load.h"
#include "runtime/container_executor.h"
#include "runtime/pod_support.h"
#include "runtime/resource_executor.h"

namespace skiff::cli {

namespace {

struct LintFlags {
  std::vector<std::string> files;
  std::vector<std::string> parameters;
  std::string executor;  // "" = container when runc is usable, else host (as skiff run)
};

int lint(const LintFlags& flags) {
  Loaded loaded;
  load_files(flags.files, loaded);
  std::vector<std::string> supplied;
  for (const auto& p : flags.parameters) supplied.push_back(p.substr(0, p.find('=')));
  for (const auto& obj : loaded.objects) {
    spec::validate(obj, loaded.library, loaded.diagnostics, supplied);
    runtime::check_resource_templates(obj, loaded.diagnostics);
  }
  std::string executor = flags.executor;
  if (executor.empty()) executor = runtime::probe_containers({}) ? "container" : "host";
  Diagnostics warnings;
  for (const auto& obj : loaded.objects)
    spec::check_pod_fields(obj, nullptr, runtime::pod_field_support(executor), warnings, loaded.diagnostics);
  print_warnings(warnings);
  if (!loaded.diagnostics.empty()) {
    std::fputs(format_all(loaded.diagnostics).c_str(), stderr);
    std::fprintf(stderr, "%zu problem%s found\n", loaded.diagnostics.size(),
                 loaded.diagnostics.size() == 1 ? "" : "s");
    return kExitInvalid;
  }
  std::printf("no linting errors found in %zu object%s\n", loaded.objects.size(),
              loaded.objects.size() == 1 ? "" : "s");
  return kExitOk;
}

}  // namespace

void add_lint_command(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<LintFlags>();
  auto* cmd = app.add_subcommand("lint", "check workflows and templates as `argo lint` does");
  cmd->add_option("files", flags->files, "YAML or JSON files (several documents each)")->required();
  cmd->add_option("-p,--parameter", flags->parameters, "name=value supplied at submission");
  cmd->add_option("--executor", flags->executor,
                  "warn about the fields this executor ignores: container (the default when runc is usable), host or kubernetes")
      ->check(CLI::IsMember({"host", "container", "kubernetes"}));
  cmd->callback([flags, exit_code] { *exit_code = lint(*flags); });
}

}  // namespace skiff::cli
