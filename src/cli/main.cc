#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"

#ifndef SKIFF_VERSION
#define SKIFF_VERSION "0.1.0"
#endif

namespace skiff::cli {

int skiff_main(int argc, char** argv) {
  CLI::App app{"skiff: Argo-compatible workflows on one machine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", SKIFF_VERSION);
  int exit_code = kExitOk;
  add_run_command(app, &exit_code);
  add_lint_command(app, &exit_code);
  app.add_subcommand("version", "print the version")->callback([] {
    std::printf("skiff %s\n", SKIFF_VERSION);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitInvalid;
  }
  return exit_code;
}

}  // namespace skiff::cli
