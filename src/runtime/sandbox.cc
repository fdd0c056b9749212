#include "runtime/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "runtime/isolation.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace skiff::runtime {
namespace {

// Same layout as the kernel's struct clone_args (CLONE_ARGS_SIZE_VER0).
struct CloneArgs {
  uint64_t flags = 0;
  uint64_t pidfd = 0;
  uint64_t child_tid = 0;
  uint64_t parent_tid = 0;
  uint64_t exit_signal = 0;
  uint64_t stack = 0;
  uint64_t stack_size = 0;
  uint64_t tls = 0;
};

constexpr uint64_t kNamespaces = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
constexpr int kSetupFailedExit = 126;

// Code that runs on the step's small vfork stack: sanitizers must not track it.
#define SKIFF_CHILD_CODE __attribute__((no_sanitize("address", "undefined")))

long clone3(CloneArgs* args) { return ::syscall(SYS_clone3, args, sizeof(CloneArgs)); }

enum Stage : int32_t { kSetup = 1, kExec = 2, kChdir = 3 };

// Written by the child in one write (smaller than PIPE_BUF, so atomic).
struct SetupReport {
  int32_t stage = 0;
  int32_t err = 0;
  char detail[1024] = {};
};

// Everything the child reads, prepared by the parent so the child never allocates.
struct ChildArgs {
  std::vector<char*> argv;
  std::vector<char*> sh_argv;  // {"sh", <file>, argv[1..]} for scripts without "#!"
  std::vector<char*> envp;
  const char* path = nullptr;  // the step's PATH
  const SandboxSpec* spec = nullptr;
  std::vector<int> source_fds;
  std::vector<std::vector<int>> shadow_fds;  // per shadow, per entry
  int out_w = -1, err_w = -1, status_w = -1;
};

// --- child side: system calls only ---------------------------------------------------------

SKIFF_CHILD_CODE size_t append(char* buf, size_t pos, size_t cap, const char* s) {
  while (s && *s && pos + 1 < cap) buf[pos++] = *s++;
  buf[pos] = '\0';
  return pos;
}

SKIFF_CHILD_CODE void report(int fd, Stage stage, int err, const char* a, const char* b = nullptr) {
  SetupReport r;
  r.stage = stage;
  r.err = err;
  size_t pos = append(r.detail, 0, sizeof r.detail, a);
  append(r.detail, pos, sizeof r.detail, b);
  ssize_t ignored = ::write(fd, &r, sizeof r);
  (void)ignored;
}

[[noreturn]] void fail(int fd, const char* what, const char* arg = nullptr) {
  report(fd, kSetup, errno, what, arg);
  ::_exit(kSetupFailedExit);
}

void forward_signal(int sig) { ::kill(-1, sig); }  // from a namespace's init: all but itself

void reset_signals() {
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
}

// "/proc/self/fd/<fd>" into `out` (64 bytes).
void fd_path(int fd, char* out) {
  strcpy(out, "/proc/self/fd/");
  char digits[16];
  int n = 0;
  for (unsigned v = static_cast<unsigned>(fd); n == 0 || v > 0; v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
  size_t pos = strlen(out);
  while (n > 0) out[pos++] = digits[--n];
  out[pos] = '\0';
}

// Binds the opened source `fd` at `target`, read-only or writable whatever the source's
// mount says (under a read-only root, the source's mount is read-only too).
void bind_fd(int status_fd, int fd, const char* target, bool read_only, bool read_only_root) {
  char source[64];
  fd_path(fd, source);
  if (::mount(source, target, nullptr, MS_BIND | MS_REC, nullptr) != 0) fail(status_fd, "bind-mounting ", target);
  if (read_only && isolation::make_read_only(target, true)) fail(status_fd, "making read-only ", target);
  if (!read_only && read_only_root && isolation::make_writable(target)) fail(status_fd, "making writable ", target);
}

// Makes the mount point of the termination message file (sandbox.h): its directories,
// then an empty regular file (mknod makes one without opening whatever is there). False
// with errno set when it could not.
bool make_message_mount_point(const char* path) {
  char buf[4097];
  size_t n = strlen(path);
  if (n >= sizeof buf) {
    errno = ENAMETOOLONG;
    return false;
  }
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i < n; ++i) {
    if (buf[i] != '/') continue;
    buf[i] = '\0';
    int made = ::mkdir(buf, 0755);
    buf[i] = '/';
    if (made != 0 && errno != EEXIST) return false;
  }
  return ::mknod(path, S_IFREG | 0644, 0) == 0 || errno == EEXIST;
}

// Binds the termination message file (opened as `fd`) at its path. Under a read-only root a
// privileged step (the host's /dev) may find no mount point and none can be made: it goes
// without, as sandbox.h says.
void bind_message_file(int status_fd, int fd, const SandboxSpec& spec) {
  const char* target = spec.message_path.c_str();
  if (!make_message_mount_point(target)) {
    if (errno == EROFS && spec.privileged) return;
    fail(status_fd, "making the mount point of terminationMessagePath ", target);
  }
  bind_fd(status_fd, fd, target, false, spec.read_only_root);
}

// Covers `sh.dir` with a private tmpfs holding its entries again and the mount points the
// host lacks (volumes.h Shadow). Entries keep their mounts' flags (read-only stays so);
// under a read-only root the tmpfs is made read-only once its mount points exist. For "/"
// the tmpfs is put together at /tmp, then moved over "/" and made the root (as
// switch_root does): the step's working directory and later mounts resolve inside it.
void build_shadow(int status_fd, const Shadow& sh, int* fds, bool read_only_root) {
  for (size_t i = 0; i < sh.entries.size(); ++i) {  // before the tmpfs covers them
    if (sh.entries[i].type == 'l') continue;
    fds[i] = ::open(sh.entries[i].path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  }
  const char* at = sh.build_at.c_str();
  if (::mount("tmpfs", at, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) fail(status_fd, "covering ", at);
  for (size_t i = 0; i < sh.entries.size(); ++i) {
    const Shadow::Entry& e = sh.entries[i];
    const char* target = e.target.c_str();
    if (e.type == 'l') {
      if (::symlink(e.link.c_str(), target) != 0) fail(status_fd, "copying the symbolic link ", target);
      continue;
    }
    if (fds[i] < 0) continue;  // gone since it was listed
    if (e.type == 'd' ? ::mkdir(target, 0755) != 0 : ::mknod(target, S_IFREG | 0644, 0) != 0)
      fail(status_fd, "making the mount point ", target);
    char source[64];
    fd_path(fds[i], source);
    if (::mount(source, target, nullptr, MS_BIND | MS_REC, nullptr) != 0) fail(status_fd, "bind-mounting ", target);
    ::close(fds[i]);
  }
  for (const auto& dir : sh.new_dirs)
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) fail(status_fd, "making the mount point ", dir.c_str());
  for (const auto& file : sh.new_files)
    if (::mknod(file.c_str(), S_IFREG | 0644, 0) != 0 && errno != EEXIST)
      fail(status_fd, "making the mount point ", file.c_str());
  if (read_only_root && isolation::make_read_only(at, false)) fail(status_fd, "making read-only ", at);
  if (sh.dir != "/") return;
  if (::chdir(at) != 0 || ::mount(at, "/", nullptr, MS_MOVE, nullptr) != 0 || ::chroot(".") != 0 || ::chdir("/") != 0)
    fail(status_fd, "making the step's private root");
}

// The host as the step sees it before its own mounts: its files read-only if asked, a
// fresh /proc and, unless privileged, a private /dev and read-only kernel settings; skiff's
// own directories empty. Bind sources were opened before, so hiding cannot take them away.
void prepare_host_view(int status_fd, const SandboxSpec& spec) {
  if (spec.read_only_root && isolation::make_read_only("/", true)) fail(status_fd, "making the host's files read-only");
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    fail(status_fd, "mounting /proc");
  }
  if (!spec.privileged) {
    if (const char* failed = isolation::mount_private_dev()) fail(status_fd, failed);
    if (const char* failed = isolation::protect_kernel_files()) fail(status_fd, failed);
  }
  for (const std::string& dir : spec.hidden) {
    if (const char* failed = isolation::hide(dir.c_str())) fail(status_fd, failed, dir.c_str());
  }
}

// execvp with the step's PATH rather than ours.
[[noreturn]] SKIFF_CHILD_CODE void exec_step(const ChildArgs& a) {
  const char* file = a.argv[0];
  auto run = [&](const char* path) {
    ::execve(path, a.argv.data(), a.envp.data());
    if (errno == ENOEXEC) {
      char** sh = const_cast<char**>(a.sh_argv.data());
      sh[1] = const_cast<char*>(path);
      ::execve("/bin/sh", sh, a.envp.data());
    }
  };
  if (strchr(file, '/')) {
    run(file);
  } else {
    int err = ENOENT;
    char buf[4096];
    const char* p = a.path ? a.path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (;;) {
      const char* end = strchrnul(p, ':');
      size_t len = static_cast<size_t>(end - p);
      if (len + strlen(file) + 2 < sizeof buf) {
        if (len == 0) {
          buf[0] = '.';
          len = 1;
        } else {
          memcpy(buf, p, len);
        }
        buf[len] = '/';
        strcpy(buf + len + 1, file);
        run(buf);
        if (errno == EACCES) err = EACCES;
        else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ELOOP && errno != ENAMETOOLONG)
          err = errno;
      }
      if (*end == '\0') break;
      p = end + 1;
    }
    errno = err;
  }
  int err = errno;
  report(3, kExec, err, file);
  ::_exit(err == ENOENT ? 127 : 126);
}

constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

// PID 2: inherits default dispositions from the init except the forwarding handlers.
SKIFF_CHILD_CODE int start_step(void* arg) {
  const ChildArgs& a = *static_cast<const ChildArgs*>(arg);
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : kForwarded) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (!a.spec->working_dir.empty() && ::chdir(a.spec->working_dir.c_str()) != 0) {
    report(3, kChdir, errno, a.spec->working_dir.c_str());
    ::_exit(kSetupFailedExit);
  }
  exec_step(a);
}

[[noreturn]] void run_init(const ChildArgs& a) {
  const SandboxSpec& spec = *a.spec;
  reset_signals();
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::setsid();
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail(a.status_w, "making mounts private");
  // Open every bind source before anything is mounted over it (run_dir may sit in /tmp).
  int* fds = const_cast<int*>(a.source_fds.data());
  fds[0] = ::open(spec.tmp_dir.c_str(), O_PATH | O_CLOEXEC | O_DIRECTORY);
  if (fds[0] < 0) fail(a.status_w, "opening ", spec.tmp_dir.c_str());
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    fds[i + 1] = ::open(spec.mounts[i].source.c_str(), O_PATH | O_CLOEXEC);
    if (fds[i + 1] < 0) fail(a.status_w, "opening ", spec.mounts[i].source.c_str());
  }
  int message_fd = -1;
  if (!spec.message_path.empty()) {
    message_fd = ::open(spec.message_file.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (message_fd < 0) fail(a.status_w, "opening ", spec.message_file.c_str());
  }
  prepare_host_view(a.status_w, spec);
  for (size_t i = 0; i < spec.shadows.size(); ++i)
    build_shadow(a.status_w, spec.shadows[i], const_cast<int*>(a.shadow_fds[i].data()), spec.read_only_root);
  bind_fd(a.status_w, fds[0], "/tmp", false, spec.read_only_root);
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    bind_fd(a.status_w, fds[i + 1], spec.mounts[i].target.c_str(), spec.mounts[i].read_only, spec.read_only_root);
  }
  if (message_fd >= 0) bind_message_file(a.status_w, message_fd, spec);
  if (!spec.hostname.empty()) ::sethostname(spec.hostname.data(), spec.hostname.size());
  // Last, once nothing is left to mount: the init and the step keep only what steps need.
  if (!spec.privileged) {
    if (const char* failed = isolation::drop_privileges()) fail(a.status_w, failed);
  }

  // stdin from /dev/null, stdout/stderr to the pipes, the status pipe at 3; nothing else.
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  int out = ::fcntl(a.out_w, F_DUPFD_CLOEXEC, 10);
  int err = ::fcntl(a.err_w, F_DUPFD_CLOEXEC, 10);
  int status = ::fcntl(a.status_w, F_DUPFD_CLOEXEC, 10);
  int in = ::fcntl(null_fd, F_DUPFD_CLOEXEC, 10);
  if (null_fd < 0 || out < 0 || err < 0 || status < 0 || in < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 ||
      ::dup2(err, 2) < 0 || ::dup3(status, 3, O_CLOEXEC) < 0) {
    fail(a.status_w, "redirecting standard streams");
  }
  ::close_range(4, ~0U, 0);

  struct sigaction fwd = {};
  fwd.sa_handler = forward_signal;
  fwd.sa_flags = SA_RESTART;
  for (int sig : kForwarded) ::sigaction(sig, &fwd, nullptr);

  // The step's process shares our memory until it execs (like vfork): no page tables to
  // copy. Signals stay blocked until it has dropped the forwarding handlers.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  alignas(16) static char stack[64 * 1024];
  int child = ::clone(start_step, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, const_cast<ChildArgs*>(&a));
  if (child < 0) fail(3, "starting the step's process");
  for (int fd = 0; fd <= 3; ++fd) ::close(fd);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (;;) {
    int st = 0;
    pid_t w = ::waitpid(-1, &st, 0);
    if (w == child) ::_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    if (w < 0 && errno != EINTR) ::_exit(kSetupFailedExit);
  }
}

}  // namespace

