#include "server/connection_stream.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "server/tls.h"

namespace skiff::server {
namespace {

// A connected pair: `server` (non-blocking, as the stream needs) and `client`.
struct Pair {
  int server = -1, client = -1;
  Pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    server = fds[0];
    client = fds[1];
    ::fcntl(server, F_SETFL, ::fcntl(server, F_GETFL) | O_NONBLOCK);
  }
  ~Pair() {
    ::close(server);
    if (client >= 0) ::close(client);
  }
  void send(const std::string& s) const { ASSERT_EQ(::write(client, s.data(), s.size()), ssize_t(s.size())); }
};

// Reads as cpp-httplib reads headers: a byte at a time, up to and including the empty line.
std::string read_headers(ConnectionStream& stream) {
  std::string out;
  char c;
  while (out.size() < 4 || out.compare(out.size() - 4, 4, "\r\n\r\n") != 0) {
    if (stream.read(&c, 1) != 1) return out + "<failed>";
    out += c;
  }
  return out;
}

// Reads up to `n` bytes; stops at a failure.
std::string read_body(ConnectionStream& stream, size_t n) {
  std::string out;
  char buf[4096];
  while (out.size() < n) {
    ssize_t got = stream.read(buf, std::min(sizeof buf, n - out.size()));
    if (got <= 0) break;
    out.append(buf, size_t(got));
  }
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST(ConnectionStream, HandsOutHeadersThenBodyOfEachRequest) {
  Pair p;
  ConnectionStream::Limits limits;
  limits.max_body_bytes = 10;
  ConnectionStream stream(p.server, nullptr, limits);
  p.send("POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789"
         "POST /b HTTP/1.1\r\nContent-Length: 10\r\n\r\nabcdefghij");
  EXPECT_EQ(read_headers(stream), "POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n");
  EXPECT_EQ(read_body(stream, 10), "0123456789");
  stream.begin_request();  // the next request's body counts from zero again
  EXPECT_EQ(read_headers(stream), "POST /b HTTP/1.1\r\nContent-Length: 10\r\n\r\n");
  EXPECT_EQ(read_body(stream, 10), "abcdefghij");
  EXPECT_FALSE(stream.body_refused());
}

TEST(ConnectionStream, ABodyPastTheLimitIsRefusedWhateverItsFraming) {
  Pair p;
  ConnectionStream::Limits limits;
  limits.max_body_bytes = 1000;
  ConnectionStream stream(p.server, nullptr, limits);
  std::string chunk = "64\r\n" + std::string(100, 'x') + "\r\n";
  std::string request = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) request += chunk;  // 2,000 bytes of data
  p.send(request);
  read_headers(stream);
  std::string body = read_body(stream, 100000);
  EXPECT_LE(body.size(), 1000u);
  EXPECT_TRUE(stream.body_refused());
}

TEST(ConnectionStream, HeadersAreDueWithinTheDeadline) {
  Pair p;
  ConnectionStream::Limits limits;
  limits.header_timeout_ms = 300;
  ConnectionStream stream(p.server, nullptr, limits);
  auto start = std::chrono::steady_clock::now();
  std::thread drip([&] {  // a byte every 50 ms, each well within any read timeout
    for (char c : std::string("GET / HTTP/1.1\r\nHost: a-very-long-host-name\r\n\r\n")) {
      if (::send(p.client, &c, 1, MSG_NOSIGNAL) != 1) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  std::string got = read_headers(stream);
  EXPECT_NE(got.find("<failed>"), std::string::npos) << got;
  EXPECT_LT(seconds_since(start), 2.0);
  ::shutdown(p.client, SHUT_RDWR);
  drip.join();
}

TEST(ConnectionStream, HeadersHaveAMaximumSize) {
  Pair p;
  ConnectionStream::Limits limits;
  limits.max_header_bytes = 100;
  ConnectionStream stream(p.server, nullptr, limits);
  p.send("GET / HTTP/1.1\r\nX-Big: " + std::string(200, 'a') + "\r\n\r\n");
  std::string got = read_headers(stream);
  EXPECT_EQ(got.size(), 100u + std::string("<failed>").size());
}

TEST(ConnectionStream, NoticesAClientThatWentAway) {
  Pair p;
  ConnectionStream stream(p.server, nullptr, {});
  EXPECT_TRUE(stream.is_writable());
  p.send("G");  // the start of a next request is not a goodbye
  EXPECT_TRUE(stream.is_writable());
  ::close(p.client);  // with that byte still unread
  p.client = -1;
  EXPECT_FALSE(stream.is_writable());
}

TEST(ConnectionStream, WaitsForTheNextRequestOnlyAsLongAsAsked) {
  Pair p;
  ConnectionStream stream(p.server, nullptr, {});
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(stream.wait_for_request(100));
  EXPECT_LT(seconds_since(start), 2.0);
  p.send("GET");
  EXPECT_TRUE(stream.wait_for_request(100));
}

// TLS: a handshake that never completes is given up at the deadline; one that does gives
// a stream that reads and writes through it.
class TlsConnectionStream : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/skiff-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    std::string cert, key;
    ASSERT_TRUE(ensure_self_signed(dir_, &cert, &key));
    ctx_ = SSL_CTX_new(TLS_server_method());
    ASSERT_EQ(SSL_CTX_use_certificate_chain_file(ctx_, cert.c_str()), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM), 1);
  }
  void TearDown() override {
    SSL_CTX_free(ctx_);
    std::system(("rm -rf " + dir_).c_str());
  }
  std::string dir_;
  SSL_CTX* ctx_ = nullptr;
};

TEST_F(TlsConnectionStream, ASlowHandshakeIsGivenUpAtTheDeadline) {
  Pair p;
  p.send(std::string("\x16\x03\x01", 3));  // the start of a ClientHello, and no more
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(tls_accept(ctx_, p.server, 300), nullptr);
  EXPECT_LT(seconds_since(start), 2.0);
}

TEST_F(TlsConnectionStream, ReadsAndWritesThroughTls) {
  Pair p;
  std::string answer;
  std::thread client([&] {
    SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
    SSL* ssl = SSL_new(cctx);
    SSL_set_fd(ssl, p.client);
    if (SSL_connect(ssl) == 1) {
      std::string req = "GET / HTTP/1.1\r\n\r\n";
      SSL_write(ssl, req.data(), int(req.size()));
      char buf[64];
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n > 0) answer.assign(buf, size_t(n));
    }
    SSL_free(ssl);
    SSL_CTX_free(cctx);
  });
  SSL* ssl = tls_accept(ctx_, p.server, 5000);
  ASSERT_NE(ssl, nullptr);
  ConnectionStream stream(p.server, ssl, {});
  EXPECT_EQ(read_headers(stream), "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(stream.write("hello", 5), 5);
  client.join();
  EXPECT_EQ(answer, "hello");
  SSL_free(ssl);
}

}  // namespace skiff::server
