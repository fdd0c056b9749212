#include "server/connections.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/connection_pool.h"
#include "server/http_util.h"

namespace skiff::server {
namespace {

// The request being handled on this thread (each connection has its own thread).
struct Current {
  ConnectionServer* server;
  const std::string* client;
  ConnectionStream* stream;
  ClientLimits::Slot stream_slot;  // while the request is a stream
  bool close = false;              // answered in a way that ends the connection
};
thread_local Current* current = nullptr;

std::string size_text(size_t bytes) {
  if (bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

// A refusal for want of room: 413 or 429, with gRPC's RESOURCE_EXHAUSTED.
void exhausted(httplib::Response& res, int status, const std::string& message) {
  reply(res, status, {{"code", 8}, {"message", message}});
}

std::string too_many(const char* what, const std::string& client, size_t max, const char* flag) {
  return "this client (" + client + ") already has " + std::to_string(max) + " " + what +
         " open, the most one client may (" + flag + "): close some first";
}

}  // namespace

ConnectionServer::ConnectionServer(const ConnectionLimits& limits)
    : limits_(limits), clients_(limits.max_connections_per_client, limits.max_streams_per_client) {
  new_task_queue = [this] { return new ConnectionPool(limits_.max_connections, [this] { shut_all(); }); };
  set_error_handler(HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
    if (res.status != 413 && !(current && current->stream->body_refused())) return HandlerResponse::Unhandled;
    exhausted(res, 413, "the request body is larger than " + size_text(limits_.stream.max_body_bytes) +
                            ", the most this server accepts (a chunked body counts its chunk sizes too): "
                            "send a smaller one");
    if (current) current->close = true;  // what is left of the body cannot be read as a request
    return HandlerResponse::Handled;
  }));
  // Every connection holds a descriptor: lift the soft limit so thousands can be open.
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

ConnectionServer::~ConnectionServer() { SSL_CTX_free(tls_); }

Status ConnectionServer::use_tls(const std::string& cert_file, const std::string& key_file) {
  SSL_CTX_free(tls_);
  tls_ = SSL_CTX_new(TLS_server_method());
  bool ok = tls_ && SSL_CTX_set_min_proto_version(tls_, TLS1_2_VERSION) == 1 &&
            SSL_CTX_use_certificate_chain_file(tls_, cert_file.c_str()) == 1 &&
            SSL_CTX_use_PrivateKey_file(tls_, key_file.c_str(), SSL_FILETYPE_PEM) == 1 &&
            SSL_CTX_check_private_key(tls_) == 1;
  if (ok) {
    SSL_CTX_set_options(tls_, SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    return Status::ok();
  }
  char why[256] = "";
  ERR_error_string_n(ERR_get_error(), why, sizeof why);
  ERR_clear_error();
  SSL_CTX_free(tls_);
  tls_ = nullptr;
  return invalid("cannot load the TLS certificate " + cert_file + " and key " + key_file + ": " + why);
}

bool ConnectionServer::admit_stream(httplib::Response& res) {
  if (!current) return true;
  ConnectionServer& server = *current->server;
  if (!current->stream_slot) current->stream_slot = server.clients_.open_stream(*current->client);
  if (current->stream_slot) return true;
  exhausted(res, 429, too_many("streams", *current->client, server.limits_.max_streams_per_client,
                               "--max-streams-per-client"));
  return false;
}

bool ConnectionServer::process_and_close_socket(socket_t sock) {
  std::string client;
  int port = 0;
  socket_address(sock, false, &client, &port);
  ::fcntl(sock, F_SETFL, ::fcntl(sock, F_GETFL) | O_NONBLOCK);
  bool served = false;
  ClientLimits::Slot slot = clients_.connect(client);
  if (!slot) {
    refuse(sock, client);
  } else if (track(sock)) {
    SSL* ssl = tls_ ? tls_accept(tls_, sock, limits_.handshake_timeout_ms) : nullptr;
    if (!tls_ || ssl) served = serve(sock, ssl, client);
    if (ssl) {
      if (served) SSL_shutdown(ssl);  // one try: the close_notify alert, without waiting
      SSL_free(ssl);
      ERR_clear_error();
    }
    untrack(sock);
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return served;
}

bool ConnectionServer::serve(socket_t sock, SSL* ssl, const std::string& client) {
  ConnectionStream stream(sock, ssl, limits_.stream);
  Current here{this, &client, &stream, {}};
  current = &here;
  bool ok = true;
  for (size_t left = keep_alive_max_count_; left > 0 && svr_sock_ != INVALID_SOCKET; --left) {
    stream.begin_request();
    if (!stream.wait_for_request(static_cast<int>(keep_alive_timeout_sec_ * 1000))) break;
    bool closed = false;
    ok = process_request(stream, left == 1, closed, [ssl](httplib::Request& req) { req.ssl = ssl; });
    here.stream_slot.release();
    if (here.close) {
      drain(sock, 1000);
      break;
    }
    if (!ok || closed) break;
  }
  current = nullptr;
  return ok;
}

void ConnectionServer::refuse(socket_t sock, const std::string& client) {
  if (tls_) return;
  httplib::Response res;
  exhausted(res, 429, too_many("connections", client, limits_.max_connections_per_client,
                               "--max-connections-per-client"));
  std::string text = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
                     "Connection: close\r\nContent-Length: " + std::to_string(res.body.size()) + "\r\n\r\n" +
                     res.body;
  (void)!::send(sock, text.data(), text.size(), MSG_NOSIGNAL);  // fits the socket's buffer, or is lost
}

bool ConnectionServer::track(socket_t sock) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return false;
  serving_.insert(sock);
  return true;
}

void ConnectionServer::untrack(socket_t sock) {
  std::lock_guard<std::mutex> lock(mu_);
  serving_.erase(sock);
}

void ConnectionServer::shut_all() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  // Blocked reads and writes fail at once; a stream notices at its next is_writable().
  for (socket_t sock : serving_) ::shutdown(sock, SHUT_RDWR);
}

}  // namespace skiff::server
