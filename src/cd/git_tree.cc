#include "cd/git_tree.h"

#include <fcntl.h>
#include <git2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace skiff::cd {
namespace {

std::string sys_error(const std::string& what) { return fmt::format("{}: {}", what, std::strerror(errno)); }

bool safe_name(const char* name) {
  std::string n = name;
  return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos &&
         n.find('\\') == std::string::npos;
}

class TreeWriter {
 public:
  TreeWriter(git_repository* repo, std::string root, const GitLimits& limits)
      : repo_(repo), root_(std::move(root)), limits_(limits) {}

  Status write(const git_tree* tree) {
    if (mkdir(root_.c_str(), 0755) != 0) return internal_error(sys_error("creating " + root_));
    if (Status s = write_dir(tree, ""); !s) return s;
    return write_links();
  }

 private:
  Status write_dir(const git_tree* tree, const std::string& rel) {
    size_t n = git_tree_entrycount(tree);
    for (size_t i = 0; i < n; ++i) {
      const git_tree_entry* e = git_tree_entry_byindex(tree, i);
      const char* name = git_tree_entry_name(e);
      if (!safe_name(name)) return invalid(fmt::format("tree entry \"{}{}\" is not a safe file name", rel, name));
      if (++entries_ > limits_.max_tree_files)
        return invalid(fmt::format("the tree has more than {} files (the limit)", limits_.max_tree_files));
      std::string path = rel + name;
      if (Status s = write_entry(e, path); !s) return s;
    }
    return Status::ok();
  }

  Status write_entry(const git_tree_entry* e, const std::string& path) {
    std::string full = root_ + "/" + path;
    switch (git_tree_entry_filemode(e)) {
      case GIT_FILEMODE_TREE: {
        if (mkdir(full.c_str(), 0755) != 0) return internal_error(sys_error("creating " + full));
        git_tree* sub = nullptr;
        if (git_tree_lookup(&sub, repo_, git_tree_entry_id(e)) != 0)
          return internal_error(fmt::format("reading directory \"{}\" from the repository", path));
        std::unique_ptr<git_tree, void (*)(git_tree*)> owned(sub, git_tree_free);
        return write_dir(sub, path + "/");
      }
      case GIT_FILEMODE_BLOB:
      case GIT_FILEMODE_BLOB_EXECUTABLE:
      case GIT_FILEMODE_LINK: {
        git_blob* blob = nullptr;
        if (git_blob_lookup(&blob, repo_, git_tree_entry_id(e)) != 0)
          return internal_error(fmt::format("reading \"{}\" from the repository", path));
        std::unique_ptr<git_blob, void (*)(git_blob*)> owned(blob, git_blob_free);
        auto size = static_cast<std::uint64_t>(git_blob_rawsize(blob));
        bytes_ += size;
        if (bytes_ > limits_.max_tree_bytes)
          return invalid(fmt::format("the tree is larger than {} MiB (the limit)", limits_.max_tree_bytes >> 20));
        const char* data = static_cast<const char*>(git_blob_rawcontent(blob));
        if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
          links_.emplace_back(path, std::string(data, size));
          return Status::ok();
        }
        return write_file(full, data, size, git_tree_entry_filemode(e) == GIT_FILEMODE_BLOB_EXECUTABLE);
      }
      default:  // a submodule (GIT_FILEMODE_COMMIT): an empty directory, as git leaves it
        if (mkdir(full.c_str(), 0755) != 0) return internal_error(sys_error("creating " + full));
        return Status::ok();
    }
  }

  static Status write_file(const std::string& full, const char* data, size_t size, bool executable) {
    // O_EXCL|O_NOFOLLOW: never write through anything already there (links come last anyway).
    int fd = open(full.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, executable ? 0755 : 0644);
    if (fd < 0) return internal_error(sys_error("creating " + full));
    size_t done = 0;
    while (done < size) {
      ssize_t w = ::write(fd, data + done, size - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        Status s = internal_error(sys_error("writing " + full));
        close(fd);
        return s;
      }
      done += static_cast<size_t>(w);
    }
    if (close(fd) != 0) return internal_error(sys_error("writing " + full));
    return Status::ok();
  }

  // Links are made after every file and directory, so nothing is ever written through one;
  // each is checked by its names, then (as links may chain) by where it really resolves.
  Status write_links() {
    for (const auto& [path, target] : links_) {
      if (!link_stays_inside(path, target))
        return invalid(fmt::format("symlink \"{}\" points outside the repository (to \"{}\")", path, target));
      std::string full = root_ + "/" + path;
      if (symlink(target.c_str(), full.c_str()) != 0) return internal_error(sys_error("creating symlink " + full));
    }
    char root_real[PATH_MAX];
    if (!links_.empty() && realpath(root_.c_str(), root_real) == nullptr)
      return internal_error(sys_error("resolving " + root_));
    for (const auto& [path, target] : links_) {
      char real[PATH_MAX];
      if (realpath((root_ + "/" + path).c_str(), real) == nullptr) continue;  // dangling: leads nowhere
      std::string r = real, base = root_real;
      if (r != base && r.compare(0, base.size() + 1, base + "/") != 0)
        return invalid(fmt::format("symlink \"{}\" points outside the repository (through other links)", path));
    }
    return Status::ok();
  }

  git_repository* repo_;
  std::string root_;
  const GitLimits& limits_;
  std::uint64_t bytes_ = 0;
  std::size_t entries_ = 0;
  std::vector<std::pair<std::string, std::string>> links_;  // path, target
};

}  // namespace

bool link_stays_inside(const std::string& link_path, const std::string& target) {
  if (target.empty() || target[0] == '/' || target.find('\0') != std::string::npos) return false;
  std::vector<std::string> parts;
  auto walk = [&parts](const std::string& text, bool drop_last) {
    size_t start = 0;
    std::vector<std::string> names;
    while (start <= text.size()) {
      size_t slash = text.find('/', start);
      if (slash == std::string::npos) slash = text.size();
      names.push_back(text.substr(start, slash - start));
      start = slash + 1;
    }
    if (drop_last) names.pop_back();
    for (const auto& n : names) {
      if (n.empty() || n == ".") continue;
      if (n == "..") {
        if (parts.empty()) return false;
        parts.pop_back();
      } else {
        parts.push_back(n);
      }
    }
    return true;
  };
  return walk(link_path, true) && walk(target, false);
}

Status write_tree(git_repository* repo, const git_tree* tree, const std::string& dir, const GitLimits& limits) {
  return TreeWriter(repo, dir, limits).write(tree);
}

}  // namespace skiff::cd
