#include "runtime/pod_cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "runtime/quantity.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace skiff::runtime {
namespace {

constexpr int64_t kPeriodUs = 100000;

bool unified() {
  struct statfs fs;
  return ::statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

Status put(const std::string& file, const std::string& value) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Status(Code::kInternal, "opening " + file + ": " + std::strerror(errno));
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size()))
    return Status(Code::kInternal, "writing " + value + " to " + file + ": " + std::strerror(err));
  return Status::ok();
}

// mkdir -p for a cgroup path, recording its last directory when it made it.
Status make_path(const std::string& root, const std::string& path, std::vector<std::string>* made) {
  std::string at = root;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i + 1);
    if (j == std::string::npos) j = path.size();
    at += path.substr(i, j - i);
    // Only the step's own cgroup is recorded: a parent ("/skiff") is shared with other steps.
    if (::mkdir(at.c_str(), 0755) == 0) {
      if (j == path.size()) made->push_back(at);
    } else if (errno != EEXIST) return Status(Code::kInternal, "making cgroup " + at + ": " + std::strerror(errno));
    i = j;
  }
  return Status::ok();
}

}  // namespace

Result<PodLimits> pod_limits(const std::string& pod_json) {
  PodLimits out;
  if (pod_json.empty()) return out;
  auto pod = nlohmann::json::parse(pod_json, nullptr, false);
  if (!pod.is_object() || !pod.contains("resources") || !pod["resources"].is_object()) return out;
  const auto& r = pod["resources"];
  if (!r.contains("limits") || !r["limits"].is_object()) return out;
  const auto& limits = r["limits"];
  auto text = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  if (limits.contains("memory")) {
    std::string t = text(limits["memory"]);
    auto bytes = parse_quantity(t, "podResources.limits.memory");
    if (!bytes) return bytes.status();
    if (*bytes < 4 * 1048576.0) return invalid("podResources.limits.memory " + t + " is below the 4Mi a pod needs");
    out.memory_bytes = static_cast<int64_t>(*bytes);
  }
  if (limits.contains("cpu")) {
    std::string t = text(limits["cpu"]);
    auto cpus = parse_quantity(t, "podResources.limits.cpu");
    if (!cpus) return cpus.status();
    if (*cpus <= 0) return invalid("podResources.limits.cpu " + t + " must be more than 0");
    out.cpu_quota_us = std::max<int64_t>(1000, static_cast<int64_t>(*cpus * kPeriodUs));
  }
  return out;
}

Result<std::optional<PodCgroup>> make_pod_cgroup(const std::string& path, const PodLimits& limits) {
  if (!limits.memory_bytes && !limits.cpu_quota_us) return std::optional<PodCgroup>();
  PodCgroup cg;
  cg.path = path;
  auto fail = [&](const Status& st) -> Result<std::optional<PodCgroup>> {
    remove_pod_cgroup(cg);
    return st.with_context("podResources");
  };
  std::vector<std::string> made;
  if (unified()) {
    const std::string root = "/sys/fs/cgroup";
    // Controllers are enabled from the root down to the pod's cgroup, whose limits then
    // hold for every container below it.
    std::string controllers = std::string(limits.memory_bytes ? "+memory " : "") + (limits.cpu_quota_us ? "+cpu" : "");
    std::string parent = path.substr(0, path.rfind('/'));
    if (Status s = make_path(root, parent, &made); !s) return fail(s);
    for (std::string at = root, rest = parent;; ) {
      if (Status s = put(at + "/cgroup.subtree_control", controllers); !s) return fail(s);
      if (rest.empty()) break;
      size_t j = rest.find('/', 1);
      at += rest.substr(0, j);
      rest = j == std::string::npos ? "" : rest.substr(j);
    }
    cg.dirs = {root + path};
    if (Status s = make_path(root, path, &made); !s) return fail(s);
    std::string dir = root + path;
    if (limits.memory_bytes) {
      if (Status s = put(dir + "/memory.max", std::to_string(*limits.memory_bytes)); !s) return fail(s);
      (void)put(dir + "/memory.swap.max", "0");
      cg.oom_dir = dir;
    }
    if (limits.cpu_quota_us)
      if (Status s = put(dir + "/cpu.max", std::to_string(*limits.cpu_quota_us) + " " + std::to_string(kPeriodUs)); !s)
        return fail(s);
    return std::optional<PodCgroup>(std::move(cg));
  }
  // v1: one directory per hierarchy; memory.use_hierarchy makes the parent's limit count
  // its children's usage. runc makes the path in every hierarchy (pids, devices, ...) for
  // the containers below it, so every hierarchy's copy goes when the step ends.
  std::error_code ec;
  for (const auto& h : std::filesystem::directory_iterator("/sys/fs/cgroup", ec))
    if (h.is_directory(ec) && !h.is_symlink(ec)) cg.dirs.push_back(h.path().string() + path);
  if (limits.memory_bytes) {
    Status s = make_path("/sys/fs/cgroup/memory", path, &made);
    if (!s) return fail(s);
    std::string dir = "/sys/fs/cgroup/memory" + path;
    if (Status w = put(dir + "/memory.limit_in_bytes", std::to_string(*limits.memory_bytes)); !w) return fail(w);
    (void)put(dir + "/memory.memsw.limit_in_bytes", std::to_string(*limits.memory_bytes));
    cg.oom_dir = dir;
  }
  if (limits.cpu_quota_us) {
    Status s = make_path("/sys/fs/cgroup/cpu", path, &made);
    if (!s) return fail(s);
    std::string dir = "/sys/fs/cgroup/cpu" + path;
    if (Status w = put(dir + "/cpu.cfs_period_us", std::to_string(kPeriodUs)); !w) return fail(w);
    if (Status w = put(dir + "/cpu.cfs_quota_us", std::to_string(*limits.cpu_quota_us)); !w) return fail(w);
  }
  return std::optional<PodCgroup>(std::move(cg));
}

void remove_pod_cgroup(const PodCgroup& cgroup) {
  for (const auto& dir : cgroup.dirs) ::rmdir(dir.c_str());
}

}  // namespace skiff::runtime
