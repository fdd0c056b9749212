#include "cd/git_stream.h"

#include <fcntl.h>
#include <git2.h>
#include <git2/sys/stream.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace skiff::cd {
namespace {

using Clock = std::chrono::steady_clock;

thread_local std::optional<Clock::time_point> t_deadline;

// The layout of libgit2's own socket stream: its ssh transport reads `s` from the stream it
// gets, whoever made it.
struct TimedSocket {
  git_stream parent;
  char* host;
  char* port;
  int s;
};

// Milliseconds left for poll(): -1 (no limit) without a deadline, at least 0.
int remaining_ms() {
  if (!t_deadline) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(*t_deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(std::min<long long>(left, 1 << 30)) : 0;
}

int fail(const std::string& what) {
  git_error_set_str(GIT_ERROR_NET, what.c_str());
  return -1;
}

int wait_for(int fd, short events, const char* what) {
  pollfd p{fd, events, 0};
  int rc;
  do {  // until the deadline has really passed: the caller tells a timeout by the clock
    rc = poll(&p, 1, remaining_ms());
  } while ((rc < 0 && errno == EINTR) || (rc == 0 && remaining_ms() > 0));
  if (rc == 0) return fail(std::string("timed out ") + what);
  if (rc < 0) return fail(std::string(what) + ": " + std::strerror(errno));
  return 0;
}

// So that libssh2, which reads the socket itself, gives up at the deadline too.
void set_socket_timeouts(int fd) {
  int ms = remaining_ms();
  if (ms < 0) return;
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  if (ms == 0) tv.tv_usec = 1;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int try_connect(const addrinfo* a) {
  int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
  if (fd < 0) return -1;
  if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
    int err = 0;
    socklen_t len = sizeof err;
    if (errno != EINPROGRESS || wait_for(fd, POLLOUT, "connecting") != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      close(fd);
      errno = err ? err : ETIMEDOUT;
      return -1;
    }
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  set_socket_timeouts(fd);
  return fd;
}

int timed_connect(git_stream* stream) {
  auto* ts = reinterpret_cast<TimedSocket*>(stream);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  if (int rc = getaddrinfo(ts->host, ts->port, &hints, &list); rc != 0)
    return fail(std::string("failed to resolve address for ") + ts->host + ": " + gai_strerror(rc));
  int last_errno = 0;
  for (addrinfo* a = list; a && ts->s < 0; a = a->ai_next) {
    ts->s = try_connect(a);
    if (ts->s < 0) last_errno = errno;
  }
  freeaddrinfo(list);
  if (ts->s >= 0) return 0;
  if (remaining_ms() == 0) return fail(std::string("timed out connecting to ") + ts->host);
  return fail(std::string("failed to connect to ") + ts->host + ": " + std::strerror(last_errno));
}

ssize_t timed_read(git_stream* stream, void* data, size_t len) {
  auto* ts = reinterpret_cast<TimedSocket*>(stream);
  if (wait_for(ts->s, POLLIN, "waiting for the server") != 0) return -1;
  ssize_t n;
  do {
    n = recv(ts->s, data, len, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail(std::string("reading from the server: ") + std::strerror(errno));
  return n;
}

ssize_t timed_write(git_stream* stream, const char* data, size_t len, int) {
  auto* ts = reinterpret_cast<TimedSocket*>(stream);
  if (wait_for(ts->s, POLLOUT, "sending to the server") != 0) return -1;
  ssize_t n;
  do {
    n = send(ts->s, data, len, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail(std::string("sending to the server: ") + std::strerror(errno));
  return n;
}

int timed_close(git_stream* stream) {
  auto* ts = reinterpret_cast<TimedSocket*>(stream);
  if (ts->s >= 0) close(ts->s);
  ts->s = -1;
  return 0;
}

void timed_free(git_stream* stream) {
  auto* ts = reinterpret_cast<TimedSocket*>(stream);
  timed_close(stream);
  std::free(ts->host);
  std::free(ts->port);
  std::free(ts);
}

int timed_socket_new(git_stream** out, const char* host, const char* port) {
  auto* ts = static_cast<TimedSocket*>(std::calloc(1, sizeof(TimedSocket)));
  if (!ts) return fail("out of memory");
  ts->parent.version = GIT_STREAM_VERSION;
  ts->parent.connect = timed_connect;
  ts->parent.read = timed_read;
  ts->parent.write = timed_write;
  ts->parent.close = timed_close;
  ts->parent.free = timed_free;
  ts->host = strdup(host);
  ts->port = strdup(port);
  ts->s = -1;
  *out = &ts->parent;
  return 0;
}

}  // namespace

void install_timed_sockets() {
  git_stream_registration reg{};
  reg.version = GIT_STREAM_VERSION;
  reg.init = timed_socket_new;
  git_stream_register(GIT_STREAM_STANDARD, &reg);
}

DeadlineScope::DeadlineScope(Clock::time_point deadline) { t_deadline = deadline; }
DeadlineScope::~DeadlineScope() { t_deadline.reset(); }

}  // namespace skiff::cd
