#include "runtime/artifact_files.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "runtime/fd.h"

namespace skiff::runtime {

namespace {

namespace fs = std::filesystem;

struct Budget {
  const ArtifactLimits& limits;
  uint64_t bytes = 0;
  uint64_t entries = 0;
  Status take(uint64_t size, const std::string& what) {
    bytes += size;
    if (++entries > limits.max_entries)
      return invalid(what + ": more than " + std::to_string(limits.max_entries) + " files");
    if (bytes > limits.max_bytes)
      return invalid(what + ": more than " + std::to_string(limits.max_bytes >> 20) + " MiB");
    return Status::ok();
  }
};

Status copy_fd_to(int in, const std::string& dest, mode_t mode) {
  Fd out(::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0777));
  if (!out.valid()) return errno_status("creating " + dest, errno);
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status("reading a step's file for " + dest, errno);
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(out.get(), buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return errno_status("writing " + dest, errno);
      off += w;
    }
  }
  return Status::ok();
}

// Opens `name` in `dir_fd` without following a link; "" opens what `dir_fd` (O_PATH) is.
int open_at(int dir_fd, const char* name, int flags) {
  if (*name) return ::openat(dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC);
  return ::open(("/proc/self/fd/" + std::to_string(dir_fd)).c_str(), flags | O_CLOEXEC);
}

// Copies `name` in `dir_fd` ("" = what dir_fd is) to `dest`; children are opened relative
// to their directory without following links.
Status copy_entry(int dir_fd, const char* name, const std::string& dest, const std::string& shown, int depth,
                  Budget& budget) {
  struct stat st;
  if (::fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH)) != 0)
    return errno_status("reading " + shown, errno);
  if (depth > budget.limits.max_depth) return invalid(shown + ": nested deeper than " + std::to_string(budget.limits.max_depth));
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = ::readlinkat(dir_fd, name, target, sizeof target - 1);
    if (n < 0) return errno_status("reading " + shown, errno);
    target[n] = 0;
    if (Status s = budget.take(0, shown); !s) return s;
    if (::symlink(target, dest.c_str()) != 0) return errno_status("creating " + dest, errno);
    return Status::ok();
  }
  if (S_ISREG(st.st_mode)) {
    if (Status s = budget.take(static_cast<uint64_t>(st.st_size), shown); !s) return s;
    Fd in(open_at(dir_fd, name, O_RDONLY | O_NONBLOCK));
    if (!in.valid()) return errno_status("reading " + shown, errno);
    return copy_fd_to(in.get(), dest, st.st_mode);
  }
  if (!S_ISDIR(st.st_mode)) return Status::ok();  // devices, fifos, sockets: not artifacts
  if (Status s = budget.take(0, shown); !s) return s;
  Fd dir(open_at(dir_fd, name, O_RDONLY | O_DIRECTORY));
  if (!dir.valid()) return errno_status("reading " + shown, errno);
  if (::mkdir(dest.c_str(), (st.st_mode & 0777) | 0700) != 0) return errno_status("creating " + dest, errno);
  int listing = ::dup(dir.get());
  if (listing < 0) return errno_status("reading " + shown, errno);
  std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(listing), ::closedir);
  if (!d) {
    ::close(listing);
    return errno_status("reading " + shown, errno);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d.get())) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    names.emplace_back(e->d_name);
  }
  for (const auto& child : names) {
    if (Status s = copy_entry(dir.get(), child.c_str(), dest + "/" + child, shown + "/" + child, depth + 1, budget); !s)
      return s;
  }
  return Status::ok();
}

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};

Status archive_error(archive* a, const std::string& what) {
  const char* e = archive_error_string(a);
  return Status(Code::kFailed, what + ": " + (e ? e : "libarchive failed"));
}