// --- parent side ---------------------------------------------------------------------------

namespace {

// Clones the step's init from this process (a small one: the step's supervisor).
Result<std::pair<pid_t, int>> clone_init(const SandboxSpec& spec, int out_w, int err_w, int status_w) {
  ChildArgs a;
  a.spec = &spec;
  for (const auto& s : spec.argv) a.argv.push_back(const_cast<char*>(s.c_str()));
  a.argv.push_back(nullptr);
  a.sh_argv.push_back(const_cast<char*>("sh"));
  a.sh_argv.push_back(nullptr);
  for (size_t i = 1; i < spec.argv.size(); ++i) a.sh_argv.push_back(const_cast<char*>(spec.argv[i].c_str()));
  a.sh_argv.push_back(nullptr);
  for (const auto& s : spec.env) {
    a.envp.push_back(const_cast<char*>(s.c_str()));
    if (s.compare(0, 5, "PATH=") == 0) a.path = s.c_str() + 5;
  }
  a.envp.push_back(nullptr);
  a.source_fds.assign(spec.mounts.size() + 1, -1);
  for (const auto& sh : spec.shadows) a.shadow_fds.emplace_back(sh.entries.size(), -1);
  a.out_w = out_w;
  a.err_w = err_w;
  a.status_w = status_w;

  int pidfd = -1;
  CloneArgs args;
  args.flags = kNamespaces | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  long pid = clone3(&args);
  if (pid < 0) return errno_status("starting a sandboxed step (clone3 with new namespaces)", errno);
  if (pid == 0) run_init(a);
  return std::make_pair(static_cast<pid_t>(pid), pidfd);
}

}  // namespace

