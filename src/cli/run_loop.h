// The run loop: one thread drives a workflow's Operator (engine/, no I/O) with an Executor
// (runtime/): carry out the engine's actions, wait for exits or the next timer, feed the
// results back, until the workflow is done. `skiff run` uses it; the server drives many
// workflows with its own Runner (server/runner.h) instead.
#pragma once

#include <atomic>

#include "engine/operator.h"
#include "runtime/executor.h"

namespace skiff::cli {

struct RunLoopOptions {
  // Set asynchronously (e.g. by SIGINT); the loop terminates the workflow when it sees it.
  const std::atomic<bool>* interrupted = nullptr;
};

void run_to_completion(engine::Operator& op, runtime::Executor& executor,
                       const engine::Clock& clock, const RunLoopOptions& options = {});

}  // namespace skiff::cli