// Adds `path` (of skiff's own copy) as `name` to the archive, and a directory's contents.
Status add_to_archive(archive* a, const std::string& path, const std::string& name, int depth) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return errno_status("reading " + path, errno);
  if (depth > 256) return invalid(path + ": nested too deep");
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_perm(e.get(), st.st_mode & 07777);
  archive_entry_set_mtime(e.get(), st.st_mtime, 0);
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
    if (n < 0) return errno_status("reading " + path, errno);
    target[n] = 0;
    archive_entry_set_filetype(e.get(), AE_IFLNK);
    archive_entry_set_symlink(e.get(), target);
    if (archive_write_header(a, e.get()) != ARCHIVE_OK) return archive_error(a, "packing " + name);
    return Status::ok();
  }
  if (S_ISDIR(st.st_mode)) {
    archive_entry_set_filetype(e.get(), AE_IFDIR);
    if (archive_write_header(a, e.get()) != ARCHIVE_OK) return archive_error(a, "packing " + name);
    std::vector<std::string> names;
    for (const auto& child : fs::directory_iterator(path)) names.push_back(child.path().filename().string());
    std::sort(names.begin(), names.end());
    for (const auto& child : names)
      if (Status s = add_to_archive(a, path + "/" + child, name + "/" + child, depth + 1); !s) return s;
    return Status::ok();
  }
  if (!S_ISREG(st.st_mode)) return Status::ok();
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_size(e.get(), st.st_size);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK) return archive_error(a, "packing " + name);
  Fd in(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid()) return errno_status("reading " + path, errno);
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status("reading " + path, errno);
    if (n == 0) break;
    if (archive_write_data(a, buf, static_cast<size_t>(n)) < 0) return archive_error(a, "packing " + name);
  }
  return Status::ok();
}

Status set_mode(const std::string& path, int mode) {
  std::error_code ec;
  if (fs::is_symlink(path, ec)) return Status::ok();
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) return errno_status("setting the mode of " + path, errno);
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::recursive_directory_iterator(path, ec)) {
      if (e.is_symlink(ec)) continue;
      if (::chmod(e.path().c_str(), static_cast<mode_t>(mode)) != 0) return errno_status("setting the mode of " + e.path().string(), errno);
    }
  }
  return Status::ok();
}

bool is_gzip(const std::string& file) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  unsigned char magic[2] = {0, 0};
  return fd.valid() && ::read(fd.get(), magic, 2) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

Status move(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) return Status(Code::kFailed, "moving " + from + " to " + to + ": " + ec.message());
  return Status::ok();
}

}  // namespace

