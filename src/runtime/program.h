// Running a short helper program (runc kill/delete, CNI plugins, iptables) to completion.
#pragma once

#include <string>
#include <vector>

namespace skiff::runtime {

// Runs args[0] (a path) with `input` on stdin and the extra `env` entries before ours;
// returns its exit status (-1 if it could not start or was killed) and, if `out` is given,
// what it printed on stdout (up to 1 MiB). stderr is discarded.
int run_program(const std::vector<std::string>& args, const std::vector<std::string>& env, const std::string& input,
                std::string* out);

}  // namespace skiff::runtime
