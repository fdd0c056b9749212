#include "runtime/volumes.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "runtime/fd.h"
#include "runtime/secret_store.h"
#include "runtime/step_files.h"
#include "util/strings.h"

namespace skiff::runtime {
namespace {

using Json = nlohmann::json;

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 253 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
  });
}

// A volume's host directory or file, plus whether it is a file.
struct Source {
  std::string path;
  bool is_file = false;
  bool read_only = false;  // whatever the mount says (secrets, config maps)
};

// `path` with symbolic links resolved as far as it exists (the rest appended as is).
std::string resolve_existing(const std::string& path) {
  std::string head = path, tail;
  char real[PATH_MAX];
  for (;;) {
    if (::realpath(head.c_str(), real)) {
      std::string out = real;
      if (tail.empty()) return out;
      return out == "/" ? tail : out + tail;
    }
    size_t slash = head.find_last_of('/');
    if (slash == std::string::npos || head == "/") return path;
    tail = head.substr(slash) + tail;
    head = slash == 0 ? "/" : head.substr(0, slash);
  }
}

// Why a step may never mount the host's `path` and what to do instead, or "" (see volumes.h).
std::string forbidden_host_path(const std::string& path, const VolumeContext& ctx) {
  std::string real = resolve_existing(path);
  if (is_under(real, "/proc")) {
    return "is under /proc, which shows skiff's own processes and their files; mount a directory outside /proc";
  }
  for (const std::string& own : ctx.server_paths) {
    if (is_under(real, own) || is_under(own, real)) {
      return "overlaps skiff's own data in " + own + ", which steps may never see; mount a directory outside it";
    }
  }
  struct stat st;
  if (::stat(real.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) {
    return "is a block device, from which skiff's own data could be read; mount a directory instead";
  }
  return "";
}

Result<Source> host_path_source(const std::string& name, const Json& spec, const VolumeContext& ctx) {
  if (!ctx.allow_host_path) {
    return invalid("volume " + name + ": hostPath volumes are not allowed on this server: they would show "
                   "workflows of every namespace the host's files; its operator can allow them with "
                   "`skiff server --allow-host-path`");
  }
  if (!spec.is_object() || !spec.contains("path") || !spec["path"].is_string()) {
    return invalid("volume " + name + ": hostPath needs a string `path`");
  }
  auto path = clean_absolute_path(spec["path"].get<std::string>());
  if (!path) return path.status().with_context("volume " + name + ": hostPath");
  if (std::string why = forbidden_host_path(*path, ctx); !why.empty()) {
    return invalid("volume " + name + ": hostPath " + spec["path"].get<std::string>() + " " + why);
  }
  std::string type = spec.contains("type") && spec["type"].is_string() ? spec["type"].get<std::string>() : "";
  struct stat st;
  bool exists = ::stat(path->c_str(), &st) == 0;
  if (type == "FileOrCreate" || type == "File") {
    if (!exists) {
      if (type == "File") return not_found("volume " + name + ": hostPath " + *path + " does not exist");
      Fd fd(::open(path->c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
      if (!fd.valid()) return errno_status("volume " + name + ": creating " + *path, errno);
    }
    return Source{*path, true};
  }
  if (exists) return Source{*path, !S_ISDIR(st.st_mode)};
  if (type == "Directory" || type == "Socket" || type == "CharDevice" || type == "BlockDevice") {
    return not_found("volume " + name + ": hostPath " + *path + " does not exist (type " + type + ")");
  }
  if (Status s = make_dirs(*path); !s) return s.with_context("volume " + name);
  return Source{*path, false};
}

// Writes a secret's or config map's keys (or the chosen items) as files in a new directory.
Result<Source> config_source(const std::string& name, ConfigKind kind, const Json& spec, const VolumeContext& ctx) {
  std::string what = std::string("volume ") + name + ": " + (kind == ConfigKind::kSecret ? "secret" : "configMap");
  if (!spec.is_object()) return invalid(what + " must be an object");
  const char* name_key = kind == ConfigKind::kSecret ? "secretName" : "name";
  std::string object_name = spec.value(name_key, "");
  bool optional = spec.value("optional", false);
  int default_mode = spec.value("defaultMode", 0644);
  if (default_mode < 0 || default_mode > 0777) return invalid(what + ": defaultMode must be between 0 and 0777 (511)");
  std::string dir = ctx.step_dir + "/volumes/" + name;
  if (Status s = make_dirs(dir); !s) return s.with_context(what);
  auto object = read_config_object(ctx.data_dir, kind, ctx.namespace_, object_name);
  if (!object) {
    if (optional && object.status().code() == Code::kNotFound) return Source{dir, false, true};
    return object.status().with_context(what);
  }
  std::vector<std::tuple<std::string, std::string, int>> files;  // key, relative path, mode
  if (spec.contains("items") && spec["items"].is_array() && !spec["items"].empty()) {
    for (const auto& item : spec["items"]) {
      std::string key = item.value("key", "");
      std::string path = item.value("path", key);
      auto clean = clean_absolute_path("/" + path);
      if (!clean || path.empty() || path[0] == '/') {
        return invalid(what + ": items path \"" + path + "\" must be a relative path without \"..\"");
      }
      if (!object->data.count(key)) {
        if (optional) continue;
        return not_found(what + " " + object_name + " has no key \"" + key + "\"");
      }
      files.emplace_back(key, clean->substr(1), item.value("mode", default_mode));
    }
  } else {
    for (const auto& [key, value] : object->data) files.emplace_back(key, key, default_mode);
  }
  for (const auto& [key, path, mode] : files) {
    std::string file = dir + "/" + path;
    if (size_t slash = file.find_last_of('/'); slash > dir.size()) {
      if (Status s = make_dirs(file.substr(0, slash)); !s) return s.with_context(what);
    }
    if (Status s = write_file(file, object->data.at(key), mode & 0777); !s) return s.with_context(what);
    ::chmod(file.c_str(), static_cast<mode_t>(mode & 0777));
  }
  return Source{dir, false, true};
}

Result<Source> volume_source(const spec::Volume& volume, const VolumeContext& ctx) {
  const std::string& step_dir = ctx.step_dir;
  Json doc;
  try {
    doc = Json::parse(volume.source_json.empty() ? "{}" : volume.source_json);
  } catch (const std::exception& e) {
    return invalid("volume " + volume.name + ": bad source: " + e.what());
  }
  if (!doc.is_object()) return invalid("volume " + volume.name + ": source must be an object");
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& kind = it.key();
    if (kind == "name") continue;
    if (kind == "emptyDir") {
      std::string dir = step_dir + "/volumes/" + volume.name;
      if (Status s = make_dirs(dir); !s) return s.with_context("volume " + volume.name);
      ::chmod(dir.c_str(), 0777);  // like Kubernetes: any user in the step may write
      return Source{dir, false};
    }
    if (kind == "hostPath") return host_path_source(volume.name, it.value(), ctx);
    if (kind == "secret") return config_source(volume.name, ConfigKind::kSecret, it.value(), ctx);
    if (kind == "configMap") return config_source(volume.name, ConfigKind::kConfigMap, it.value(), ctx);
    if (kind == "persistentVolumeClaim") {
      std::string claim = it.value().is_object() ? it.value().value("claimName", "") : "";
      if (Status s = check_object_name("persistentVolumeClaim", claim); !s) return s.with_context("volume " + volume.name);
      std::string dir = ctx.data_dir + "/volumes/" + ctx.namespace_ + "/" + claim;
      if (Status s = make_dirs(dir); !s) return s.with_context("volume " + volume.name);
      ::chmod(dir.c_str(), 0777);
      return Source{dir, false};
    }
    return invalid("volume " + volume.name + ": " + kind +
                   " volumes are not supported here (emptyDir, hostPath, secret, configMap, persistentVolumeClaim are)");
  }
  return invalid("volume " + volume.name + ": no volume source (emptyDir, hostPath, ...)");
}

Result<Source> resolve_source(const spec::VolumeMount& mount, const StepRequest& request, const VolumeContext& ctx) {
  const std::string& run_dir = ctx.run_dir;
  for (const auto& claim : request.claims) {
    if (claim.name != mount.name) continue;
    std::string dir = claim_dir(run_dir, claim.name);
    if (Status s = make_dirs(dir); !s) return s.with_context("volumeClaimTemplate " + claim.name);
    ::chmod(dir.c_str(), 0777);
    return Source{dir, false};
  }
  for (const auto& volume : request.volumes) {
    if (volume.name == mount.name) return volume_source(volume, ctx);
  }
  return not_found("volumeMount " + mount.name + ": no volume or volumeClaimTemplate named " + mount.name +
                   "; declare it under spec.volumes, the template's volumes or volumeClaimTemplates");
}

// The Shadow of `dir` in `shadows`, added (its entries listed) when it is not there yet.
Result<Shadow*> shadow_of(const std::string& dir, std::vector<Shadow>& shadows) {
  for (auto& s : shadows)
    if (s.dir == dir) return &s;
  Shadow s;
  s.dir = dir;
  s.build_at = dir == "/" ? "/tmp" : dir;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errno_status("listing " + dir + " for a mount point the host lacks", errno);
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    Shadow::Entry entry;
    entry.path = (dir == "/" ? "" : dir) + "/" + name;
    entry.target = (s.build_at == "/" ? "" : s.build_at) + "/" + name;
    struct stat st;
    if (::lstat(entry.path.c_str(), &st) != 0) continue;  // gone meanwhile
    if (S_ISDIR(st.st_mode)) {
      entry.type = 'd';
    } else if (S_ISLNK(st.st_mode)) {
      entry.type = 'l';
      char buf[PATH_MAX];
      ssize_t n = ::readlink(entry.path.c_str(), buf, sizeof buf);
      if (n < 0) continue;
      entry.link.assign(buf, static_cast<size_t>(n));
    }
    s.entries.push_back(std::move(entry));
  }
  ::closedir(d);
  shadows.push_back(std::move(s));
  // Shallowest first: a deeper directory is covered inside what a shallower one shows.
  std::stable_sort(shadows.begin(), shadows.end(), [](const Shadow& a, const Shadow& b) {
    auto depth = [](const std::string& p) { return p == "/" ? 0 : std::count(p.begin(), p.end(), '/'); };
    return depth(a.dir) < depth(b.dir);
  });
  for (auto& kept : shadows)
    if (kept.dir == dir) return &kept;
  return internal_error("shadow of " + dir + " lost");
}

// Makes the mount point for `mount` exist (a directory, or an empty file for file mounts):
// in the step's own tmp or volume, or, on the host's own tree, in a Shadow.
Status make_mount_point(const BindMount& mount, const std::vector<BindMount>& earlier, const std::string& tmp_dir,
                        std::vector<Shadow>& shadows) {
  std::string where = host_path(earlier, tmp_dir, mount.target);
  struct stat st;
  if (::stat(where.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode) == !mount.is_file) return Status::ok();
    return invalid("mountPath " + mount.target + ": " + (mount.is_file ? "is a directory but the volume is a file"
                                                                        : "is a file but the volume is a directory"));
  }
  if (where == mount.target) {
    std::string dir = mount.target;  // the deepest directory the host has
    do {
      size_t slash = dir.find_last_of('/');
      dir = slash == 0 ? "/" : dir.substr(0, slash);
    } while (dir != "/" && ::stat(dir.c_str(), &st) != 0);
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return invalid("mountPath " + mount.target + ": " + dir + " is not a directory");
    auto shadow = shadow_of(dir, shadows);
    if (!shadow) return shadow.status();
    Shadow& s = **shadow;
    std::string rest = mount.target.substr(dir == "/" ? 0 : dir.size());  // "/out/x"
    std::string at = s.build_at == "/" ? "" : s.build_at;
    for (size_t i = 1; i <= rest.size(); ++i) {
      if (i != rest.size() && rest[i] != '/') continue;
      std::string path = at + rest.substr(0, i);
      if (i == rest.size() && mount.is_file) s.new_files.push_back(path);
      else if (std::find(s.new_dirs.begin(), s.new_dirs.end(), path) == s.new_dirs.end()) s.new_dirs.push_back(path);
    }
    return Status::ok();
  }
  if (!mount.is_file) return make_dirs(where);
  size_t slash = where.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    if (Status s = make_dirs(where.substr(0, slash)); !s) return s;
  }
  Fd fd(::open(where.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_status("creating mount point " + where, errno);
  return Status::ok();
}

}  // namespace

