#include "server/connection_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace skiff::server {
namespace {

// poll() on one descriptor: > 0 ready, 0 timed out, < 0 failed.
int wait_fd(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  int r;
  do {
    r = ::poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  return r;
}

// Milliseconds from now until `due` (negative when past).
long long ms_until(std::chrono::steady_clock::time_point due) {
  using std::chrono::milliseconds;
  return std::chrono::duration_cast<milliseconds>(due - std::chrono::steady_clock::now()).count();
}

// What an OpenSSL call that returned `ret` is waiting for: POLLIN, POLLOUT, or 0 (failed).
short ssl_wants(SSL* ssl, int ret) {
  switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ: return POLLIN;
    case SSL_ERROR_WANT_WRITE: return POLLOUT;
    default: return 0;
  }
}

}  // namespace

ConnectionStream::ConnectionStream(int fd, SSL* ssl, const Limits& limits)
    : fd_(fd), ssl_(ssl), limits_(limits) {
  begin_request();
}

void ConnectionStream::begin_request() {
  in_headers_ = true;
  line_len_ = header_bytes_ = body_bytes_ = 0;
  headers_due_ = Clock::now() + std::chrono::milliseconds(limits_.header_timeout_ms);
}

bool ConnectionStream::wait_for_request(int timeout_ms) {
  if (buf_pos_ < buf_len_ || (ssl_ && SSL_pending(ssl_) > 0)) return true;
  return wait_fd(fd_, POLLIN, timeout_ms) > 0;
}

int ConnectionStream::read_wait_ms() const {
  if (!in_headers_) return limits_.read_timeout_ms;
  return static_cast<int>(std::clamp<long long>(ms_until(headers_due_), 0, limits_.read_timeout_ms));
}

ssize_t ConnectionStream::fill() {
  buf_pos_ = buf_len_ = 0;
  for (;;) {
    if (in_headers_ && Clock::now() >= headers_due_) return -1;
    short want;
    if (ssl_) {
      ERR_clear_error();
      int r = SSL_read(ssl_, buf_, sizeof buf_);
      if (r > 0) {
        buf_len_ = static_cast<size_t>(r);
        return r;
      }
      if (SSL_get_error(ssl_, r) == SSL_ERROR_ZERO_RETURN) return 0;
      if ((want = ssl_wants(ssl_, r)) == 0) return -1;
    } else {
      ssize_t n = ::recv(fd_, buf_, sizeof buf_, 0);
      if (n >= 0) {
        buf_len_ = static_cast<size_t>(n);
        return n;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      want = POLLIN;
    }
    if (wait_fd(fd_, want, read_wait_ms()) <= 0) return -1;
  }
}

ssize_t ConnectionStream::account(const char* p, size_t n) {
  if (in_headers_) {
    for (size_t i = 0; i < n; ++i) {
      if (++header_bytes_ > limits_.max_header_bytes) return -1;
      if (p[i] == '\n') {
        if (line_len_ == 0) {  // the empty line that ends the headers
          in_headers_ = false;
          return static_cast<ssize_t>(i + 1);
        }
        line_len_ = 0;
      } else if (p[i] != '\r') {
        ++line_len_;
      }
    }
    return static_cast<ssize_t>(n);
  }
  if (body_bytes_ + n > limits_.max_body_bytes) {
    body_refused_ = true;
    return -1;
  }
  body_bytes_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  if (size == 0) return 0;
  if (buf_pos_ == buf_len_) {
    ssize_t got = fill();
    if (got <= 0) return got;
  }
  ssize_t n = account(buf_ + buf_pos_, std::min(size, buf_len_ - buf_pos_));
  if (n < 0) return -1;
  std::memcpy(ptr, buf_ + buf_pos_, static_cast<size_t>(n));
  buf_pos_ += static_cast<size_t>(n);
  return n;
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  if (size == 0) return 0;
  for (;;) {
    short want;
    if (ssl_) {
      ERR_clear_error();
      int r = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, INT_MAX)));
      if (r > 0) return r;
      if ((want = ssl_wants(ssl_, r)) == 0) return -1;
    } else {
      ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      want = POLLOUT;
    }
    if (wait_fd(fd_, want, limits_.write_timeout_ms) <= 0) return -1;
  }
}

bool ConnectionStream::is_readable() const {
  if (buf_pos_ < buf_len_ || (ssl_ && SSL_pending(ssl_) > 0)) return true;
  return wait_fd(fd_, POLLIN, read_wait_ms()) > 0;
}

bool ConnectionStream::is_writable() const {
  if (wait_fd(fd_, POLLOUT, limits_.write_timeout_ms) <= 0) return false;
  // A client that went away has closed its side (RDHUP), or reset the connection; bytes
  // it sent before (the start of a next request) do not keep it alive.
  pollfd p{fd_, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) == 0 || (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) == 0;
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  socket_address(fd_, false, &ip, &port);
}

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const {
  socket_address(fd_, true, &ip, &port);
}

void socket_address(int fd, bool local, std::string* ip, int* port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  ip->clear();
  *port = 0;
  if ((local ? ::getsockname(fd, sa, &len) : ::getpeername(fd, sa, &len)) != 0) return;
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    *port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    *port = ntohs(in6->sin6_port);
  }
  *ip = text;
}

SSL* tls_accept(SSL_CTX* ctx, int fd, int timeout_ms) {
  SSL* ssl = SSL_new(ctx);
  if (!ssl || SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    ERR_clear_error();
    int r = SSL_accept(ssl);
    if (r == 1) return ssl;
    short want = ssl_wants(ssl, r);
    long long left = ms_until(due);
    if (want == 0 || left <= 0 || wait_fd(fd, want, static_cast<int>(left)) <= 0) {
      ERR_clear_error();
      SSL_free(ssl);
      return nullptr;
    }
  }
}

void drain(int fd, int timeout_ms) {
  ::shutdown(fd, SHUT_WR);
  auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char sink[16 << 10];
  for (;;) {
    long long left = ms_until(due);
    if (left <= 0 || wait_fd(fd, POLLIN, static_cast<int>(left)) <= 0) return;
    ssize_t n = ::recv(fd, sink, sizeof sink, 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return;
  }
}

}  // namespace skiff::server
