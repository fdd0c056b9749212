#include "runtime/container_executor.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "runtime/image_store.h"
#include "runtime/network.h"
#include "runtime/pod_cgroup.h"
#include "runtime/process_executor.h"
#include "runtime/program.h"
#include "runtime/quantity.h"
#include "runtime/secret_store.h"
#include "runtime/step_files.h"
#include "runtime/step_plan.h"
#include "runtime/supervisor.h"
#include "runtime/termination_message.h"
#include "runtime/volumes.h"
#include "util/strings.h"

extern char** environ;

namespace skiff::runtime {
namespace {

using Json = nlohmann::json;

constexpr const char* kInitPath = "/.skiff/init";
constexpr const char* kStatusDir = "/.skiff/status";
constexpr const char* kScriptPath = "/argo/staging/script";
constexpr const char* kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

// Docker's and containerd's default set, which Kubernetes Pods get.
const std::vector<std::string> kDefaultCaps = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",     "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",           "CAP_SETFCAP",    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};

// Every capability, in the kernel's numbering (kAllCaps[n] is capability n).
const std::vector<std::string> kAllCaps = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};

// The default seccomp profile: everything is allowed except what only an administrator of
// the machine needs (modules, reboot, clocks, swap, kexec, keyrings, raw handles, BPF,
// perf) and, without CAP_SYS_ADMIN, mounts and new namespaces. Denied calls fail with
// EPERM, as under Docker's default profile.
const std::vector<std::string> kDeniedSyscalls = {
    "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module", "finit_module",
    "get_kernel_syms", "get_mempolicy", "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load",
    "keyctl", "lookup_dcookie", "mbind", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
    "perf_event_open", "process_vm_readv", "process_vm_writev", "query_module", "quotactl", "reboot",
    "request_key", "set_mempolicy", "settimeofday", "stime", "swapoff", "swapon", "sysfs", "_sysctl", "uselib",
    "userfaultfd", "ustat", "vm86", "vm86old", "syslog"};
const std::vector<std::string> kAdminSyscalls = {"mount", "umount", "umount2", "pivot_root", "unshare", "setns",
                                                 "fsopen", "fsmount", "fsconfig", "fspick", "move_mount",
                                                 "open_tree", "mount_setattr"};

std::string self_dir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.find_last_of('/'));
}

bool filesystem_supported(const std::string& fs) {
  auto text = read_file_capped("/proc/filesystems", 1 << 16);
  return text && text->find("\t" + fs + "\n") != std::string::npos;
}

struct UserSpec {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> groups;
};

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() < 11 && std::all_of(s.begin(), s.end(), ::isdigit);
}

// Looks `name` up in the image's passwd/group file: returns fields split on ':'.
std::vector<std::string> lookup_entry(const std::string& rootfs, const char* file, const std::string& key, size_t field) {
  auto text = read_in_root(rootfs, file, 1 << 20);
  if (!text) return {};
  for (const std::string& line : split(*text, '\n')) {
    auto parts = split(line, ':');
    if (parts.size() > field && parts[field] == key) return parts;
  }
  return {};
}

// The image's USER ("name", "uid", "name:group", "uid:gid") as numbers, via its /etc files.
Result<UserSpec> image_user(const std::string& rootfs, const std::string& user) {
  UserSpec u;
  if (user.empty()) return u;
  std::string name = user.substr(0, user.find(':'));
  std::string group = user.find(':') == std::string::npos ? "" : user.substr(user.find(':') + 1);
  std::vector<std::string> pw = lookup_entry(rootfs, "/etc/passwd", name, all_digits(name) ? 2 : 0);
  if (all_digits(name)) {
    u.uid = static_cast<uint32_t>(std::stoul(name));
  } else if (pw.size() > 3 && all_digits(pw[2])) {
    u.uid = static_cast<uint32_t>(std::stoul(pw[2]));
  } else {
    return invalid("image user \"" + name + "\" is not in the image's /etc/passwd");
  }
  if (pw.size() > 3 && all_digits(pw[3])) u.gid = static_cast<uint32_t>(std::stoul(pw[3]));
  if (!group.empty()) {
    if (all_digits(group)) {
      u.gid = static_cast<uint32_t>(std::stoul(group));
    } else {
      auto gr = lookup_entry(rootfs, "/etc/group", group, 0);
      if (gr.size() < 3 || !all_digits(gr[2])) return invalid("image group \"" + group + "\" is not in /etc/group");
      u.gid = static_cast<uint32_t>(std::stoul(gr[2]));
    }
  }
  return u;
}

Json bind_mount(const std::string& source, const std::string& target, bool read_only) {
  Json options = {"rbind", "rprivate"};
  if (read_only) options.push_back("ro");
  return {{"destination", target}, {"type", "bind"}, {"source", source}, {"options", options}};
}