bool is_under(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && starts_with(path, dir) && path[dir.size()] == '/');
}

Result<std::string> clean_absolute_path(const std::string& path) {
  if (path.empty() || path[0] != '/') return invalid("path \"" + path + "\" must be absolute");
  if (path.size() > 4096) return invalid("path is longer than 4096 characters");
  std::string out;
  for (const std::string& part : split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") return invalid("path \"" + path + "\" must not contain \"..\"");
    if (part.find('\0') != std::string::npos) return invalid("path contains a NUL character");
    out += "/" + part;
  }
  return out.empty() ? std::string("/") : out;
}

Result<std::vector<BindMount>> resolve_binds(const StepRequest& request, const VolumeContext& ctx) {
  std::vector<BindMount> mounts;
  if (!request.tmpl.container) return mounts;
  for (const auto& vm : request.tmpl.container->volume_mounts) {
    if (!valid_name(vm.name)) return invalid("volumeMount \"" + vm.name + "\": not a valid volume name");
    auto target = clean_absolute_path(vm.mount_path);
    if (!target) return target.status().with_context("volumeMount " + vm.name + ": mountPath");
    if (*target == "/" || is_under(*target, "/proc") || is_under(*target, "/sys") || is_under(*target, "/dev")) {
      return invalid("volumeMount " + vm.name + ": cannot mount over " + *target);
    }
    auto source = resolve_source(vm, request, ctx);
    if (!source) return source.status();
    BindMount mount{source->path, *target, vm.read_only || source->read_only, source->is_file};
    if (!vm.sub_path.empty()) {
      auto sub = clean_absolute_path("/" + vm.sub_path);
      if (!sub || vm.sub_path[0] == '/') {
        return invalid("volumeMount " + vm.name + ": subPath \"" + vm.sub_path +
                       "\" must be a relative path without \"..\"");
      }
      if (source->is_file) return invalid("volumeMount " + vm.name + ": subPath needs a directory volume");
      mount.source += *sub;
      struct stat st;
      if (::stat(mount.source.c_str(), &st) == 0) {
        mount.is_file = !S_ISDIR(st.st_mode);
      } else if (Status s = make_dirs(mount.source); !s) {
        return s.with_context("volumeMount " + vm.name + ": subPath");
      }
      // An earlier step may have left a symbolic link there: a subPath must stay inside
      // its volume, or it would mount whatever the link names on the host.
      char base[PATH_MAX], real[PATH_MAX];
      if (!::realpath(source->path.c_str(), base) || !::realpath(mount.source.c_str(), real) ||
          !is_under(real, base)) {
        return invalid("volumeMount " + vm.name + ": subPath \"" + vm.sub_path +
                       "\" leads outside the volume (through a symbolic link)");
      }
      mount.source = real;
    }
    mounts.push_back(std::move(mount));
  }
  for (const auto& m : request.extra_mounts) {
    auto target = clean_absolute_path(m.target);
    if (!target) return target.status().with_context("input artifact path");
    if (*target == "/" || is_under(*target, "/proc") || is_under(*target, "/sys") || is_under(*target, "/dev"))
      return invalid("input artifact path " + *target + ": cannot be put there");
    struct stat st;
    if (::lstat(m.source.c_str(), &st) != 0) return errno_status("input artifact at " + *target, errno);
    if (S_ISLNK(st.st_mode)) return invalid("input artifact at " + *target + " is a symbolic link, which is not given to a step");
    mounts.push_back({m.source, *target, false, !S_ISDIR(st.st_mode)});
  }
  // Parents before children; equal paths keep their order (the later one wins, as in runc).
  std::stable_sort(mounts.begin(), mounts.end(), [](const BindMount& a, const BindMount& b) {
    return std::count(a.target.begin(), a.target.end(), '/') < std::count(b.target.begin(), b.target.end(), '/');
  });
  return mounts;
}