Result<SandboxProcess> spawn_sandbox(const SandboxSpec& spec) {
  if (spec.argv.empty()) return invalid("no command to run");
  SandboxProcess p;
  Fd out_w, err_w, status_w;
  if (Status s = make_pipe(&p.out, &out_w, true); !s) return s;
  if (Status s = make_pipe(&p.err, &err_w, true); !s) return s;
  if (Status s = make_pipe(&p.status, &status_w, true); !s) return s;
  auto r = clone_init(spec, out_w.get(), err_w.get(), status_w.get());
  if (!r) return r.status();
  p.pid = r->first;
  p.pidfd.reset(r->second);
  return p;
}

Status read_setup_error(const SandboxProcess& process) {
  SetupReport r;
  ssize_t n = ::read(process.status.get(), &r, sizeof r);
  if (n != static_cast<ssize_t>(sizeof r)) return Status::ok();
  r.detail[sizeof r.detail - 1] = '\0';
  std::string detail = r.detail;
  switch (r.stage) {
    case kExec:
      if (r.err == ENOENT) {
        return not_found("executable \"" + detail + "\" not found" +
                         (detail.find('/') == std::string::npos ? " in $PATH" : ""));
      }
      return errno_status("cannot run executable \"" + detail + "\"", r.err);
    case kChdir: return errno_status("workingDir \"" + detail + "\"", r.err);
    default: return errno_status("host sandbox setup: " + detail, r.err);
  }
}

Status probe_sandbox() {
  CloneArgs args;
  args.flags = kNamespaces;
  args.exit_signal = SIGCHLD;
  long pid = clone3(&args);
  if (pid == 0) ::_exit(0);
  if (pid < 0) {
    int err = errno;
    return {Code::kUnavailable, std::string("the host executor cannot create mount and PID namespaces here (") +
                                    strerror(err) + "); run skiff as root or use --executor container"};
  }
  int st = 0;
  while (::waitpid(static_cast<pid_t>(pid), &st, 0) < 0 && errno == EINTR) {
  }
  return Status::ok();
}

}  // namespace skiff::runtime