Json base_mounts(bool privileged) {
  return Json::array({
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
      {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
      {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
       {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
      {{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"}, {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"},
       {"options", privileged ? Json{"nosuid", "noexec", "nodev"} : Json{"nosuid", "noexec", "nodev", "ro"}}},
      // Writable for a privileged step, as Docker's --privileged has it: a container
      // runtime inside (BuildKit's runc for a Dockerfile's RUN) makes child cgroups.
      {{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"},
       {"options", privileged ? Json{"nosuid", "noexec", "nodev", "relatime"}
                              : Json{"nosuid", "noexec", "nodev", "relatime", "ro"}}},
  });
}

Json seccomp_profile(const std::set<std::string>& caps) {
  std::vector<std::string> denied = kDeniedSyscalls;
  if (!caps.count("CAP_SYS_ADMIN")) denied.insert(denied.end(), kAdminSyscalls.begin(), kAdminSyscalls.end());
#if defined(__x86_64__)
  Json arches = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
  Json arches = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#else
  Json arches = Json::array();
#endif
  return {{"defaultAction", "SCMP_ACT_ALLOW"},
          {"architectures", arches},
          {"syscalls", {{{"names", denied}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
}

// The securityContext fields that matter here, pod-level first, then the container's.
struct Security {
  std::optional<int64_t> run_as_user, run_as_group;
  bool run_as_non_root = false;
  bool privileged = false;
  bool read_only_root = false;
  std::optional<bool> allow_privilege_escalation;
  std::vector<std::string> cap_add, cap_drop;
  std::vector<int64_t> supplemental_groups;
};

Status merge_security(Security* s, const std::string& text, const std::string& where) {
  if (text.empty()) return Status::ok();
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) return invalid(where + " must be an object");
  try {
    if (j.contains("runAsUser")) s->run_as_user = j["runAsUser"].get<int64_t>();
    if (j.contains("runAsGroup")) s->run_as_group = j["runAsGroup"].get<int64_t>();
    if (j.contains("runAsNonRoot")) s->run_as_non_root = j["runAsNonRoot"].get<bool>();
    if (j.contains("privileged")) s->privileged = j["privileged"].get<bool>();
    if (j.contains("readOnlyRootFilesystem")) s->read_only_root = j["readOnlyRootFilesystem"].get<bool>();
    if (j.contains("allowPrivilegeEscalation")) s->allow_privilege_escalation = j["allowPrivilegeEscalation"].get<bool>();
    if (j.contains("supplementalGroups")) s->supplemental_groups = j["supplementalGroups"].get<std::vector<int64_t>>();
    if (j.contains("capabilities")) {
      const Json& c = j["capabilities"];
      if (c.contains("add")) s->cap_add = c["add"].get<std::vector<std::string>>();
      if (c.contains("drop")) s->cap_drop = c["drop"].get<std::vector<std::string>>();
    }
  } catch (const std::exception& e) {
    return invalid(where + ": " + e.what());
  }
  for (auto id : {s->run_as_user, s->run_as_group}) {
    if (id && (*id < 0 || *id > 0x7fffffff)) return invalid(where + ": runAsUser/runAsGroup out of range");
  }
  return Status::ok();
}

// The capabilities this process may hand on (its bounding set): a container cannot get
// more, not even a privileged one.
std::set<std::string> host_caps() {
  std::set<std::string> out;
  auto status = read_file_capped("/proc/self/status", 1 << 16);
  uint64_t mask = ~uint64_t{0};
  if (status) {
    for (const std::string& line : split(*status, '\n')) {
      if (starts_with(line, "CapBnd:")) mask = std::strtoull(line.c_str() + 7, nullptr, 16);
    }
  }
  for (size_t i = 0; i < kAllCaps.size(); ++i) {
    if (mask & (uint64_t{1} << i)) out.insert(kAllCaps[i]);
  }
  return out;
}

std::string cap_name(std::string c) {
  for (char& ch : c) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return starts_with(c, "CAP_") ? c : "CAP_" + c;
}

// One image pull shared by every step that needs it.
struct Pull {
  bool done = false;
  Status status;
  Image image;
};

// The step's hostname: its pod name, as in Kubernetes (at most 63 characters).
std::string pod_hostname(const StepRequest& request) {
  return (request.pod_name.empty() ? file_name_for(request.node_id) : request.pod_name).substr(0, 63);
}

bool cgroup2_unified() {
  struct statfs fs;
  return ::statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

// How many times the kernel's OOM killer struck in the container's cgroup.
int64_t oom_kills(const std::string& cgroup) {
  std::string path = cgroup2_unified() ? "/sys/fs/cgroup" + cgroup + "/memory.events"
                                       : "/sys/fs/cgroup/memory" + cgroup + "/memory.oom_control";
  auto text = read_file_capped(path, 1 << 16);
  if (!text) return 0;
  for (const std::string& line : split(*text, '\n')) {
    if (starts_with(line, "oom_kill ")) return std::strtoll(line.c_str() + 9, nullptr, 10);
  }
  return 0;
}

// Runs a short helper (runc kill / delete) to completion, output discarded.
class ContainerLauncher final : public Launcher {
 public:
  ContainerLauncher(ExecutorOptions options, ContainerOptions container, std::unique_ptr<ImageStore> store)
      : options_(std::move(options)), container_(std::move(container)), store_(std::move(store)) {
    wake_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  }

  ~ContainerLauncher() override {
    for (auto& t : pullers_) t.join();
  }

  bool prepared(const StepRequest& request) override {
    auto client = client_for(*request.workflow);
    if (!client) return true;  // preparation_error reports it
    bool all = true;
    for (const spec::Container* c : containers_of(request)) all = ensure_pull(*c, pull_key(*c, *request.workflow), *client) && all;
    return all;
  }

  Status preparation_error(const StepRequest& request) override {
    auto client = client_for(*request.workflow);
    if (!client) return client.status();
    std::lock_guard<std::mutex> lock(mu_);
    for (const spec::Container* c : containers_of(request)) {
      auto it = pulls_.find(pull_key(*c, *request.workflow));
      if (it != pulls_.end() && !it->second.status.is_ok()) return it->second.status;
    }
    return Status::ok();
  }

  int wake_fd() const override { return wake_.get(); }
  void clear_wake() override {
    uint64_t n;
    (void)!::read(wake_.get(), &n, sizeof n);
  }

  Result<Launched> launch(const StepRequest& request) override;
  void finished(const std::string& note) override;

 private:
  // The main container, then the sidecars and the init containers.
  static std::vector<const spec::Container*> containers_of(const StepRequest& request) {
    std::vector<const spec::Container*> out;
    if (request.tmpl.container && !request.tmpl.container->image.empty()) out.push_back(&*request.tmpl.container);
    for (const auto* list : {&request.tmpl.sidecars, &request.tmpl.init_containers})
      for (const auto& s : *list)
        if (!s.image.empty()) out.push_back(&s);
    if (request.tmpl.container_set)
      for (const auto& s : request.tmpl.container_set->containers)
        if (!s.image.empty()) out.push_back(&s);
    return out;
  }

  // Pulls are shared by steps that name the same image with the same pull secrets.
  static std::string secrets_key(const WorkflowContext& w) {
    std::string key = w.namespace_;
    for (const auto& s : w.image_pull_secrets) key += "/" + s;
    return key;
  }
  static std::string pull_key(const spec::Container& c, const WorkflowContext& w) {
    return c.image + "|" + secrets_key(w);
  }

  // The registry client for a workflow: the configured credentials, with those of its
  // imagePullSecrets (docker-registry secrets) taking precedence.
  Result<RegistryClient*> client_for(const WorkflowContext& w) {
    std::string key = secrets_key(w);
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = clients_.find(key); it != clients_.end()) return it->second.get();
    RegistryConfig config = container_.registry;
    for (const auto& name : w.image_pull_secrets) {
      auto secret = read_config_object(options_.data_dir, ConfigKind::kSecret, w.namespace_, name);
      if (!secret) return secret.status().with_context("imagePullSecrets");
      auto it = secret->data.find(".dockerconfigjson");
      if (it == secret->data.end()) {
        return invalid("imagePullSecrets: secret " + name + " has no .dockerconfigjson (create it with "
                       "`skiff secret create docker-registry`)");
      }
      RegistryConfig from_secret;
      if (Status s = load_docker_config_text(&from_secret, it->second, "secret " + name); !s) return s;
      for (auto& [host, creds] : from_secret.auths) config.auths[host] = creds;
    }
    auto& client = clients_[key];
    client = std::make_unique<RegistryClient>(std::move(config));
    return client.get();
  }

  // True when the container's image is ready (or failed); else starts pulling it.
  bool ensure_pull(const spec::Container& c, const std::string& key, RegistryClient* client) {
    auto ref = parse_image_ref(c.image);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pulls_.find(key);
    if (it != pulls_.end()) return it->second.done;
    Pull& pull = pulls_[key];
    if (!ref) {
      pull.done = true;
      pull.status = ref.status();
      return true;
    }
    auto policy = pull_policy_for(c.image_pull_policy, *ref);
    if (!policy) {
      pull.done = true;
      pull.status = policy.status();
      return true;
    }
    if (*policy != PullPolicy::kAlways) {
      auto local = store_->find(*ref);
      if (local || *policy == PullPolicy::kNever) {
        pull.done = true;
        if (local) {
          pull.image = std::move(*local);
        } else {
          pull.status = not_found("image " + ref->canonical() + " is not in the local store and imagePullPolicy is "
                                  "Never; run `skiff image pull " + ref->canonical() + "` first");
        }
        return true;
      }
    }
    pullers_.emplace_back([this, key, client, ref = *ref] {
      auto image = store_->pull(*client, ref, nullptr);
      std::lock_guard<std::mutex> lock(mu_);
      Pull& p = pulls_[key];
      p.done = true;
      if (image) {
        p.image = std::move(*image);
      } else {
        p.status = image.status();
      }
      uint64_t one = 1;
      (void)!::write(wake_.get(), &one, sizeof one);
    });
    return false;
  }

  // One container's bundle (rootfs mounted, config written) under `dir`.
  struct Bundle {
    std::string id;
    std::string dir;
    std::string cgroup;
    bool keep = false;  // runc --keep: the cgroup outlives the process until deleted
    std::vector<BindMount> binds;
    bool net_admin = false;
  };
  // `message`: the termination message file's bind (the main container's), mounted last.
  Result<Bundle> make_bundle(const StepRequest& request, const Image& image, const std::string& dir,
                             const std::string& step_dir, const std::string& netns,
                             const BindMount* message = nullptr);
  std::vector<std::string> runc_run(const Bundle& bundle) const;
  std::vector<std::string> runc_kill(const Bundle& bundle) const;
  Result<Json> runtime_config(const StepRequest& request, const Image& image, const std::string& dir,
                              const std::vector<BindMount>& binds, const std::string& netns,
                              const std::string& cgroup, bool* keep);

  ExecutorOptions options_;
  ContainerOptions container_;
  std::unique_ptr<ImageStore> store_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<RegistryClient>> clients_;  // by secrets_key
  std::map<std::string, Pull> pulls_;  // by pull_key
  std::vector<std::thread> pullers_;
  std::shared_ptr<Network> network_;  // made on first use
  Fd wake_;
  uint64_t sequence_ = 0;
  // Where the containers of the step being launched go: "/skiff", or the step's pod cgroup
  // below it when the step has podResources limits (pod_cgroup.h).
  std::string cgroup_parent_ = "/skiff";
};

Result<Json> ContainerLauncher::runtime_config(const StepRequest& request, const Image& image,
                                               const std::string& dir, const std::vector<BindMount>& binds,
                                               const std::string& netns, const std::string& cgroup, bool* keep) {
  const spec::Container& c = *request.tmpl.container;
  const bool script = !c.source.empty();
  std::string hostname = pod_hostname(request);

  Security sec;
  const WorkflowContext& wf = *request.workflow;
  if (Status s = merge_security(&sec, request.tmpl.pod.security_context_json, "the pod's securityContext"); !s) return s;
  if (Status s = merge_security(&sec, c.security_context_json, "securityContext"); !s) return s;
  if (sec.privileged && !options_.allow_privileged) return privileged_not_allowed();

  // Environment: the image's, then HOSTNAME, then the container's (which may refer to both).
  EnvList base;
  for (const std::string& e : image.config.env) {
    size_t eq = e.find('=');
    if (eq != std::string::npos && eq > 0) base.emplace_back(e.substr(0, eq), e.substr(eq + 1));
  }
  if (std::none_of(base.begin(), base.end(), [](const auto& kv) { return kv.first == "PATH"; })) {
    base.emplace_back("PATH", std::string(kDefaultPath).substr(5));
  }
  base.emplace_back("HOSTNAME", hostname);
  PlanDefaults defaults;
  defaults.data_dir = options_.data_dir;
  defaults.namespace_ = wf.namespace_;
  auto env = resolve_env(c, std::move(base), defaults, request.pod_name);
  if (!env) return env.status();

  // Kubernetes: command replaces ENTRYPOINT (and drops CMD); args replace CMD.
  std::vector<std::string> argv;
  if (!c.command.empty()) {
    argv = c.command;
    argv.insert(argv.end(), c.args.begin(), c.args.end());
  } else if (script) {
    argv = {"sh"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
  } else {
    argv = image.config.entrypoint;
    const auto& tail = c.args.empty() ? image.config.cmd : c.args;
    argv.insert(argv.end(), tail.begin(), tail.end());
  }
  if (script) argv.push_back(kScriptPath);
  if (argv.empty()) {
    return invalid("container has no command: neither the template nor image " + image.name +
                   " (ENTRYPOINT/CMD) gives one");
  }
  Json args = Json::array({kInitPath});
  for (const auto& a : argv) args.push_back(expand_vars(a, *env));
  if (args[1].get<std::string>().empty()) return invalid("container command is an empty string");

  // User: securityContext, else the image's USER.
  auto user = image_user(dir + "/rootfs", image.config.user);
  if (!user) return user.status();
  if (sec.run_as_user) {
    user->uid = static_cast<uint32_t>(*sec.run_as_user);
    if (!sec.run_as_group) {
      auto pw = lookup_entry(dir + "/rootfs", "/etc/passwd", std::to_string(user->uid), 2);
      user->gid = pw.size() > 3 && all_digits(pw[3]) ? static_cast<uint32_t>(std::stoul(pw[3])) : 0;
    }
  }
  if (sec.run_as_group) user->gid = static_cast<uint32_t>(*sec.run_as_group);
  if (sec.run_as_non_root && user->uid == 0) {
    return invalid("securityContext.runAsNonRoot is set but the container would run as root (uid 0): set runAsUser "
                   "or use an image with a non-root USER");
  }
  Json groups = Json::array();
  for (auto g : sec.supplemental_groups) groups.push_back(g);

  // Capabilities: the default set, plus add, minus drop ("ALL" drops every one).
  static const std::set<std::string> available = host_caps();
  std::set<std::string> caps;
  if (sec.privileged) {
    caps = available;
  } else {
    for (const auto& c : kDefaultCaps) {
      if (available.count(c)) caps.insert(c);
    }
    for (const auto& d : sec.cap_drop) {
      if (cap_name(d) == "CAP_ALL") {
        caps.clear();
      } else {
        caps.erase(cap_name(d));
      }
    }
    for (const auto& a : sec.cap_add) {
      if (cap_name(a) == "CAP_ALL") {
        caps = available;
      } else if (std::find(kAllCaps.begin(), kAllCaps.end(), cap_name(a)) == kAllCaps.end()) {
        return invalid("securityContext.capabilities.add: unknown capability \"" + a + "\"");
      } else if (!available.count(cap_name(a))) {
        return invalid("securityContext.capabilities.add: " + cap_name(a) + " is not available to skiff on this host");
      } else {
        caps.insert(cap_name(a));
      }
    }
  }
  Json cap_list(std::vector<std::string>(caps.begin(), caps.end()));
  Json effective = user->uid == 0 ? cap_list : Json::array();  // a non-root process starts without them

  std::string cwd = c.working_dir.empty() ? image.config.working_dir : expand_vars(c.working_dir, *env);
  if (cwd.empty()) cwd = "/";
  auto clean_cwd = clean_absolute_path(cwd);
  if (!clean_cwd) return clean_cwd.status().with_context("workingDir");

  struct rlimit nofile;
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  uint64_t files = std::min<uint64_t>(nofile.rlim_max, 1048576);

  Json process = {{"terminal", false},
                  {"user", {{"uid", user->uid}, {"gid", user->gid}, {"additionalGids", groups}}},
                  {"args", args},
                  {"env", Json::array()},
                  {"cwd", *clean_cwd},
                  {"capabilities",
                   {{"bounding", cap_list}, {"effective", effective}, {"permitted", effective},
                    {"inheritable", Json::array()}, {"ambient", Json::array()}}},
                  {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", files}, {"soft", files}}}},
                  {"noNewPrivileges", !sec.privileged && !sec.allow_privilege_escalation.value_or(false)}};
  for (const auto& [k, v] : *env) process["env"].push_back(k + "=" + v);

  Json mounts = base_mounts(sec.privileged);
  mounts.push_back(bind_mount(container_.init_path, kInitPath, true));
  mounts.push_back(bind_mount(dir + "/status", kStatusDir, false));
  mounts.push_back(bind_mount(dir + "/hosts", "/etc/hosts", true));
  mounts.push_back(bind_mount(dir + "/hostname", "/etc/hostname", true));
  if (::access("/etc/resolv.conf", R_OK) == 0) mounts.push_back(bind_mount("/etc/resolv.conf", "/etc/resolv.conf", true));
  if (script) mounts.push_back(bind_mount(dir + "/script", kScriptPath, true));
  for (const auto& b : binds) mounts.push_back(bind_mount(b.source, b.target, b.read_only));

  Json namespaces = {{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}, {{"type", "cgroup"}}};
  if (!wf.host_network) {
    namespaces.push_back(netns.empty() ? Json{{"type", "network"}} : Json{{"type", "network"}, {"path", netns}});
  }

  Json resources = {{"devices", {{{"allow", sec.privileged}, {"access", "rwm"}}}}, {"pids", {{"limit", 32768}}}};
  if (!c.resources_json.empty()) {
    Json r = Json::parse(c.resources_json, nullptr, false);
    const Json limits = r.is_object() ? r.value("limits", Json::object()) : Json::object();
    if (limits.contains("memory")) {
      std::string text = limits["memory"].is_string() ? limits["memory"].get<std::string>() : limits["memory"].dump();
      auto bytes = parse_quantity(text, "resources.limits.memory");
      if (!bytes) return bytes.status();
      if (*bytes < 4 * 1048576.0) return invalid("resources.limits.memory " + text + " is below the 4Mi a container needs");
      resources["memory"] = {{"limit", static_cast<int64_t>(*bytes)}, {"swap", static_cast<int64_t>(*bytes)}};
      *keep = true;  // keep the cgroup until its OOM counter was read
    }
    if (limits.contains("cpu")) {
      std::string text = limits["cpu"].is_string() ? limits["cpu"].get<std::string>() : limits["cpu"].dump();
      auto cpus = parse_quantity(text, "resources.limits.cpu");
      if (!cpus) return cpus.status();
      int64_t quota = std::max<int64_t>(1000, static_cast<int64_t>(*cpus * 100000));
      resources["cpu"] = {{"quota", quota}, {"period", 100000}};
    }
  }

  Json linux_section = {{"namespaces", namespaces}, {"cgroupsPath", cgroup}, {"resources", resources}};
  if (!sec.privileged) {
    linux_section["maskedPaths"] = {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                                    "/sys/firmware", "/sys/devices/virtual/powercap"};
    linux_section["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
    linux_section["seccomp"] = seccomp_profile(caps);
  }
  return Json{{"ociVersion", "1.0.2"},
              {"process", process},
              {"root", {{"path", "rootfs"}, {"readonly", sec.read_only_root}}},
              {"hostname", hostname},
              {"mounts", mounts},
              {"linux", linux_section}};
}

Result<ContainerLauncher::Bundle> ContainerLauncher::make_bundle(const StepRequest& request, const Image& image,
                                                                  const std::string& dir, const std::string& step_dir,
                                                                  const std::string& netns, const BindMount* message) {
  const spec::Container& c = *request.tmpl.container;
  Bundle b;
  b.id = "skiff-" + process_tag() + "-" + std::to_string(++sequence_);
  b.dir = dir;
  b.cgroup = cgroup_parent_ + "/" + b.id;
  std::string rootfs = dir + "/rootfs";
  for (const char* sub : {"/rootfs", "/upper", "/work", "/status"}) {
    if (Status s = make_dirs(dir + sub); !s) return s;
  }
  ::chmod((dir + "/status").c_str(), 0777);
  std::string lower;
  for (auto it = image.layer_dirs.rbegin(); it != image.layer_dirs.rend(); ++it) lower += (lower.empty() ? "" : ":") + *it;
  std::string overlay = "lowerdir=" + lower + ",upperdir=" + dir + "/upper,workdir=" + dir + "/work";
  if (overlay.size() >= 4000) {
    return invalid("image " + image.name + " has too many layers (" + std::to_string(image.layer_dirs.size()) +
                   ") for one overlay mount from " + store_->root());
  }
  if (::mount("overlay", rootfs.c_str(), "overlay", 0, overlay.c_str()) != 0) {
    return errno_status("mounting the rootfs of " + image.name + " (overlayfs)", errno);
  }
  // Volumes resolve against the step's directory, so main and sidecars share emptyDirs.
  VolumeContext ctx{request.workflow->run_dir, step_dir, options_.data_dir, request.workflow->namespace_,
                    server_paths(options_, request.workflow->run_dir),
                    options_.allow_host_path};
  auto binds = resolve_binds(request, ctx);
  if (!binds) return binds.status();
  b.binds = std::move(*binds);
  if (message) b.binds.push_back(*message);
  std::string hostname = pod_hostname(request);
  write_file(dir + "/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" +
                                 hostname + "\n", 0644);
  write_file(dir + "/hostname", hostname + "\n", 0644);
  if (!c.source.empty()) {
    if (Status s = write_file(dir + "/script", c.source, 0755); !s) return s.with_context("script");
  }
  auto config = runtime_config(request, image, dir, b.binds, netns, b.cgroup, &b.keep);
  if (!config) return config.status();
  const Json& caps = (*config)["process"]["capabilities"]["bounding"];
  b.net_admin = std::find(caps.begin(), caps.end(), "CAP_NET_ADMIN") != caps.end();
  if (Status s = write_file(dir + "/config.json", config->dump(), 0600); !s) return s;
  return b;
}

std::vector<std::string> ContainerLauncher::runc_run(const Bundle& b) const {
  std::vector<std::string> args = {container_.runc, "--root", container_.state_root, "--log", b.dir + "/runc.log",
                                   "--log-format", "json", "run", "--bundle", b.dir};
  if (b.keep) args.push_back("--keep");
  args.push_back(b.id);
  return args;
}

std::vector<std::string> ContainerLauncher::runc_kill(const Bundle& b) const {
  return {container_.runc, "--root", container_.state_root, "kill", b.id, "KILL"};
}

// A launched step's note: who attached its network namespace, and the attachment.
std::string network_note(const Attachment& a, bool reusable) {
  if (a.netns.empty()) return "";
  return std::to_string(::getpid()) + "\n" + a.id + "\n" + a.netns + "\n" + a.ip + "\n" + (reusable ? "1" : "0");
}

void ContainerLauncher::finished(const std::string& note) {
  std::vector<std::string> f = split(note, '\n');
  if (f.size() != 5) return;
  Attachment a{f[1], f[2], f[3]};
  if (!network_) network_ = std::make_shared<Network>(NetworkOptions{});
  // Only a namespace this process attached can go back to its pool; one from before a
  // restart is detached.
  if (f[0] == std::to_string(::getpid())) {
    network_->release(a, f[4] == "1");
  } else {
    network_->detach(a);
  }
}

Result<Launched> ContainerLauncher::launch(const StepRequest& original) {
  std::optional<ContainerSetPlan> set;
  if (original.tmpl.container_set) {
    auto planned = plan_container_set(original);
    if (!planned) return planned.status();
    set = std::move(*planned);
    for (const auto& c : original.tmpl.container_set->containers)
      if (c.image.empty()) return invalid("containerSet container " + c.name + " has no image");
  }
  const StepRequest& request = set ? set->main_request : original;
  if (!request.tmpl.container) {
    return invalid("template " + request.tmpl.name + ": the container executor runs container and script templates only");
  }
  for (const auto& s : request.tmpl.sidecars) {
    if (s.image.empty()) return invalid("sidecar " + s.name + " has no image");
    if (Status st = check_object_name("sidecar", s.name); !st) return st;
  }
  for (const auto& s : request.tmpl.init_containers) {
    if (s.image.empty()) return invalid("init container " + s.name + " has no image");
    if (Status st = check_object_name("init container", s.name); !st) return st;
  }
  if (request.tmpl.container->image.empty()) return invalid("container has no image: set `image` (e.g. busybox:1.36)");
  auto image_of = [&](const spec::Container& c) {
    std::lock_guard<std::mutex> lock(mu_);
    return pulls_[pull_key(c, *request.workflow)].image;
  };
  std::string step_dir = scratch_dir(options_.run_dir, request.node_id, ++sequence_);
  Launched l;
  SupervisedStep& job = l.step;
  Attachment net;
  const bool host_network = request.workflow->host_network;
  if (!host_network && !network_) network_ = std::make_shared<Network>(NetworkOptions{});
  std::optional<PodCgroup> pod_cgroup;
  auto undo = [&](const Status& s) -> Status {
    if (pod_cgroup) remove_pod_cgroup(*pod_cgroup);
    for (const auto& m : job.unmounts) ::umount2(m.c_str(), MNT_DETACH);
    if (!net.netns.empty()) network_->detach(net);
    remove_tree(step_dir);
    return s;
  };
  // podResources: one cgroup over all of the step's containers, with the pod's limits.
  auto limits = pod_limits(request.tmpl.pod.json);
  if (!limits) return undo(limits.status());
  auto made = make_pod_cgroup("/skiff/pod-" + process_tag() + "-" + std::to_string(sequence_), *limits);
  if (!made) return undo(made.status());
  pod_cgroup = std::move(*made);
  cgroup_parent_ = pod_cgroup ? pod_cgroup->path : "/skiff";
  if (!host_network) {
    auto attached = network_->attach();
    if (!attached) return undo(attached.status());
    net = *attached;
  }
  bool net_admin = false;

  // Sidecars first, in the step's network namespace; their output goes to their own logs.
  for (size_t i = 0; i < request.tmpl.sidecars.size(); ++i) {
    const spec::Container& sc = request.tmpl.sidecars[i];
    StepRequest sub = request;
    sub.tmpl.container = sc;
    sub.tmpl.outputs = {};
    if (sc.mirror_volume_mounts) {
      auto& mounts = sub.tmpl.container->volume_mounts;
      mounts.insert(mounts.end(), request.tmpl.container->volume_mounts.begin(),
                    request.tmpl.container->volume_mounts.end());
    }
    std::string rootfs = step_dir + "/sidecars/" + sc.name + "/rootfs";
    auto bundle = make_bundle(sub, image_of(sc), step_dir + "/sidecars/" + sc.name, step_dir, net.netns);
    job.unmounts.push_back(rootfs);
    if (!bundle) return undo(bundle.status().with_context("sidecar " + sc.name));
    net_admin = net_admin || bundle->net_admin;
    job.sidecars.push_back({runc_run(*bundle), sidecar_log(request.workflow->run_dir, request.node_id, sc.name),
                            runc_kill(*bundle), rootfs});
  }

  // Init containers: in the step's network namespace and volumes (emptyDirs shared), run
  // one after the other by the supervisor before the rest; not shown the input artifacts.
  for (const auto& ic : request.tmpl.init_containers) {
    StepRequest sub = request;
    sub.tmpl.container = ic;
    sub.tmpl.outputs = {};
    sub.extra_mounts.clear();
    std::string dir = step_dir + "/init/" + ic.name;
    auto bundle = make_bundle(sub, image_of(ic), dir, step_dir, net.netns);
    job.unmounts.push_back(dir + "/rootfs");
    if (!bundle) return undo(bundle.status().with_context("init container " + ic.name));
    net_admin = net_admin || bundle->net_admin;
    InitProcess init;
    init.name = ic.name;
    init.argv = runc_run(*bundle);
    init.log_path = sidecar_log(request.workflow->run_dir, request.node_id, ic.name);
    init.force_argv = runc_kill(*bundle);
    init.unmount = dir + "/rootfs";
    job.inits.push_back(std::move(init));
  }

  // A containerSet's other containers: a bundle each, in the step's network namespace and
  // volumes, run by the supervisor as their dependencies allow (supervisor.h).
  if (set) {
    for (const auto& m : set->members) {
      std::string dir = step_dir + "/set/" + m.name;
      auto bundle = make_bundle(m.request, image_of(*m.request.tmpl.container), dir, step_dir, net.netns);
      job.unmounts.push_back(dir + "/rootfs");
      if (!bundle) return undo(bundle.status().with_context("container " + m.name));
      net_admin = net_admin || bundle->net_admin;
      InitProcess member;
      member.name = m.name;
      member.dependencies = m.dependencies;
      member.argv = runc_run(*bundle);
      member.log_path = sidecar_log(request.workflow->run_dir, request.node_id, m.name);
      member.force_argv = runc_kill(*bundle);
      member.unmount = dir + "/rootfs";
      job.set.push_back(std::move(member));
    }
    job.set_main = set->main_name;
    job.set_main_dependencies = set->main_dependencies;
    job.set_retries = set->retries;
    job.set_retry_ms = set->retry_delay_ms;
  }

  // kubelet's way: a file of the step's own bound at terminationMessagePath, read from the
  // host afterwards (termination_message.h).
  auto message = termination_message_spec(*request.tmpl.container);
  if (!message) return undo(message.status());
  if (is_under(message->path, "/proc") || is_under(message->path, "/sys")) {
    return undo(invalid("terminationMessagePath " + message->path + ": cannot be under /proc or /sys"));
  }
  BindMount message_bind{step_dir + "/termination-log", message->path, false, true};
  if (Status s = make_dirs(step_dir); !s) return undo(s);
  if (Status s = make_termination_log(message_bind.source); !s) return undo(s);
  auto bundle = make_bundle(request, image_of(*request.tmpl.container), step_dir, step_dir, net.netns, &message_bind);
  job.unmounts.push_back(step_dir + "/rootfs");
  if (!bundle) return undo(bundle.status());
  // Under a pod memory limit the OOM killer counts its kill in the victim's own cgroup:
  // main's is kept until read, as with a container limit.
  if (pod_cgroup && !pod_cgroup->oom_dir.empty()) bundle->keep = true;
  job.termination_log = message_bind.source;
  job.fallback_to_logs = message->fallback_to_logs;
  net_admin = net_admin || bundle->net_admin;
  job.argv = runc_run(*bundle);
  job.force_argv = runc_kill(*bundle);  // runc passes SIGTERM on to the container's init
  job.container.enabled = true;
  job.container.dir = step_dir;
  job.container.binds = bundle->binds;
  job.container.keep = bundle->keep;
  job.container.cgroup = bundle->cgroup;
  for (const auto& p : request.tmpl.outputs.parameters) {
    if (p.value_from && !p.value_from->path.empty()) job.container.outputs.emplace_back(p.name, p.value_from->path);
  }
  if (bundle->keep) job.cleanup_programs.push_back({container_.runc, "--root", container_.state_root, "delete", "--force", bundle->id});
  if (pod_cgroup) {  // after runc delete, once its containers are gone
    std::vector<std::string> rmdir = {find_program("rmdir")};
    rmdir.insert(rmdir.end(), pod_cgroup->dirs.begin(), pod_cgroup->dirs.end());
    job.cleanup_programs.push_back(std::move(rmdir));
  }
  job.removes.push_back(step_dir);
  l.ip = net.ip.empty() ? "127.0.0.1" : net.ip;
  l.exec_prefix = {container_.runc, "--root", container_.state_root, "exec", bundle->id};
  // A step that could reconfigure its network namespace does not pass it on.
  l.note = network_note(net, !net_admin);
  return l;
}

}  // namespace

// After the main container exited: what runc or the init reported, the OOM killer, and
// the output parameters, read inside the container's filesystem.
void collect_container_outputs(const ContainerCollect& c, size_t cap, StepResult* result) {
  if (auto err = read_file_capped(c.dir + "/status/error", 4096); err && !err->empty()) {
    result->error = true;
    result->message = *err;
    return;
  }
  if (auto log = read_file_capped(c.dir + "/runc.log", 1 << 20); log) {
    for (const std::string& line : split(*log, '\n')) {
      Json entry = Json::parse(line, nullptr, false);
      if (entry.is_object() && entry.value("level", "") == "error") {
        result->error = true;
        result->message = "runc: " + entry.value("msg", line);
        return;
      }
    }
  }
  if (c.keep && result->exit_code == 137 && oom_kills(c.cgroup) > 0) result->reason = "OOMKilled";
  for (const auto& [name, path] : c.outputs) {
    auto clean = clean_absolute_path(path);
    if (!clean) continue;
    auto [root, rel] = locate_in_mounts(c.binds, *clean);
    if (root.empty()) root = c.dir + "/rootfs";
    auto value = read_in_root(root, rel, cap);
    if (value) result->output_parameters[name] = std::move(*value);
  }
}

Status probe_containers(const ContainerOptions& options) {
  if (::geteuid() != 0) return Status(Code::kUnavailable, "containers need root (rootless runc is not supported yet)");
  if (find_program(options.runc).empty()) {
    return Status(Code::kUnavailable, "runc not found (install it: apt-get install runc)");
  }
  if (!filesystem_supported("overlay")) return Status(Code::kUnavailable, "the kernel has no overlayfs");
  std::string init = options.init_path.empty() ? self_dir() + "/skiff-init" : options.init_path;
  if (::access(init.c_str(), X_OK) != 0) {
    return Status(Code::kUnavailable, "skiff-init not found at " + init + " (it is built and installed with skiff)");
  }
  return Status::ok();
}

Result<std::unique_ptr<Executor>> make_container_executor(const ExecutorOptions& options,
                                                          const ContainerOptions& container) {
  if (Status s = probe_containers(container); !s) return s;
  ExecutorOptions opts = options;
  if (Status s = prepare_run_dir(&opts); !s) return s;
  ContainerOptions copts = container;
  copts.runc = find_program(container.runc);
  if (copts.init_path.empty()) copts.init_path = self_dir() + "/skiff-init";
  auto store = ImageStore::open(opts.data_dir + "/images");
  if (!store) return store.status();
  // Rootfs mounts and step directories stay private to this process: a private mount
  // namespace with a tmpfs for the steps, entered before any thread exists.
  if (::unshare(CLONE_NEWNS) == 0 && ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0)
    ::mount("tmpfs", steps_dir(opts.run_dir).c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  if (Status s = start_spawner(); !s) return s;
  auto launcher = std::make_unique<ContainerLauncher>(opts, std::move(copts), std::move(*store));
  return make_process_executor(std::move(opts), std::move(launcher));
}

}  // namespace skiff::runtime
