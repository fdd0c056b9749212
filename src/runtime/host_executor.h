// HostExecutor: runs steps with the host's tools, each in its own mount and PID namespace,
// with a private /tmp and its volumes bind-mounted at their mountPaths. See executor.h.
#pragma once

#include <memory>

#include "runtime/executor.h"
#include "util/status.h"

namespace skiff::runtime {

// Fails (kUnavailable) when namespaces cannot be created here (e.g. not root and no user
// namespaces); the message says how to fix it.
Result<std::unique_ptr<Executor>> make_host_executor(const ExecutorOptions& options);

}  // namespace skiff::runtime
