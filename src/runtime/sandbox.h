// Sandbox: starts one step in new mount, PID, UTS and IPC namespaces on the host.
//
// The process we clone is a tiny init (PID 1 of the namespace): it makes the mount tree
// private, mounts a fresh /proc, covers skiff's own directories and files (`hidden`) with
// empty mounts, covers the directories that need mount points the host lacks (`shadows`),
// binds the step's private tmp directory over /tmp and its volumes at their mount paths
// and, unless the step is privileged, isolates it from the machine (isolation.h: a private
// /dev, read-only kernel settings, only the capabilities ordinary steps need).
// Then it starts the step's command as PID 2 (a vfork-style clone, so no page tables are
// copied) and waits for it. A SIGTERM sent to the init is forwarded to every process of
// the namespace; a command that were PID 1 itself would ignore SIGTERM unless it installed
// a handler, as in a bare container. When the command exits, the init exits with its code
// (128+N when killed by signal N), which tears the namespace down and kills whatever the
// step left behind. Setup and exec failures come back through a close-on-exec pipe.
// Everything the child needs is prepared before cloning, so the child only makes system
// calls (safe while other threads hold locks).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "runtime/fd.h"
#include "runtime/volumes.h"
#include "util/status.h"

namespace skiff::runtime {

struct SandboxSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in the step's PATH if it has no '/'
  std::vector<std::string> env;   // "NAME=value"
  std::string working_dir;        // inside the step; must exist
  std::string hostname;
  std::string tmp_dir;            // host directory bound over /tmp
  std::vector<BindMount> mounts;  // in mount order
  // Host directories the step sees privately, with mount points the host lacks (before
  // `mounts`; volumes.h Shadow). One for "/" makes a private tmpfs the step's root.
  std::vector<Shadow> shadows;
  std::vector<std::string> hidden;  // host paths the step sees empty: skiff's own state
  bool read_only_root = false;      // the host's files read-only (/tmp, volumes, /dev stay writable)
  bool privileged = false;          // every capability, the host's /dev, writable kernel settings
  // A host file bound at `message_path` (under /dev or /tmp) after the mounts, its mount
  // point made there: the step's terminationMessagePath (termination_message.h). A
  // privileged step's /dev is the host's, where the mount point stays behind as an empty
  // file; where it cannot be made (the host's files read-only) the step has none.
  std::string message_file;
  std::string message_path;
};

struct SandboxProcess {
  pid_t pid = -1;  // host pid of the step's init
  Fd pidfd;
  Fd out;     // read ends (non-blocking) of the step's stdout and stderr
  Fd err;
  Fd status;  // read end of the setup-error pipe: empty at EOF means the exec succeeded
};

// Starts the step as a child of this process (its supervisor, see supervisor.h); fails
// only when the process could not be created at all.
Result<SandboxProcess> spawn_sandbox(const SandboxSpec& spec);

// After the init has exited: the setup or exec error it reported, or ok.
Status read_setup_error(const SandboxProcess& process);

// Checks once that namespaces can be created here (kUnavailable with a hint if not).
Status probe_sandbox();

}  // namespace skiff::runtime
