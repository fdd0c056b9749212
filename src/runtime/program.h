// Running a short helper program (runc kill/delete, CNI plugins, iptables, jq) to completion.
#pragma once

#include <string>
#include <vector>

#include "util/status.h"

namespace skiff::runtime {

// The path of program `name` (looked up in PATH unless it holds a '/'), "" when not found.
std::string find_program(const std::string& name);

// "<pid>-<random>", fixed for the life of this process: names (runc containers, network
// namespaces) made from it cannot meet a stale one left by an earlier process that had the
// same pid. The pid comes first, so a leftover's owner can still be looked up.
const std::string& process_tag();

// Runs args[0] (a path) with `input` on stdin and the extra `env` entries before ours;
// returns its exit status (-1 if it could not start or was killed) and, if `out` is given,
// what it printed on stdout (up to 1 MiB). stderr is discarded.
int run_program(const std::vector<std::string>& args, const std::vector<std::string>& env, const std::string& input,
                std::string* out);

struct ProgramLimits {
  int timeout_ms = 10000;
  size_t max_output = 1 << 20;  // bytes of stdout; stderr keeps its first 64 KiB
};

struct ProgramOutput {
  int exit_code = -1;  // -1 when it was killed
  bool timed_out = false;
  bool output_too_large = false;  // stdout passed max_output (and the program was killed)
  std::string out, err;
};

// Runs args[0] (a path) with `input` on stdin, in a process group of its own, collecting
// stdout and stderr. The group is killed (SIGKILL) when `timeout_ms` passes, when stdout
// passes max_output, and when the program has exited (so a child it left behind holding
// the pipes cannot keep the caller waiting). An error only when it could not start.
// Blocks the calling thread; any thread (SIGPIPE from writing to a program that stopped
// reading is kept from the process).
Result<ProgramOutput> run_program_limited(const std::vector<std::string>& args, const std::string& input,
                                          const ProgramLimits& limits);

}  // namespace skiff::runtime
