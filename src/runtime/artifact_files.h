// Artifact files on this machine: copying what a step left at an artifact's path out of its
// filesystem, packing it as Argo stores artifacts (tar.gz, zip or as is), and unpacking an
// artifact for a step that reads it.
//
// Argo's layout, which skiff keeps so that either can read the other's artifacts: a tar
// holds the path's base name as its one top entry ("hello.txt", or "dir/" and what is in
// it); unpacking a tar whose top level is one entry puts that entry at the artifact's path.
//
// A step's files are hostile: nothing here follows a symbolic link out of the step's root,
// special files are skipped, sizes and depths are bounded, and unpacking refuses absolute
// paths, "..", and links that lead outside.
#pragma once

#include <cstdint>
#include <string>

#include "spec/types.h"
#include "util/status.h"

namespace skiff::runtime {

struct ArtifactLimits {
  uint64_t max_bytes = 16ull << 30;  // of one artifact's files
  uint64_t max_entries = 1000000;
  int max_depth = 128;
};

// Copies the file or directory at `path` as seen inside `root` (symbolic links resolved
// inside the root, never out of it) to `dest` (which must not exist). kNotFound when there
// is nothing at `path`.
Status copy_out_of_root(const std::string& root, const std::string& path, const std::string& dest,
                        const ArtifactLimits& limits = {});

// Packs `src` (a file or directory of skiff's own) into `dest`: a gzipped tar (`level` -1 =
// gzip's default, 0 = no compression), a zip, or with kNone a copy of the file (a
// directory cannot be stored as is in one object: kInvalid, the caller stores its files).
// `entry_name` is the name of the top entry (the artifact path's base name).
Status pack_artifact(const std::string& src, const std::string& entry_name, spec::ArchiveKind kind, int level,
                     const std::string& dest);

// Puts the downloaded artifact `file` at `dest`: a gzipped tar is unpacked (its one top
// entry becomes `dest`; several become `dest`'s contents), anything else is moved there as
// it is. `mode` (>= 0) is set on what was put there (recursively for a directory).
Status unpack_artifact(const std::string& file, const std::string& dest, int mode, const ArtifactLimits& limits = {});

// The regular files under directory `dir`, as paths relative to it (sorted).
Result<std::vector<std::string>> list_files(const std::string& dir, const ArtifactLimits& limits = {});

}  // namespace skiff::runtime
