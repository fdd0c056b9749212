// LeaderProxy: what a follower serves while another skiff server leads (leader.h,
// docs/failover.md): every request is forwarded to the leader's advertised URL and its
// answer passed back — status, headers and body; log, watch and event streams as they
// flow. `/healthz` is answered here ({"role": "follower", "leader": URL}).
//
// It listens as the full server would (same host, port, TLS, per-client limits, on a
// ConnectionServer), so clients do not see which server they reached. Until a leader has
// advertised itself, or while it cannot be reached, requests get 503 with Retry-After.
// Owned by the election loop of `skiff server`; set_leader() may be called from any
// thread while it serves.
#pragma once

#include <memory>
#include <string>

#include "server/api.h"
#include "util/status.h"

namespace skiff::server {

class LeaderProxy {
 public:
  // Uses `options`' host, port, TLS files and per-client limits.
  explicit LeaderProxy(const ServerOptions& options);
  ~LeaderProxy();

  // Binds the port (port 0: a free one, then port() says which).
  Status bind();
  int port() const;
  // Serves from a thread of its own (after bind()) until stop().
  void start();
  void stop();
  // Where requests go from now on ("" = no leader known: 503).
  void set_leader(const std::string& url);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace skiff::server
