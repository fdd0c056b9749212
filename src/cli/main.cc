#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"

#ifndef SKIFF_VERSION
#define SKIFF_VERSION "0.1.0"
#endif

namespace skiff::cli {

std::string default_data_dir() {
  if (const char* d = std::getenv("SKIFF_DATA")) return d;
  if (const char* x = std::getenv("XDG_STATE_HOME")) return std::string(x) + "/skiff";
  if (const char* h = std::getenv("HOME")) return std::string(h) + "/.local/state/skiff";
  return "/tmp/skiff";
}

int skiff_main(int argc, char** argv) {
  CLI::App app{"skiff: Argo-compatible workflows on one machine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", SKIFF_VERSION);
  int exit_code = kExitOk;
  add_run_command(app, &exit_code);
  add_lint_command(app, &exit_code);
  add_image_command(app, &exit_code);
  add_secret_commands(app, &exit_code);
  add_server_command(app, &exit_code);
  add_token_command(app, &exit_code);
  add_client_commands(app, &exit_code);
  add_app_commands(app, &exit_code);
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
