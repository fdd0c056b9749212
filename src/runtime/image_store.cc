#include "runtime/image_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "runtime/fd.h"
#include "util/strings.h"

namespace skiff::runtime {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

std::string hex_of(const std::string& digest) { return digest.substr(7); }

// Holds an exclusive flock on <root>/lock for its lifetime.
class StoreLock {
 public:
  explicit StoreLock(const std::string& root) : fd_(::open((root + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_.valid()) {
      while (::flock(fd_.get(), LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }

 private:
  Fd fd_;
};

std::vector<std::string> string_list(const Json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

Result<Json> read_json(const std::string& path, size_t cap) {
  auto text = read_file_capped(path, cap);
  if (!text) return text.status();
  try {
    return Json::parse(*text);
  } catch (const std::exception& e) {
    return Status(Code::kInternal, path + " is damaged (" + e.what() + "); remove it and pull again");
  }
}

std::string unique_tmp(const std::string& root, const std::string& what) {
  static std::atomic<uint64_t> counter{0};
  return root + "/tmp/" + what + "." + std::to_string(::getpid()) + "." + std::to_string(++counter);
}

// --- layer unpacking (runs in a forked child) ---------------------------------------------

// Strips "./" and leading '/', refuses "..": the path as relative to the layer root.
bool clean_entry_path(std::string* path) {
  std::string out;
  for (const std::string& part : split(*path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") return false;
    out += (out.empty() ? "" : "/") + part;
  }
  *path = out;
  return true;
}

void make_parents(const std::string& path) {
  for (size_t i = path.find('/'); i != std::string::npos; i = path.find('/', i + 1)) {
    ::mkdir(path.substr(0, i).c_str(), 0755);
  }
}

int unpack_child(int blob_fd, const std::string& dest, int err_fd) {
  auto fail = [&](const std::string& msg) {
    (void)!::write(err_fd, msg.data(), msg.size());
    return 1;
  };
  if (::chdir(dest.c_str()) != 0) return fail("cannot enter " + dest);
  if (::geteuid() == 0 && ::chroot(".") != 0) return fail("cannot chroot into " + dest);
  archive* in = archive_read_new();
  archive_read_support_filter_all(in);
  archive_read_support_format_tar(in);
  archive_read_support_format_gnutar(in);
  if (archive_read_open_fd(in, blob_fd, 1 << 16) != ARCHIVE_OK) {
    return fail(std::string("not a tar archive: ") + archive_error_string(in));
  }
  archive* out = archive_write_disk_new();
  archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER |
                                          ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                          ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |
                                          ARCHIVE_EXTRACT_UNLINK);
  archive_entry* entry = nullptr;
  // A small archive can expand without bound; stop well before it fills the disk.
  constexpr int64_t kMaxUnpacked = int64_t{64} << 30;
  constexpr int64_t kMaxEntries = 2'000'000;
  int64_t unpacked = 0, entries = 0;
  for (;;) {
    int rc = archive_read_next_header(in, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return fail(std::string("reading layer: ") + archive_error_string(in));
    unpacked += std::max<int64_t>(0, archive_entry_size(entry));
    if (++entries > kMaxEntries || unpacked > kMaxUnpacked) {
      return fail("layer unpacks to more than 64 GiB or 2,000,000 entries; refusing it");
    }
    std::string path = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    if (!clean_entry_path(&path)) return fail("layer entry \"" + path + "\" climbs out with \"..\"");
    if (path.empty()) continue;
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (base == ".wh..wh..opq") {  // the directory hides what lower layers had in it
      make_parents(dir + "/");
      ::mkdir(dir.c_str(), 0755);
      if (::setxattr(dir.c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
        return fail("marking " + dir + " opaque: " + std::strerror(errno));
      }
      continue;
    }
    if (starts_with(base, ".wh.")) {  // a deleted file: overlayfs' whiteout is a 0/0 char device
      std::string target = (dir == "." ? "" : dir + "/") + base.substr(4);
      make_parents(target);
      ::unlink(target.c_str());
      if (::mknod(target.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0) {
        return fail("whiteout " + target + ": " + std::strerror(errno));
      }
      continue;
    }
    archive_entry_set_pathname(entry, path.c_str());
    if (const char* link = archive_entry_hardlink(entry)) {
      std::string target = link;
      if (!clean_entry_path(&target)) return fail("hard link \"" + path + "\" points out with \"..\"");
      archive_entry_set_hardlink(entry, target.c_str());
    }
    rc = archive_write_header(out, entry);
    if (rc < ARCHIVE_WARN) return fail("writing " + path + ": " + archive_error_string(out));
    if (archive_entry_size(entry) > 0) {
      const void* buf;
      size_t size;
      la_int64_t offset;
      while ((rc = archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK) {
        if (archive_write_data_block(out, buf, size, offset) < ARCHIVE_WARN) {
          return fail("writing " + path + ": " + archive_error_string(out));
        }
      }
      if (rc != ARCHIVE_EOF) return fail("reading " + path + ": " + archive_error_string(in));
    }
    if (archive_write_finish_entry(out) < ARCHIVE_WARN) {
      return fail("writing " + path + ": " + archive_error_string(out));
    }
  }
  archive_write_close(out);
  archive_write_free(out);
  archive_read_free(in);
  return 0;
}

}  // namespace

Status unpack_layer(const std::string& blob_path, const std::string& dest) {
  Fd blob(::open(blob_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!blob.valid()) return errno_status("opening layer " + blob_path, errno);
  if (::mkdir(dest.c_str(), 0755) != 0) return errno_status("creating " + dest, errno);
  Fd err_read, err_write;
  if (Status s = make_pipe(&err_read, &err_write, false); !s) return s;
  pid_t pid = ::fork();
  if (pid < 0) return errno_status("fork", errno);
  if (pid == 0) _exit(unpack_child(blob.get(), dest, err_write.get()));
  err_write.reset();
  std::string message;
  char buf[512];
  ssize_t n;
  while ((n = ::read(err_read.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0 && message.size() < 4096) message.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::ok();
  return Status(Code::kFailed, "unpacking layer: " + (message.empty() ? "unpacker died" : message));
}

Result<PullPolicy> pull_policy_for(const std::string& policy, const ImageRef& ref) {
  if (policy == "Always") return PullPolicy::kAlways;
  if (policy == "IfNotPresent") return PullPolicy::kIfNotPresent;
  if (policy == "Never") return PullPolicy::kNever;
  if (!policy.empty()) {
    return invalid("imagePullPolicy \"" + policy + "\": expected Always, IfNotPresent or Never");
  }
  return ref.digest.empty() && ref.tag == "latest" ? PullPolicy::kAlways : PullPolicy::kIfNotPresent;
}

Result<std::unique_ptr<ImageStore>> ImageStore::open(const std::string& root) {
  std::error_code ec;
  std::string abs = fs::absolute(root, ec).lexically_normal().string();
  if (ec) return internal_error("image store " + root + ": " + ec.message());
  while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  for (const char* sub : {"/blobs/sha256", "/layers", "/tmp"}) {
    if (Status s = make_dirs(abs + sub); !s) return s.with_context("image store");
  }
  return std::unique_ptr<ImageStore>(new ImageStore(abs));
}

Result<Image> ImageStore::load(const std::string& name, const std::string& manifest_digest) {
  auto manifest = read_json(root_ + "/blobs/sha256/" + hex_of(manifest_digest), 4 << 20);
  if (!manifest) return manifest.status();
  Image image;
  image.name = name;
  image.manifest_digest = manifest_digest;
  const Json& m = *manifest;
  if (!m.contains("config") || !m["config"].is_object() || !m.contains("layers") || !m["layers"].is_array()) {
    return internal_error("stored manifest " + manifest_digest + " is not an image manifest");
  }
  std::string config_digest = m["config"].value("digest", "");
  if (!valid_digest(config_digest)) return internal_error("stored manifest " + manifest_digest + " has no config");
  image.size += m["config"].value("size", int64_t{0});
  for (const auto& layer : m["layers"]) {
    std::string digest = layer.is_object() ? layer.value("digest", "") : "";
    if (!valid_digest(digest)) return internal_error("stored manifest " + manifest_digest + " has a bad layer");
    std::string dir = root_ + "/layers/" + hex_of(digest);
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) return not_found("layer " + digest + " of " + name + " is not unpacked");
    image.layer_dirs.push_back(dir);
    image.size += layer.value("size", int64_t{0});
  }
  auto config = read_json(root_ + "/blobs/sha256/" + hex_of(config_digest), 8 << 20);
  if (!config) return not_found("config of " + name + " is missing");
  image.config = image_config_from(*config);
  return image;
}

ImageConfig image_config_from(const Json& blob) {
  ImageConfig out;
  if (!blob.is_object() || !blob.contains("config") || !blob["config"].is_object()) return out;
  const Json& c = blob["config"];
  out.entrypoint = string_list(c.value("Entrypoint", Json()));
  out.cmd = string_list(c.value("Cmd", Json()));
  out.env = string_list(c.value("Env", Json()));
  out.working_dir = c.value("WorkingDir", "");
  out.user = c.value("User", "");
  return out;
}

Result<ImageConfig> remote_image_config(const RegistryConfig& config, const std::string& image) {
  auto ref = parse_image_ref(image);
  if (!ref) return ref.status();
  RegistryClient client(config);
  auto manifest = client.manifest(*ref);
  if (!manifest) return manifest.status();
  auto blob = client.small_blob(*ref, manifest->config);
  if (!blob) return blob.status();
  auto json = Json::parse(*blob, nullptr, false);
  if (!json.is_object()) return invalid("image " + image + ": its config is not JSON");
  return image_config_from(json);
}

Status ImageStore::update_refs(const std::function<Status(Json&)>& change) {
  StoreLock lock(root_);
  Json refs = Json::object();
  std::string path = root_ + "/refs.json";
  if (auto existing = read_json(path, 64 << 20); existing && existing->is_object()) refs = std::move(*existing);
  if (Status s = change(refs); !s) return s;
  std::string tmp = unique_tmp(root_, "refs");
  if (Status s = write_file(tmp, refs.dump(1), 0644); !s) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return errno_status("replacing " + path, errno);
  return Status::ok();
}

Status ImageStore::record(const std::string& name, const std::string& manifest_digest) {
  return update_refs([&](Json& refs) {
    refs[name] = manifest_digest;
    return Status::ok();
  });
}

Result<Image> ImageStore::find(const ImageRef& ref) {
  std::string name = ref.canonical();
  std::string digest = ref.digest;
  if (digest.empty()) {
    auto refs = read_json(root_ + "/refs.json", 64 << 20);
    if (refs && refs->is_object() && refs->contains(name) && (*refs)[name].is_string()) digest = (*refs)[name];
  }
  if (digest.empty()) return not_found("image " + name + " is not in the local store");
  auto image = load(name, digest);
  if (!image && image.status().code() == Code::kNotFound) {
    return not_found("image " + name + " is not in the local store");
  }
  return image;
}

Result<Image> ImageStore::pull(RegistryClient& client, const ImageRef& ref, const PullProgress& progress) {
  auto manifest = client.manifest(ref);
  if (!manifest) return manifest.status();
  std::string blobs = root_ + "/blobs/sha256/";
  struct stat st;
  if (::stat((blobs + hex_of(manifest->config.digest)).c_str(), &st) != 0) {
    auto config = client.small_blob(ref, manifest->config);
    if (!config) return config.status();
    std::string tmp = unique_tmp(root_, "config");
    if (Status s = write_file(tmp, *config, 0644); !s) return s;
    ::rename(tmp.c_str(), (blobs + hex_of(manifest->config.digest)).c_str());
  }
  for (const Descriptor& layer : manifest->layers) {
    std::string dir = root_ + "/layers/" + hex_of(layer.digest);
    if (::stat(dir.c_str(), &st) == 0) {
      if (progress) progress(layer.digest, layer.size, layer.size);
      continue;
    }
    std::string blob = unique_tmp(root_, "blob");
    Status got = client.blob(ref, layer, blob, progress);
    if (!got) {
      ::unlink(blob.c_str());
      return got;
    }
    std::string tmp_dir = unique_tmp(root_, "layer");
    Status unpacked = unpack_layer(blob, tmp_dir);
    ::unlink(blob.c_str());
    if (!unpacked) {
      std::error_code ec;
      fs::remove_all(tmp_dir, ec);
      return unpacked.with_context(ref.canonical() + " layer " + layer.digest);
    }
    if (::rename(tmp_dir.c_str(), dir.c_str()) != 0) {  // another pull won the race: keep its copy
      std::error_code ec;
      fs::remove_all(tmp_dir, ec);
    }
  }
  std::string tmp = unique_tmp(root_, "manifest");
  if (Status s = write_file(tmp, manifest->body, 0644); !s) return s;
  ::rename(tmp.c_str(), (blobs + hex_of(manifest->digest)).c_str());
  if (Status s = record(ref.canonical(), manifest->digest); !s) return s;
  return load(ref.canonical(), manifest->digest);
}

Result<Image> ImageStore::ensure(RegistryClient& client, const ImageRef& ref, PullPolicy policy,
                                 const PullProgress& progress) {
  if (policy != PullPolicy::kAlways) {
    auto local = find(ref);
    if (local || local.status().code() != Code::kNotFound) return local;
    if (policy == PullPolicy::kNever) {
      return not_found("image " + ref.canonical() + " is not in the local store and imagePullPolicy is Never; run "
                       "`skiff image pull " + ref.canonical() + "` first");
    }
  }
  return pull(client, ref, progress);
}

std::vector<Image> ImageStore::list() {
  std::vector<Image> out;
  auto refs = read_json(root_ + "/refs.json", 64 << 20);
  if (!refs || !refs->is_object()) return out;
  for (auto it = refs->begin(); it != refs->end(); ++it) {
    if (!it.value().is_string()) continue;
    auto image = load(it.key(), it.value().get<std::string>());
    if (image) out.push_back(std::move(*image));
  }
  return out;
}

Status ImageStore::remove(const ImageRef& ref) {
  std::string name = ref.canonical();
  return update_refs([&](Json& refs) {
    if (!refs.contains(name)) return not_found("image " + name + " is not in the local store");
    refs.erase(name);
    return Status::ok();
  });
}

Result<int> ImageStore::prune() {
  StoreLock lock(root_);
  std::set<std::string> keep;  // hex digests of blobs and layers still needed
  auto refs = read_json(root_ + "/refs.json", 64 << 20);
  if (refs && refs->is_object()) {
    for (auto it = refs->begin(); it != refs->end(); ++it) {
      if (!it.value().is_string() || !valid_digest(it.value())) continue;
      std::string digest = it.value();
      keep.insert(hex_of(digest));
      auto manifest = read_json(root_ + "/blobs/sha256/" + hex_of(digest), 4 << 20);
      if (!manifest || !manifest->is_object()) continue;
      if (manifest->contains("config") && (*manifest)["config"].is_object()) {
        std::string c = (*manifest)["config"].value("digest", "");
        if (valid_digest(c)) keep.insert(hex_of(c));
      }
      if (manifest->contains("layers") && (*manifest)["layers"].is_array()) {
        for (const auto& l : (*manifest)["layers"]) {
          std::string d = l.is_object() ? l.value("digest", "") : "";
          if (valid_digest(d)) keep.insert(hex_of(d));
        }
      }
    }
  }
  int removed = 0;
  for (const char* sub : {"/blobs/sha256", "/layers"}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root_ + sub, ec)) {
      if (keep.count(entry.path().filename().string())) continue;
      fs::remove_all(entry.path(), ec);
      ++removed;
    }
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_ + "/tmp", ec)) fs::remove_all(entry.path(), ec);
  return removed;
}

}  // namespace skiff::runtime
