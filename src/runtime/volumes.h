// Volumes for the host sandbox: turns a step's volumeMounts into bind mounts of host
// directories, and maps paths as seen inside a step back to host paths.
//
// Where each volume kind lives on the host (run_dir is ExecutorOptions::run_dir):
//   volumeClaimTemplates  <run_dir>/volumes/<claim>            shared by all steps of the run
//   emptyDir              <step_dir>/volumes/<name>            one per step, removed after it
//   hostPath              the path given                       as is
//   secret, configMap     <step_dir>/volumes/<name>/<key>      written from the local store, mounted read-only
//   persistentVolumeClaim <data_dir>/volumes/<ns>/<claimName>  a named local volume that outlives runs
// A hostPath is refused when the executor does not allow them (a server serving many
// namespaces), and always when it overlaps skiff's own directories, lies under /proc or is
// a block device: each would show a step the server's data.
// Plain functions, no state; they create the directories they resolve.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "runtime/executor.h"
#include "util/status.h"

namespace skiff::runtime {

struct BindMount {
  std::string source;  // host path (directory or file)
  std::string target;  // absolute, normalised path inside the step
  bool read_only = false;
  bool is_file = false;
};

// A host directory the step sees covered by a private tmpfs that holds the directory's
// entries again (each bound back from the host, symbolic links copied) and the mount
// points the step needs there but the host lacks: how a mountPath outside /tmp whose
// directory does not exist (/mnt/out, /a) is mounted without making anything on the
// host, where parallel steps would share it and it would stay behind. The sandbox builds
// it (sandbox.h); for "/" it is put together at /tmp and then made the step's root.
struct Shadow {
  std::string dir;       // the host directory covered, clean and absolute ("/" included)
  std::string build_at;  // where the tmpfs is put together: `dir`, or /tmp for "/"
  struct Entry {
    std::string path;    // as the host has it
    std::string target;  // the same under build_at
    char type = 'f';     // 'd' directory, 'l' symbolic link, 'f' anything else
    std::string link;    // a symbolic link's content
  };
  std::vector<Entry> entries;
  std::vector<std::string> new_dirs;   // mount points to make under build_at, parents first
  std::vector<std::string> new_files;  // file mount points to make under build_at
};

// Normalises an absolute path ("/a//b/./c/" -> "/a/b/c"). Fails on relative paths and on
// ".." components, so user paths cannot climb out of where they are put.
Result<std::string> clean_absolute_path(const std::string& path);

// True when `path` is `dir` or inside it (both clean and absolute).
bool is_under(const std::string& path, const std::string& dir);

struct VolumeContext {
  std::string run_dir;
  std::string step_dir;
  std::string data_dir;  // secrets, config maps and named volumes live under it
  std::string namespace_ = "default";
  // skiff's own state (server_paths): no hostPath may overlap it, and (host sandbox) no
  // mountPath lie inside it.
  std::vector<std::string> server_paths;
  bool allow_host_path = true;  // ExecutorOptions::allow_host_path
};

// `paths` as absolute paths without symbolic links (resolved as far as they exist), each
// once, none inside another.
std::vector<std::string> canonical_paths(const std::vector<std::string>& paths);

// skiff's own paths, which no step of a workflow whose run directory is `run_dir` may
// reach: the data directory, the executor's and the workflow's run directories and
// ExecutorOptions::private_paths (canonical).
std::vector<std::string> server_paths(const ExecutorOptions& options, const std::string& run_dir);

// The request's volumeMounts as bind mounts (sources made, mount points not), parents first.
Result<std::vector<BindMount>> resolve_binds(const StepRequest& request, const VolumeContext& ctx);

// resolve_binds, then makes the mount points (host sandbox): under /tmp in the step's
// private tmp (`tmp_dir`), inside the volume that holds them; one the host's own tree
// lacks becomes part of a Shadow (in `shadows`, shallowest directory first), never a
// directory made on the host.
Result<std::vector<BindMount>> resolve_mounts(const StepRequest& request, const VolumeContext& ctx,
                                              const std::string& tmp_dir, std::vector<Shadow>* shadows);

// Where `path` (clean and absolute, as a step sees it) lives when one of `mounts` holds it:
// the deepest such mount's host directory and the rest of the path; {"", path} otherwise.
std::pair<std::string, std::string> locate_in_mounts(const std::vector<BindMount>& mounts, const std::string& path);

// Reads `path` inside the directory tree `root` as a step saw it: symbolic links resolve
// within `root`, never out of it. At most `cap` bytes.
Result<std::string> read_in_root(const std::string& root, const std::string& path, size_t cap);

// Reads the regular file that `path_fd` (an O_PATH descriptor of `path`) names; anything
// else (a device, a FIFO) is refused unopened.
Result<std::string> read_regular_file(int path_fd, const std::string& path, size_t cap);

// The host path behind `path` as the step sees it: through the longest matching mount,
// then the private /tmp, else the host path itself. `path` must be clean and absolute.
std::string host_path(const std::vector<BindMount>& mounts, const std::string& tmp_dir,
                      const std::string& path);

}  // namespace skiff::runtime
