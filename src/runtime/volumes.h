// Volumes for the host sandbox: turns a step's volumeMounts into bind mounts of host
// directories, and maps paths as seen inside a step back to host paths.
//
// Where each volume kind lives on the host (run_dir is ExecutorOptions::run_dir):
//   volumeClaimTemplates  <run_dir>/volumes/<claim>            shared by all steps of the run
//   emptyDir              <step_dir>/volumes/<name>            one per step, removed after it
//   hostPath              the path given                       as is
//   secret, configMap     <step_dir>/volumes/<name>/<key>      written from the local store, mounted read-only
//   persistentVolumeClaim <data_dir>/volumes/<ns>/<claimName>  a named local volume that outlives runs
// Plain functions, no state; they create the directories they resolve.
#pragma once

#include <string>
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

// Normalises an absolute path ("/a//b/./c/" -> "/a/b/c"). Fails on relative paths and on
// ".." components, so user paths cannot climb out of where they are put.
Result<std::string> clean_absolute_path(const std::string& path);

struct VolumeContext {
  std::string run_dir;
  std::string step_dir;
  std::string data_dir;  // secrets, config maps and named volumes live under it
  std::string namespace_ = "default";
};

// The request's volumeMounts as bind mounts (sources made, mount points not), parents first.
Result<std::vector<BindMount>> resolve_binds(const StepRequest& request, const VolumeContext& ctx);

// resolve_binds, then makes the mount points on the host (host sandbox): under /tmp in
// the step's private tmp (`tmp_dir`); elsewhere on the host itself.
Result<std::vector<BindMount>> resolve_mounts(const StepRequest& request, const VolumeContext& ctx,
                                              const std::string& tmp_dir);

// The host path behind `path` as the step sees it: through the longest matching mount,
// then the private /tmp, else the host path itself. `path` must be clean and absolute.
std::string host_path(const std::vector<BindMount>& mounts, const std::string& tmp_dir,
                      const std::string& path);

}  // namespace skiff::runtime
