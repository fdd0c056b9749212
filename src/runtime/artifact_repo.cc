// The local artifact repository, and what every repository checks of a key.
#include "runtime/artifact_repo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "runtime/fd.h"
#include "util/strings.h"

namespace skiff::runtime {

namespace fs = std::filesystem;

Status check_artifact_key(const std::string& key) {
  if (key.empty()) return invalid("an artifact key must not be empty");
  if (key.size() > 1024) return invalid("artifact key \"" + key.substr(0, 60) + "...\" is longer than 1024 bytes");
  if (key.find('\0') != std::string::npos) return invalid("an artifact key must not hold a NUL byte");
  if (key[0] == '/') return invalid("artifact key \"" + key + "\" must not start with /");
  for (const std::string& part : split(key, '/')) {
    if (part.empty() || part == "." || part == "..")
      return invalid("artifact key \"" + key + "\" must not have empty, \".\" or \"..\" parts");
  }
  return Status::ok();
}

namespace {

// Objects are files under the root: `key` is its relative path. A key that is a prefix of
// another ("a" and "a/b") cannot both be objects, as on a file system; S3 allows it, Argo
// never writes it.
class LocalRepository final : public ArtifactRepository {
 public:
  explicit LocalRepository(std::string root) : root_(std::move(root)) {}
  std::string kind() const override { return "s3"; }
  std::string describe() const override { return "the local artifact repository (" + root_ + ")"; }

  Status put(const std::string& key, const std::string& file) override {
    if (Status s = check_artifact_key(key); !s) return s;
    std::string dest = root_ + "/" + key;
    std::error_code ec;
    fs::create_directories(fs::path(dest).parent_path(), ec);
    if (ec) return Status(Code::kFailed, "storing artifact " + key + ": " + ec.message());
    // Written beside, then renamed: a reader sees the old object or the new, never half.
    std::string tmp = dest + ".part." + std::to_string(::getpid()) + "." + std::to_string(counter_++);
    fs::copy_file(file, tmp, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::rename(tmp, dest, ec);
    if (ec) {
      fs::remove(tmp, ec);
      return Status(Code::kFailed, "storing artifact " + key + " in " + describe() + ": " + ec.message());
    }
    return Status::ok();
  }

  Status get(const std::string& key, const std::string& file, uint64_t max_bytes) override {
    auto info = stat(key);
    if (!info) return info.status();
    if (info->size > max_bytes)
      return Status(Code::kFailed, "artifact " + key + " is " + std::to_string(info->size) + " bytes, more than " +
                                       std::to_string(max_bytes));
    std::error_code ec;
    fs::copy_file(root_ + "/" + key, file, fs::copy_options::overwrite_existing, ec);
    if (ec) return Status(Code::kFailed, "reading artifact " + key + ": " + ec.message());
    return Status::ok();
  }

  Status read(const std::string& key, const std::function<bool(const char*, size_t)>& sink) override {
    if (Status s = check_artifact_key(key); !s) return s;
    Fd fd(::open((root_ + "/" + key).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return not_found_or(key, errno);
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_status("reading artifact " + key, errno);
      if (n == 0 || !sink(buf, static_cast<size_t>(n))) return Status::ok();
    }
  }

  Result<ObjectInfo> stat(const std::string& key) override {
    if (Status s = check_artifact_key(key); !s) return s;
    struct stat st;
    if (::lstat((root_ + "/" + key).c_str(), &st) != 0) return not_found_or(key, errno);
    if (!S_ISREG(st.st_mode)) return Status(Code::kNotFound, "no artifact " + key + " in " + describe());
    return ObjectInfo{key, static_cast<uint64_t>(st.st_size)};
  }

  Result<std::vector<ObjectInfo>> list(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    // The directory that holds every key with this prefix.
    std::string dir = prefix.substr(0, prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/'));
    if (!dir.empty()) {
      if (Status s = check_artifact_key(dir); !s) return s;
    }
    std::error_code ec;
    std::string base = dir.empty() ? root_ : root_ + "/" + dir;
    for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
      std::string key = fs::relative(it->path(), root_).string();
      if (key.find(".part.") != std::string::npos || key.compare(0, prefix.size(), prefix) != 0) continue;
      out.push_back({key, static_cast<uint64_t>(it->file_size(ec))});
    }
    std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
  }

  Status remove(const std::string& key) override {
    if (Status s = check_artifact_key(key); !s) return s;
    if (::unlink((root_ + "/" + key).c_str()) != 0 && errno != ENOENT) return errno_status("deleting artifact " + key, errno);
    // Empty directories left behind go too, up to the root.
    fs::path dir = fs::path(root_ + "/" + key).parent_path();
    while (dir.string().size() > root_.size() && ::rmdir(dir.c_str()) == 0) dir = dir.parent_path();
    return Status::ok();
  }

 private:
  Status not_found_or(const std::string& key, int err) const {
    if (err == ENOENT || err == ENOTDIR) return Status(Code::kNotFound, "no artifact " + key + " in " + describe());
    return errno_status("reading artifact " + key, err);
  }

  std::string root_;
  std::atomic<uint64_t> counter_{0};
};

}  // namespace

Result<std::unique_ptr<ArtifactRepository>> open_local_repository(const std::string& root) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Status(Code::kFailed, "creating the local artifact repository " + root + ": " + ec.message());
  return std::unique_ptr<ArtifactRepository>(std::make_unique<LocalRepository>(root));
}

}  // namespace skiff::runtime
