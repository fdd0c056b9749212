// ConnectionStream: one client connection's bytes (plain TCP or TLS) as cpp-httplib reads
// requests from it and writes responses to it, with the limits a server facing untrusted
// clients needs, which cpp-httplib's own socket streams lack:
//   - a request's headers must be complete within `header_timeout_ms` of begin_request()
//     and hold at most `max_header_bytes` (cpp-httplib only times out each read, so a
//     client sending a byte every few seconds held its thread forever);
//   - a body may hold at most `max_body_bytes` as sent, whatever its framing (cpp-httplib
//     checks only Content-Length and read a chunked body whole into memory); a chunked
//     body's chunk sizes count too;
//   - is_writable() notices a client that went away (closed or reset) at once, so a stream
//     ends when its client does.
// Past a limit reads fail, and the request is answered or the connection dropped (see
// connections.cc).
//
// The socket must be non-blocking; the stream does not own it (nor the SSL object).
// One thread: the connection's.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <httplib.h>
#include <string>

namespace skiff::server {

class ConnectionStream : public httplib::Stream {
 public:
  struct Limits {
    int header_timeout_ms = 10000;
    size_t max_header_bytes = 64 << 10;
    size_t max_body_bytes = 8 << 20;
    int read_timeout_ms = 5000;   // each wait for more of a body
    int write_timeout_ms = 5000;  // each wait for the client to take more
  };

  ConnectionStream(int fd, SSL* ssl, const Limits& limits);

  // A request starts: the clock for its headers starts now; byte counts start again.
  void begin_request();
  // Waits up to `timeout_ms` for the first byte of a request; false when none came or the
  // client closed.
  bool wait_for_request(int timeout_ms);
  // The body being read went past max_body_bytes.
  bool body_refused() const { return body_refused_; }

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  int socket() const override { return fd_; }

 private:
  using Clock = std::chrono::steady_clock;
  // Reads more into buf_ (which is empty), waiting at most read_wait_ms() at a time; 0 at
  // EOF, -1 on error, timeout or when the headers are overdue.
  ssize_t fill();
  // How long a read may wait now: the read timeout, or less while headers are due.
  int read_wait_ms() const;
  // Counts the bytes about to be handed out; returns how many may be (fewer at the end
  // of the headers, so the body's bytes are counted as such), or -1 past a limit.
  ssize_t account(const char* p, size_t n);

  const int fd_;
  SSL* const ssl_;
  const Limits limits_;
  char buf_[16 << 10];
  size_t buf_pos_ = 0, buf_len_ = 0;
  bool in_headers_ = true;
  size_t line_len_ = 0;  // of the header line being read, without '\r'
  size_t header_bytes_ = 0, body_bytes_ = 0;
  bool body_refused_ = false;
  Clock::time_point headers_due_;
};

// The address and port at the other end of (or, with `local`, this end of) socket `fd`.
void socket_address(int fd, bool local, std::string* ip, int* port);

// The server's side of a TLS handshake on non-blocking socket `fd`, finished within
// `timeout_ms` however slowly the client sends; nullptr when it failed or took too long.
// The caller frees the SSL object.
SSL* tls_accept(SSL_CTX* ctx, int fd, int timeout_ms);

// Ends the sending side of `fd` and reads (discarding) what the client still sends, for up
// to `timeout_ms`: closing a socket with unread bytes resets the connection, and the
// client could lose the answer it was sent.
void drain(int fd, int timeout_ms);

}  // namespace skiff::server