Result<std::vector<BindMount>> resolve_mounts(const StepRequest& request, const VolumeContext& ctx,
                                              const std::string& tmp_dir, std::vector<Shadow>* shadows) {
  auto binds = resolve_binds(request, ctx);
  if (!binds) return binds;
  std::vector<BindMount>& mounts = *binds;
  for (size_t i = 0; i < mounts.size(); ++i) {
    std::vector<BindMount> earlier(mounts.begin(), mounts.begin() + static_cast<long>(i));
    const std::string& target = mounts[i].target;
    if (host_path(earlier, tmp_dir, target) == target) {  // on the host's own tree, where skiff's data is hidden
      std::string real = resolve_existing(target);
      for (const std::string& dir : ctx.server_paths) {
        if (is_under(real, dir)) {
          return invalid("mountPath " + target + " is inside skiff's own data in " + dir +
                         ", which steps never see; mount the volume elsewhere");
        }
      }
    }
    if (Status s = make_mount_point(mounts[i], earlier, tmp_dir, *shadows); !s) {
      return s.with_context("volumeMount at " + mounts[i].target);
    }
  }
  return mounts;
}

std::vector<std::string> canonical_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const std::string& given : paths) {
    if (given.empty()) continue;
    std::error_code ec;
    std::string path = std::filesystem::absolute(given, ec).lexically_normal().string();
    if (ec) continue;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    out.push_back(resolve_existing(path));
  }
  std::sort(out.begin(), out.end());  // a parent sorts before what is inside it
  std::vector<std::string> outermost;
  for (const std::string& path : out) {
    auto inside = [&](const std::string& parent) { return is_under(path, parent); };
    if (std::none_of(outermost.begin(), outermost.end(), inside)) outermost.push_back(path);
  }
  return outermost;
}

