// ContainerExecutor: runs every step in its OCI image through runc, as a Pod would run.
//
// Per step: the image is pulled (on a worker thread, once per run and reference) into the
// ImageStore; the step gets an overlayfs rootfs over the image's layers (upper and work
// dirs on the run's private tmpfs), a generated OCI runtime config (Kubernetes' rules for
// command/args vs ENTRYPOINT/CMD, env, user, capabilities, seccomp, cgroup limits, its
// own PID/IPC/UTS/mount/network namespaces) and `runc run` as its process, with
// skiff-init as PID 1. See docs/containers.md.
#pragma once

#include <memory>
#include <string>

#include "runtime/executor.h"
#include "runtime/registry.h"
#include "util/status.h"

namespace skiff::runtime {

struct ContainerOptions {
  RegistryConfig registry;
  std::string runc = "runc";
  std::string init_path;   // skiff-init; default: next to this executable
  std::string state_root = "/run/skiff/runc";  // runc --root
};

// Whether containers can run here: root, runc found, overlayfs and skiff-init present.
// The message says what is missing.
Status probe_containers(const ContainerOptions& options);

Result<std::unique_ptr<Executor>> make_container_executor(const ExecutorOptions& options,
                                                          const ContainerOptions& container);

}  // namespace skiff::runtime
