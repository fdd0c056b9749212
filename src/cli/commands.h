// The skiff command line: one file per subcommand, wired here. cli/ is the only module that
// sees everything; it parses flags, calls a module, prints, and maps outcomes to exit codes.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace skiff::cli {

// Exit codes, mapped in one place.
enum ExitCode : int {
  kExitOk = 0,        // workflow Succeeded / no problems
  kExitFailed = 1,    // workflow Failed or Error
  kExitInvalid = 2,   // invalid input (files, flags, specs)
  kExitInternal = 3,  // skiff itself could not go on
};

int skiff_main(int argc, char** argv);

// Each registers its subcommand on `app`; the callback stores the exit code in `*exit_code`.
void add_run_command(CLI::App& app, int* exit_code);
void add_lint_command(CLI::App& app, int* exit_code);
void add_image_command(CLI::App& app, int* exit_code);
void add_secret_commands(CLI::App& app, int* exit_code);  // secret and configmap
void add_server_command(CLI::App& app, int* exit_code);
void add_token_command(CLI::App& app, int* exit_code);
// submit, list, get, logs, wait, delete, retry, resubmit, stop, terminate, template ...
void add_client_commands(CLI::App& app, int* exit_code);
// app create|list|get|delete|sync|history|rollback|set|wait|diff (Argo CD's Applications)
void add_app_commands(CLI::App& app, int* exit_code);

// $SKIFF_DATA, else $XDG_STATE_HOME/skiff, else ~/.local/state/skiff.
std::string default_data_dir();

}  // namespace skiff::cli