std::vector<std::string> server_paths(const ExecutorOptions& options, const std::string& run_dir) {
  std::vector<std::string> paths = {options.data_dir, options.run_dir, run_dir};
  paths.insert(paths.end(), options.private_paths.begin(), options.private_paths.end());
  return canonical_paths(paths);
}

std::pair<std::string, std::string> locate_in_mounts(const std::vector<BindMount>& mounts, const std::string& path) {
  const BindMount* holder = nullptr;  // mounts go parents first; of equal ones the later wins
  for (const auto& m : mounts) {
    if (is_under(path, m.target)) holder = &m;
  }
  if (!holder) return {"", path};
  if (holder->is_file) {
    size_t slash = holder->source.find_last_of('/');
    return {holder->source.substr(0, slash), holder->source.substr(slash)};
  }
  return {holder->source, holder->target == "/" ? path : path.substr(holder->target.size())};
}

Result<std::string> read_in_root(const std::string& root, const std::string& path, size_t cap) {
  Fd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return errno_status("opening " + root, errno);
  std::string rel = path;
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  if (rel.empty()) rel = ".";
  open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  Fd fd(static_cast<int>(::syscall(SYS_openat2, dir.get(), rel.c_str(), &how, sizeof how)));
  if (!fd.valid()) return errno_status("reading " + path, errno);
  return read_regular_file(fd.get(), path, cap);
}

Result<std::string> read_regular_file(int path_fd, const std::string& path, size_t cap) {
  struct stat st;
  if (::fstat(path_fd, &st) != 0) return errno_status("reading " + path, errno);
  if (!S_ISREG(st.st_mode)) return invalid("reading " + path + ": not a regular file");
  return read_file_capped("/proc/self/fd/" + std::to_string(path_fd), cap);
}

std::string host_path(const std::vector<BindMount>& mounts, const std::string& tmp_dir, const std::string& path) {
  const BindMount* best = nullptr;
  for (const auto& m : mounts) {
    if (is_under(path, m.target) && (!best || m.target.size() >= best->target.size())) best = &m;
  }
  if (best) return best->source + path.substr(best->target == "/" ? 0 : best->target.size());
  if (is_under(path, "/tmp")) return tmp_dir + path.substr(4);
  return path;
}

}  // namespace skiff::runtime
