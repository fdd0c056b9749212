// ConnectionServer: cpp-httplib's Server (routing, request parsing, responses) with the
// handling of connections replaced, so that no client can starve the others:
//   - every connection has a thread of its own (ConnectionPool), so open streams, idle
//     keep-alive connections and slow clients cost a thread each instead of holding one
//     of a few shared workers;
//   - each client address may hold max_connections_per_client connections (more are
//     answered 429 and closed) and max_streams_per_client streams (admit_stream());
//   - a TLS handshake must finish within handshake_timeout_ms, a request's headers within
//     the stream's header_timeout_ms; bodies (chunked too) are cut off past max_body_bytes
//     and answered 413 (ConnectionStream);
//   - stop() ends open streams and idle connections promptly (their sockets are shut down).
// Requests are parsed and routed by cpp-httplib's process_request as before; keep-alive
// (keep_alive_max_count_, keep_alive_timeout_sec_) works as in cpp-httplib, but waits
// for the next request with poll() instead of waking every 10 ms.
//
// It sets the error handler (413s get a message); do not set another.
// Thread-safe as httplib::Server; admit_stream() runs on a connection's thread.
#pragma once

#include <httplib.h>

#include <mutex>
#include <set>
#include <string>

#include "server/client_limits.h"
#include "server/connection_stream.h"
#include "util/status.h"

namespace skiff::server {

struct ConnectionLimits {
  size_t max_connections = 4096;  // threads, all clients together; more wait their turn
  size_t max_connections_per_client = 512;
  size_t max_streams_per_client = 256;
  int handshake_timeout_ms = 10000;
  ConnectionStream::Limits stream;  // header deadline, header and body sizes, I/O timeouts
};

class ConnectionServer : public httplib::Server {
 public:
  explicit ConnectionServer(const ConnectionLimits& limits);
  ~ConnectionServer() override;

  // Serves HTTPS with the PEM certificate (chain) and key in these files.
  Status use_tls(const std::string& cert_file, const std::string& key_file);

  // Called while a request is handled (from the pre-routing handler): lets the request
  // be a stream, counted against its client until it ends. False, with `res` set to a
  // 429 that says so, when the client already holds max_streams_per_client.
  static bool admit_stream(httplib::Response& res);

  size_t open_connections() const { return clients_.connections(); }
  size_t open_streams() const { return clients_.streams(); }

 private:
  bool process_and_close_socket(socket_t sock) override;
  // Serves requests on `sock` until the client is done; false when it failed.
  bool serve(socket_t sock, SSL* ssl, const std::string& client);
  // Answers 429 to a client over its connection cap (plain HTTP only: TLS has no words
  // before the handshake) and closes.
  void refuse(socket_t sock, const std::string& client);
  // Sockets being served, for stop() to shut down; false when stopping.
  bool track(socket_t sock);
  void untrack(socket_t sock);
  void shut_all();

  const ConnectionLimits limits_;
  ClientLimits clients_;
  SSL_CTX* tls_ = nullptr;
  std::mutex mu_;
  std::set<socket_t> serving_;
  bool stopping_ = false;
};

}  // namespace skiff::server
