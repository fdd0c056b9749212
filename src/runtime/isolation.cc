#include "runtime/isolation.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <initializer_list>

namespace skiff::runtime::isolation {

constexpr uint64_t bit(int cap) { return uint64_t{1} << cap; }

const uint64_t kStepCapabilities = bit(CAP_CHOWN) | bit(CAP_DAC_OVERRIDE) | bit(CAP_FOWNER) | bit(CAP_FSETID) |
                                   bit(CAP_KILL) | bit(CAP_SETGID) | bit(CAP_SETUID) | bit(CAP_SETPCAP) |
                                   bit(CAP_NET_BIND_SERVICE) | bit(CAP_SYS_CHROOT) | bit(CAP_AUDIT_WRITE);

namespace {

const char* set_attr(const char* target, uint64_t set, uint64_t clear, unsigned flags) {
  struct mount_attr attr = {};
  attr.attr_set = set;
  attr.attr_clr = clear;
  if (::mount_setattr(AT_FDCWD, target, flags, &attr, sizeof attr) != 0) return "changing the mount flags of ";
  return nullptr;
}

// Binds `path` onto itself (so it is a mount of its own) and makes it read-only.
bool bind_read_only(const char* path) {
  if (::mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) != 0) return errno != ENOENT;
  return make_read_only(path, true) != nullptr;
}

}  // namespace

const char* make_read_only(const char* target, bool recursive) {
  return set_attr(target, MOUNT_ATTR_RDONLY, 0, recursive ? AT_RECURSIVE : 0);
}

const char* make_writable(const char* target) { return set_attr(target, 0, MOUNT_ATTR_RDONLY, 0); }

const char* mount_private_dev() {
  if (::mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME, "mode=755,size=65536k") != 0) {
    return "mounting a private /dev";
  }
  struct Node {
    const char* path;
    unsigned major, minor;
  };
  for (const Node& n : {Node{"/dev/null", 1, 3}, Node{"/dev/zero", 1, 5}, Node{"/dev/full", 1, 7},
                        Node{"/dev/random", 1, 8}, Node{"/dev/urandom", 1, 9}, Node{"/dev/tty", 5, 0}}) {
    if (::mknod(n.path, S_IFCHR | 0666, makedev(n.major, n.minor)) != 0 || ::chmod(n.path, 0666) != 0) {
      return "making the device nodes of /dev";
    }
  }
  struct Link {
    const char* target;
    const char* path;
  };
  for (const Link& l : {Link{"/proc/self/fd", "/dev/fd"}, Link{"/proc/self/fd/0", "/dev/stdin"},
                        Link{"/proc/self/fd/1", "/dev/stdout"}, Link{"/proc/self/fd/2", "/dev/stderr"},
                        Link{"pts/ptmx", "/dev/ptmx"}}) {
    if (::symlink(l.target, l.path) != 0) return "making the links of /dev";
  }
  if (::mkdir("/dev/pts", 0755) != 0 ||
      ::mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") != 0) {
    return "mounting /dev/pts";
  }
  if (::mkdir("/dev/shm", 01777) != 0 || ::chmod("/dev/shm", 01777) != 0 ||
      ::mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") != 0) {
    return "mounting /dev/shm";
  }
  return nullptr;
}

const char* protect_kernel_files() {
  for (const char* path : {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs", "/sys"}) {
    if (bind_read_only(path)) return "making the kernel's settings (/proc/sys, /sys, ...) read-only";
  }
  for (const char* path : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
                           "/proc/latency_stats"}) {
    if (::mount("/dev/null", path, nullptr, MS_BIND, nullptr) != 0 && errno != ENOENT) return "masking /proc files";
  }
  return nullptr;
}

const char* hide(const char* path) {
  if (::mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=755") == 0) {
    return nullptr;
  }
  if (errno == ENOENT) return nullptr;
  if (errno != ENOTDIR) return "hiding ";
  // A file: an empty one in its place.
  if (::mount("/dev/null", path, nullptr, MS_BIND, nullptr) != 0 || make_read_only(path, false)) return "hiding ";
  return nullptr;
}

const char* drop_privileges() {
  for (int cap = 0; cap < 64; ++cap) {
    if (kStepCapabilities & bit(cap)) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EINVAL) break;  // past the kernel's last capability
      return "dropping capabilities";
    }
  }
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return "reading capabilities";
  for (int i = 0; i < 2; ++i) {
    uint32_t keep = static_cast<uint32_t>(kStepCapabilities >> (32 * i));
    data[i].permitted &= keep;
    data[i].effective = data[i].permitted;
    data[i].inheritable = 0;
  }
  if (::syscall(SYS_capset, &header, data) != 0) return "dropping capabilities";
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return "setting no_new_privs";
  return nullptr;
}

}  // namespace skiff::runtime::isolation
