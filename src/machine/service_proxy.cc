#include "machine/service_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "runtime/fd.h"

namespace skiff::machine {

namespace {

constexpr int kMaxConnections = 256;
constexpr int kConnectTimeoutMs = 3000;

sockaddr_in address(const std::string& ip, int port) {
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

runtime::Fd connect_to(const Backend& b) {
  runtime::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return {};
  sockaddr_in a = address(b.ip, b.port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) return {};
  struct pollfd p = {fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, kConnectTimeoutMs) != 1) return {};
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return {};
  return fd;
}

// Copies both ways until either side ends or `stop` becomes readable.
void pump(int a, int b, int stop) {
  char buf[64 * 1024];
  bool a_open = true, b_open = true;
  while (a_open || b_open) {
    struct pollfd p[3] = {{a, static_cast<short>(a_open ? POLLIN : 0), 0},
                          {b, static_cast<short>(b_open ? POLLIN : 0), 0},
                          {stop, POLLIN, 0}};
    if (::poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[2].revents) return;
    for (int i = 0; i < 2; ++i) {
      if (!p[i].revents) continue;
      int from = i == 0 ? a : b, to = i == 0 ? b : a;
      ssize_t n = ::recv(from, buf, sizeof buf, 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        ::shutdown(to, SHUT_WR);
        (i == 0 ? a_open : b_open) = false;
        if (n < 0) return;
        continue;
      }
      for (ssize_t sent = 0; sent < n;) {
        struct pollfd w = {to, POLLOUT, 0};
        if (::poll(&w, 1, 30'000) != 1) return;
        ssize_t m = ::send(to, buf + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
        if (m < 0 && errno != EAGAIN && errno != EINTR) return;
        if (m > 0) sent += m;
      }
    }
  }
}

}  // namespace

struct ServiceProxy::Listener {
  runtime::Fd socket;
  runtime::Fd stop{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  int port = 0;
  std::mutex mu;
  std::vector<Backend> backends;
  size_t next = 0;
  std::atomic<int> connections{0};
  std::thread acceptor;

  bool pick(Backend* out) {
    std::lock_guard<std::mutex> lock(mu);
    if (backends.empty()) return false;
    *out = backends[next++ % backends.size()];
    return true;
  }

  void serve(std::shared_ptr<Listener> self) {
    for (;;) {
      struct pollfd p[2] = {{socket.get(), POLLIN, 0}, {stop.get(), POLLIN, 0}};
      if (::poll(p, 2, -1) < 0 && errno != EINTR) return;
      if (p[1].revents) return;
      if (!p[0].revents) continue;
      runtime::Fd client(::accept4(socket.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (!client.valid()) continue;
      if (connections.load() >= kMaxConnections) continue;  // closed: refused
      ++connections;
      std::thread([self, client = std::move(client)]() mutable {
        Backend b;
        // A backend that does not answer is skipped for the next one, once round.
        runtime::Fd upstream;
        size_t tries = 0;
        {
          std::lock_guard<std::mutex> lock(self->mu);
          tries = self->backends.size();
        }
        for (size_t i = 0; i < tries && !upstream.valid(); ++i)
          if (self->pick(&b)) upstream = connect_to(b);
        if (upstream.valid()) pump(client.get(), upstream.get(), self->stop.get());
        --self->connections;
      }).detach();
    }
  }
};

ServiceProxy::~ServiceProxy() {
  for (const std::string& key : keys()) withdraw(key);
}

Result<int> ServiceProxy::publish(const std::string& key, int want, std::vector<Backend> backends) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = listeners_.find(key);
  if (it != listeners_.end() && (want == 0 || want == it->second->port)) {
    std::lock_guard<std::mutex> l(it->second->mu);
    it->second->backends = std::move(backends);
    return it->second->port;
  }
  auto listener = std::make_shared<Listener>();
  listener->socket = runtime::Fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listener->socket.valid() || !listener->stop.valid()) return runtime::errno_status("service " + key + ": socket", errno);
  int one = 1;
  ::setsockopt(listener->socket.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = address("127.0.0.1", want);
  if (::bind(listener->socket.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listener->socket.get(), 128) != 0) {
    int err = errno;
    return Status(Code::kUnavailable, "cannot publish service port " + key + " on 127.0.0.1:" + std::to_string(want) +
                                          ": " + std::strerror(err) +
                                          (err == EADDRINUSE ? " (another program uses it: free it or choose another nodePort)" : ""));
  }
  socklen_t len = sizeof a;
  ::getsockname(listener->socket.get(), reinterpret_cast<sockaddr*>(&a), &len);
  listener->port = ntohs(a.sin_port);
  listener->backends = std::move(backends);
  listener->acceptor = std::thread([listener] { listener->serve(listener); });
  if (it != listeners_.end()) {
    auto old = it->second;
    listeners_.erase(it);
    uint64_t one_event = 1;
    (void)::write(old->stop.get(), &one_event, sizeof one_event);
    old->acceptor.join();
  }
  listeners_[key] = listener;
  return listener->port;
}

void ServiceProxy::withdraw(const std::string& key) {
  std::shared_ptr<Listener> listener;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = listeners_.find(key);
    if (it == listeners_.end()) return;
    listener = it->second;
    listeners_.erase(it);
  }
  uint64_t one = 1;
  (void)::write(listener->stop.get(), &one, sizeof one);
  listener->acceptor.join();
  listener->socket.reset();  // the port is free once this returns
}

std::vector<std::string> ServiceProxy::keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [key, _] : listeners_) out.push_back(key);
  return out;
}

}  // namespace skiff::machine