Status copy_out_of_root(const std::string& root, const std::string& path, const std::string& dest,
                        const ArtifactLimits& limits) {
  Fd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return errno_status("opening " + root, errno);
  std::string rel = path;
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  if (rel.empty()) rel = ".";
  // The parent resolved inside the root, then the last part itself without following it
  // (a link there is saved as a link, as tar would).
  std::string parent = ".", base = rel;
  if (auto slash = rel.rfind('/'); slash != std::string::npos) {
    parent = rel.substr(0, slash);
    base = rel.substr(slash + 1);
  }
  open_how how = {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  Fd parent_fd(static_cast<int>(::syscall(SYS_openat2, dir.get(), parent.c_str(), &how, sizeof how)));
  if (!parent_fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return Status(Code::kNotFound, path + " does not exist");
    return errno_status("reading " + path, errno);
  }
  struct stat st;
  if (::fstatat(parent_fd.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Status(Code::kNotFound, path + " does not exist");
    return errno_status("reading " + path, errno);
  }
  if (S_ISLNK(st.st_mode)) {  // follow it, inside the root: what the step would read there
    how.flags = O_PATH | O_CLOEXEC;
    Fd target(static_cast<int>(::syscall(SYS_openat2, dir.get(), rel.c_str(), &how, sizeof how)));
    if (!target.valid()) return Status(Code::kNotFound, path + " is a link to nothing");
    Budget budget{limits};
    return copy_entry(target.get(), "", dest, path, 0, budget);
  }
  Budget budget{limits};
  return copy_entry(parent_fd.get(), base.c_str(), dest, path, 0, budget);
}

Status pack_artifact(const std::string& src, const std::string& entry_name, spec::ArchiveKind kind, int level,
                     const std::string& dest) {
  struct stat st;
  if (::lstat(src.c_str(), &st) != 0) return errno_status("reading " + src, errno);
  if (kind == spec::ArchiveKind::kNone) {
    if (S_ISDIR(st.st_mode)) return invalid("a directory is not stored as one file with archive none");
    std::error_code ec;
    fs::copy_file(src, dest, fs::copy_options::overwrite_existing, ec);
    if (ec) return Status(Code::kFailed, "copying " + src + ": " + ec.message());
    return Status::ok();
  }
  std::unique_ptr<archive, ArchiveDeleter> a(archive_write_new());
  if (kind == spec::ArchiveKind::kZip) {
    archive_write_set_format_zip(a.get());
  } else {
    archive_write_set_format_pax_restricted(a.get());
    archive_write_add_filter_gzip(a.get());
    if (level >= 0) {
      archive_write_set_filter_option(a.get(), "gzip", "compression-level", std::to_string(level).c_str());
    }
  }
  if (archive_write_open_filename(a.get(), dest.c_str()) != ARCHIVE_OK) return archive_error(a.get(), "creating " + dest);
  if (Status s = add_to_archive(a.get(), src, entry_name, 0); !s) return s;
  if (archive_write_close(a.get()) != ARCHIVE_OK) return archive_error(a.get(), "writing " + dest);
  return Status::ok();
}

Status unpack_artifact(const std::string& file, const std::string& dest, int mode, const ArtifactLimits& limits) {
  std::error_code ec;
  if (!is_gzip(file)) {
    if (Status s = move(file, dest); !s) return s;
    return mode >= 0 ? set_mode(dest, mode) : Status::ok();
  }
  std::string tmp = dest + ".unpack";
  fs::remove_all(tmp, ec);
  if (!fs::create_directories(tmp, ec) || ec) return Status(Code::kFailed, "creating " + tmp + ": " + ec.message());
  std::unique_ptr<archive, int (*)(archive*)> in(archive_read_new(), archive_read_free);
  archive_read_support_filter_gzip(in.get());
  archive_read_support_format_tar(in.get());
  std::unique_ptr<archive, int (*)(archive*)> out(archive_write_disk_new(), archive_write_free);
  // Entry names are checked here (relative, no ".."), then made absolute under tmp.
  archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                ARCHIVE_EXTRACT_NO_OVERWRITE);
  if (archive_read_open_filename(in.get(), file.c_str(), 1 << 16) != ARCHIVE_OK)
    return Status(Code::kFailed, "reading the artifact: " + std::string(archive_error_string(in.get())));
  Budget budget{limits};
  archive_entry* e = nullptr;
  for (;;) {
    int r = archive_read_next_header(in.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) {
      const char* why = archive_error_string(in.get());
      return Status(Code::kFailed, "the artifact is not a readable tar.gz: " + std::string(why ? why : "unknown error"));
    }
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    auto type = archive_entry_filetype(e);
    if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) continue;  // no devices, fifos
    if (archive_entry_hardlink(e)) continue;  // nor hard links (they would name paths outside)
    while (name.rfind("./", 0) == 0) name.erase(0, 2);
    if (name.empty() || name == ".") continue;
    bool escapes = name[0] == '/';
    for (const auto& part : fs::path(name)) escapes = escapes || part == "..";
    if (escapes) return invalid("the artifact holds " + name + ", a path outside it");
    if (Status s = budget.take(static_cast<uint64_t>(std::max<int64_t>(0, archive_entry_size(e))), "the artifact"); !s)
      return s;
    archive_entry_set_pathname(e, (tmp + "/" + name).c_str());
    if (archive_write_header(out.get(), e) != ARCHIVE_OK)
      return Status(Code::kFailed, "unpacking " + name + ": " + std::string(archive_error_string(out.get())));
    const void* block;
    size_t size;
    la_int64_t offset;
    while ((r = archive_read_data_block(in.get(), &block, &size, &offset)) == ARCHIVE_OK) {
      if (archive_write_data_block(out.get(), block, size, offset) != ARCHIVE_OK)
        return Status(Code::kFailed, "unpacking " + name + ": " + std::string(archive_error_string(out.get())));
    }
    if (r != ARCHIVE_EOF) return Status(Code::kFailed, "unpacking " + name + ": " + std::string(archive_error_string(in.get())));
  }
  archive_write_close(out.get());
  std::vector<fs::path> top;
  for (const auto& entry : fs::directory_iterator(tmp, ec)) top.push_back(entry.path());
  Status s = top.size() == 1 ? move(top[0].string(), dest) : move(tmp, dest);
  fs::remove_all(tmp, ec);
  if (!s) return s;
  return mode >= 0 ? set_mode(dest, mode) : Status::ok();
}

Result<std::vector<std::string>> list_files(const std::string& dir, const ArtifactLimits& limits) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) out.push_back(fs::relative(it->path(), dir).string());
    if (out.size() > limits.max_entries) return invalid(dir + ": more than " + std::to_string(limits.max_entries) + " files");
  }
  if (ec) return Status(Code::kFailed, "listing " + dir + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace skiff::runtime
