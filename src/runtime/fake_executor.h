// FakeExecutor: an Executor that runs no processes. Each step's outcome comes from a script
// (by template, by command, or anything else in its request) and its time passes on a clock
// the test may own. For tests of what drives an executor (the Runner), and a third party in
// the executor conformance suite beside the host and container executors.
//
// Threads: as executor.h says; read_log() takes a lock, so any thread may call it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "runtime/executor.h"

namespace skiff::runtime {

// How one step goes.
struct FakeStep {
  int exit_code = 0;
  std::string stdout_text;                              // its result; also its log's first bytes
  std::string log;                                      // more of its log after stdout (stderr, say)
  std::map<std::string, std::string> output_parameters;
  int64_t duration_ms = 0;  // on FakeOptions' clock; 0 ends at the next wait(), < 0 runs until killed
  std::string start_error;  // set: the step cannot start and ends in error with this message
  std::string termination_message;  // StepResult::termination_message
};

using FakeScript = std::function<FakeStep(const StepRequest&)>;

// A script by template name; templates not named exit 0 at once, printing nothing.
FakeScript fake_script_by_template(std::map<std::string, FakeStep> steps);

struct FakeOptions {
  FakeScript script;  // none: every step exits 0 at once, printing nothing
  // The clock steps' durations count on (none: the steady clock, in ms).
  std::function<int64_t()> now_ms;
  // How wait() lets time pass until `ms` on that clock. None: it sleeps (and returns early
  // when the interrupt fd is readable). A test's manual clock jumps there instead.
  std::function<void(int64_t ms)> sleep_until;
  std::string ip = "127.0.0.1";  // what StepStarted says
};

std::unique_ptr<Executor> make_fake_executor(FakeOptions options);

}  // namespace skiff::runtime
