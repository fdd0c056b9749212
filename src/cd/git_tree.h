// Writing one git tree into a fresh directory, bounded (internal to cd/git.cc).
//
// Refuses entry names that could leave the directory, symlinks whose target lies outside
// it, and trees over the limits' file count or total size. Single-threaded: the caller
// holds the repository's mutex.
#pragma once

#include <string>

#include "cd/git.h"
#include "util/status.h"

struct git_repository;
struct git_tree;

namespace skiff::cd {

// Writes `tree` (from `repo`) under `dir`, which must not exist yet. On failure `dir` may
// hold part of the tree; the caller removes it.
Status write_tree(git_repository* repo, const git_tree* tree, const std::string& dir,
                  const GitLimits& limits);

// Whether `target`, a symlink's text at `link_path` (relative to the tree's root, '/'
// separated), stays inside the tree when resolved by its names alone.
bool link_stays_inside(const std::string& link_path, const std::string& target);

}  // namespace skiff::cd
