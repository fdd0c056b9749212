// What supervisor.cc and spawner.cc share: the encoding of a SupervisedStep sent to the
// spawner, and the supervisor's own code, which the spawner runs in each fork.
#pragma once

#include <string>

#include "runtime/supervisor.h"

namespace skiff::runtime {

std::string encode_step(const SupervisedStep& step);
bool decode_step(const char* p, const char* end, SupervisedStep* step);

// In a freshly forked process: supervises `step` and exits. `done_w` (or -1) is closed
// once the result is written.
[[noreturn]] void run_supervisor(const SupervisedStep& step, int done_w);

}  // namespace skiff::runtime
