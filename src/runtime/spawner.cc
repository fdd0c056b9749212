#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "runtime/supervisor.h"
#include "runtime/supervisor_internal.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

// The spawner (see supervisor.h): a small process, skiff re-executed before any thread
// exists, that forks every step's supervisor, so no fork copies the server's memory.

namespace skiff::runtime {
namespace {

constexpr int kSpawnerFd = 3;
constexpr char kSpawnerArg[] = "__skiff-spawner";
int g_spawner = -1;  // our end of the spawner's socket; -1 when forking directly
pid_t g_spawner_pid = -1;
constexpr size_t kMaxRequest = 4 << 20;

long clone_pidfd(int* pidfd) {
  struct {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
  } args = {CLONE_PIDFD, reinterpret_cast<uint64_t>(pidfd), 0, 0, SIGCHLD, 0, 0, 0};
  return ::syscall(SYS_clone3, &args, sizeof args);
}

// Sends `data` with at most one descriptor attached.
bool send_with_fd(int sock, const void* data, size_t size, int fd) {
  iovec iov{const_cast<void*>(data), size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  ssize_t n;
  do n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(size);
}

// Receives one message and at most one descriptor (-1 when none).
ssize_t recv_with_fd(int sock, void* data, size_t size, int* fd) {
  iovec iov{data, size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  *fd = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int got[4];
    memcpy(got, CMSG_DATA(c), std::min<size_t>(count, 4) * sizeof(int));
    for (size_t i = 0; i < count && i < 4; ++i) {
      if (*fd < 0) *fd = got[i];
      else ::close(got[i]);
    }
  }
  return n;
}

// Forks a supervisor; in the parent returns its pid and pidfd.
Result<std::pair<pid_t, int>> fork_supervisor(const SupervisedStep& step, int done_w, int close_in_child) {
  int pidfd = -1;
  long pid = clone_pidfd(&pidfd);
  if (pid < 0) return errno_status("starting a step's supervisor", errno);
  if (pid == 0) {
    if (close_in_child >= 0) ::close(close_in_child);
    run_supervisor(step, done_w);
  }
  return std::make_pair(static_cast<pid_t>(pid), pidfd);
}

[[noreturn]] void spawner_loop(int sock) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::signal(SIGCHLD, SIG_IGN);  // supervisors are reaped by the kernel; their pidfds still tell
  // Each request is read into a buffer of its own size (asked for first), so the
  // spawner's memory stays small: every supervisor is a fork of it.
  std::string buf;
  for (;;) {
    int done_w = -1;
    char probe;
    ssize_t size;
    do size = ::recv(sock, &probe, 1, MSG_PEEK | MSG_TRUNC);
    while (size < 0 && errno == EINTR);
    if (size <= 0 || static_cast<size_t>(size) > kMaxRequest) ::_exit(0);
    buf.resize(static_cast<size_t>(size));
    ssize_t n = recv_with_fd(sock, buf.data(), buf.size(), &done_w);
    if (n <= 0) ::_exit(0);
    SupervisedStep step;
    int32_t reply = -EINVAL;
    int pidfd = -1;
    if (decode_step(buf.data(), buf.data() + n, &step)) {
      auto r = fork_supervisor(step, done_w, sock);
      if (r) {
        reply = r->first;
        pidfd = r->second;
      } else {
        reply = -EAGAIN;
      }
    }
    if (done_w >= 0) ::close(done_w);
    bool sent = send_with_fd(sock, &reply, sizeof reply, pidfd);
    if (pidfd >= 0) ::close(pidfd);
    if (!sent) ::_exit(0);
  }
}

// Runs before main() in every binary that links the runtime: a process started as
// `<binary> __skiff-spawner` by start_spawner serves spawn requests and never returns.
__attribute__((constructor)) void maybe_run_spawner() {
  char buf[256];
  int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return;
  buf[n] = '\0';
  const char* arg1 = buf + strlen(buf) + 1;
  if (arg1 < buf + n && strcmp(arg1, kSpawnerArg) == 0) spawner_loop(kSpawnerFd);
}
}  // namespace

Status start_spawner() {
  // A new executor may have entered a new mount namespace: replace the old spawner.
  if (g_spawner >= 0) {
    ::close(g_spawner);
    g_spawner = -1;
    ::waitpid(g_spawner_pid, nullptr, 0);  // it exits when its socket closes
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return errno_status("spawner socket", errno);
  int size = static_cast<int>(kMaxRequest) * 2;
  ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
  ::setsockopt(sv[1], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(sv[0]);
    ::close(sv[1]);
    return errno_status("starting the spawner", errno);
  }
  if (pid == 0) {
    // Re-execute ourselves as a fresh, small process (see maybe_run_spawner); if that is
    // impossible, serve from this copy of our memory instead.
    ::close(sv[0]);
    if (::dup2(sv[1], kSpawnerFd) == kSpawnerFd) {
      ::execl("/proc/self/exe", "skiff", kSpawnerArg, static_cast<char*>(nullptr));
      spawner_loop(kSpawnerFd);
    }
    spawner_loop(sv[1]);
  }
  ::close(sv[1]);
  g_spawner = sv[0];
  g_spawner_pid = pid;
  return Status::ok();
}

Result<Supervisor> spawn_supervisor(const SupervisedStep& step) {
  Supervisor sup;
  Fd done_w;
  if (Status s = make_pipe(&sup.done, &done_w, true); !s) return s;
  std::string request = encode_step(step);
  if (g_spawner >= 0 && request.size() <= kMaxRequest) {
    int32_t reply = 0;
    int pidfd = -1;
    if (send_with_fd(g_spawner, request.data(), request.size(), done_w.get()) &&
        recv_with_fd(g_spawner, &reply, sizeof reply, &pidfd) == static_cast<ssize_t>(sizeof reply)) {
      if (reply < 0 || pidfd < 0) {
        if (pidfd >= 0) ::close(pidfd);
        return errno_status("starting a step's supervisor", reply < 0 ? -reply : EIO);
      }
      sup.pid = reply;
      sup.pidfd.reset(pidfd);
      return sup;
    }
    ::close(g_spawner);  // the spawner is gone: fork from here from now on
    g_spawner = -1;
  }
  auto r = fork_supervisor(step, done_w.get(), -1);
  if (!r) return r.status();
  sup.pid = r->first;
  sup.pidfd.reset(r->second);
  return sup;
}

}  // namespace skiff::runtime
