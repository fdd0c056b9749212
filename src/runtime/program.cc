#include "runtime/program.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>

#include <fmt/format.h>

#include "runtime/fd.h"
#include "util/strings.h"

extern char** environ;

namespace skiff::runtime {

const std::string& process_tag() {
  static const std::string tag = [] {
    std::random_device rd;
    return fmt::format("{}-{:06x}", ::getpid(), rd() & 0xffffff);
  }();
  return tag;
}

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  for (const std::string& dir : split(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin", ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

int run_program(const std::vector<std::string>& args, const std::vector<std::string>& env, const std::string& input,
                std::string* out) {
  Fd in_r, in_w, out_r, out_w;
  if (!make_pipe(&in_r, &in_w, false) || !make_pipe(&out_r, &out_w, false)) return -1;
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  // Whatever signals the caller blocks (the server's threads block SIGINT/SIGTERM, a
  // supervisor those it reads from a signalfd), the program starts with none blocked.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  in_r.reset();
  out_w.reset();
  (void)!::write(in_w.get(), input.data(), input.size());  // configs are small: fits the pipe
  in_w.reset();
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out_r.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0 && out && out->size() < (1 << 20)) out->append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace {

constexpr size_t kMaxStderr = 64 * 1024;
// How long output may still arrive after the program exited (from a child it left behind).
constexpr int64_t kDrainMs = 1000;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Blocks SIGPIPE in this thread while it writes to a program's stdin (the program may stop
// reading at any time), and discards the SIGPIPE such a write raised, which is directed at
// this thread.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlock() {
    if (sigismember(&old_, SIGPIPE)) return;  // blocked by the caller already: theirs to handle
    timespec zero{0, 0};
    while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_, old_;
};

// Reads what is there, keeping the first `keep` bytes (`*over` set when there was more);
// false once the pipe is at its end (or broken).
bool drain(int fd, std::string* into, size_t keep, bool* over) {
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      size_t room = into->size() < keep ? keep - into->size() : 0;
      into->append(buf, std::min(room, static_cast<size_t>(n)));
      *over = *over || room < static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
}

}  // namespace

Result<ProgramOutput> run_program_limited(const std::vector<std::string>& args, const std::string& input,
                                          const ProgramLimits& limits) {
  if (args.empty()) return invalid("no program to run");
  Fd in_r, in_w, out_r, out_w, err_r, err_w;
  if (Status s = make_pipe(&in_r, &in_w, false); !s) return s;
  if (Status s = make_pipe(&out_r, &out_w, true); !s) return s;
  if (Status s = make_pipe(&err_r, &err_w, true); !s) return s;
  if (::fcntl(in_w.get(), F_SETFL, O_NONBLOCK) != 0) return errno_status("making a pipe non-blocking", errno);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group, killed as a whole
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return errno_status("starting " + args[0], rc);
  in_r.reset();
  out_w.reset();
  err_w.reset();
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) {
    int err = errno;
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return errno_status("watching " + args[0] + " (pidfd_open)", err);
  }

  SigpipeBlock no_sigpipe;
  ProgramOutput r;
  size_t written = 0;
  if (input.empty()) in_w.reset();
  const int64_t deadline = now_ms() + limits.timeout_ms;
  int64_t drain_until = 0;
  bool exited = false;
  while (!(exited && !out_r.valid() && !err_r.valid())) {
    int64_t left = (exited ? std::min(deadline, drain_until) : deadline) - now_ms();
    if (left <= 0) {
      r.timed_out = !exited;
      break;
    }
    pollfd fds[4];
    nfds_t n = 0;
    auto watch = [&](const Fd& fd, short events) {
      if (fd.valid()) fds[n++] = {fd.get(), events, 0};
    };
    watch(in_w, POLLOUT);
    watch(out_r, POLLIN);
    watch(err_r, POLLIN);
    if (!exited) watch(pidfd, POLLIN);
    if (::poll(fds, n, static_cast<int>(std::min<int64_t>(left, 1 << 30))) < 0 && errno != EINTR) break;
    for (nfds_t i = 0; i < n; ++i) {
      if (!fds[i].revents) continue;
      int fd = fds[i].fd;
      if (fd == in_w.get()) {
        ssize_t w = ::write(fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) in_w.reset();
      } else if (fd == out_r.get()) {
        if (!drain(fd, &r.out, limits.max_output, &r.output_too_large)) out_r.reset();
      } else if (fd == err_r.get()) {
        bool dropped = false;  // the start of stderr says what went wrong
        if (!drain(fd, &r.err, kMaxStderr, &dropped)) err_r.reset();
      } else if (fd == pidfd.get()) {
        exited = true;
        drain_until = now_ms() + kDrainMs;
        in_w.reset();
      }
    }
    if (r.output_too_large) break;
  }
  // Kill the group before reaping: the unreaped program keeps the group id from reuse.
  ::kill(-pid, SIGKILL);
  siginfo_t info{};
  while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd.get()), &info, WEXITED) < 0 && errno == EINTR) {
  }
  r.exit_code = info.si_code == CLD_EXITED ? info.si_status : -1;
  return r;
}

}  // namespace skiff::runtime
