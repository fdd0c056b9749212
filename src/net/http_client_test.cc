// HttpClient against real servers on 127.0.0.1: cpp-httplib over plain HTTP, and over TLS
// with a CA, server and client certificates the suite makes with the openssl CLI.
#include "net/http_client.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace skiff::net {
namespace {

std::atomic<bool> stopping{false};

// Sleeps up to `ms`, less when the suite is ending.
void nap(int ms) {
  for (int i = 0; i < ms / 10 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void routes(httplib::Server& s) {
  s.Get(R"(/status/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    res.status = std::stoi(req.matches[1]);
    res.set_header("X-Reply", "yes");
    res.set_content(std::string(2000, 'e'), "text/plain");
  });
  s.Get(R"(/header/(.+))", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.get_header_value(req.matches[1].str().c_str()), "text/plain");
  });
  s.Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(1 << 20, 'x'), "text/plain");
  });
  s.Get("/peer", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(std::to_string(req.remote_port), "text/plain");
  });
  s.Get("/lines", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t, httplib::DataSink& sink) {
      for (int i = 0; i < 5; ++i) {
        std::string line = "line " + std::to_string(i) + "\n";
        sink.write(line.data(), line.size());
        nap(10);
      }
      sink.done();
      return true;
    });
  });
  s.Get("/forever", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t, httplib::DataSink& sink) {
      while (!stopping && sink.write("tick\n", 5)) nap(20);
      return false;
    });
  });
  // Headers and a first line, then nothing for up to 3 s.
  s.Get("/stall", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t, httplib::DataSink& sink) {
      sink.write("start\n", 6);
      nap(3000);
      sink.done();
      return true;
    });
  });
  s.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    nap(3000);
    res.set_content("late", "text/plain");
  });
  s.Get(R"(/redirect/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    int n = std::stoi(req.matches[1]);
    if (n == 0) return res.set_content("done", "text/plain");
    res.set_redirect("/redirect/" + std::to_string(n - 1));
  });
  s.Get("/to-ftp", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("ftp://127.0.0.1:1/x"); });
  auto upload = [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Method", req.method);
    res.set_header("X-Chunked", req.get_header_value("Transfer-Encoding"));
    res.set_content(req.body, "application/octet-stream");
  };
  s.Put("/upload", upload);
  s.Post("/upload", upload);
  s.Patch("/upload", upload);
}

// Serves `server` on a free port of 127.0.0.1 from a thread of its own.
class Serving {
 public:
  explicit Serving(std::unique_ptr<httplib::Server> server) : server_(std::move(server)) {
    server_->set_keep_alive_timeout(1);
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
  }
  ~Serving() {
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  int port_ = -1;
  std::thread thread_;
};

class HttpClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stopping = false;
    dir_ = new std::string(::testing::TempDir() + "/http-client-test-" + std::to_string(::getpid()));
    make_certificates(*dir_);
    auto plain = std::make_unique<httplib::Server>();
    routes(*plain);
    plain_ = new Serving(std::move(plain));
    std::string d = *dir_;
    auto tls = std::make_unique<httplib::SSLServer>((d + "/server.pem").c_str(), (d + "/server.key").c_str(),
                                                     (d + "/ca.pem").c_str());
    ASSERT_TRUE(tls->is_valid()) << "the test certificates in " << d << " do not load";
    tls->Get("/hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("hello over tls", "text/plain");
    });
    tls_ = new Serving(std::move(tls));
  }

  static void TearDownTestSuite() {
    stopping = true;
    delete plain_;
    delete tls_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  // A CA, a certificate for 127.0.0.1 and a client certificate, all signed by it.
  static void make_certificates(const std::string& d) {
    std::string q = " >/dev/null 2>&1";
    std::string key = "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj ";
    std::string script =
        "cd " + d + " && " + key + "/CN=test-ca -x509 -days 1 -keyout ca.key -out ca.pem" + q +
        " && " + key + "/CN=127.0.0.1 -keyout server.key -out server.csr" + q +
        " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile server.ext"
        " -out server.pem" + q + " && " + key + "/CN=client -keyout client.key -out client.csr" + q +
        " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile client.ext"
        " -out client.pem" + q;
    ASSERT_EQ(std::system(("mkdir -p " + d).c_str()), 0);
    std::ofstream(d + "/server.ext") << "subjectAltName=IP:127.0.0.1\n";
    std::ofstream(d + "/client.ext") << "extendedKeyUsage=clientAuth\n";
    ASSERT_EQ(std::system(script.c_str()), 0) << script;
  }

  static std::string url(const std::string& path) { return "http://127.0.0.1:" + std::to_string(plain_->port()) + path; }
  static std::string tls_url(const std::string& path) {
    return "https://127.0.0.1:" + std::to_string(tls_->port()) + path;
  }
  static std::string file(const std::string& name) { return *dir_ + "/" + name; }

  static Result<Response> get(const std::string& u, ClientOptions options = {}) {
    Request req;
    req.url = u;
    return HttpClient(std::move(options)).send(req);
  }

  static std::string* dir_;
  static Serving* plain_;
  static Serving* tls_;
};

std::string* HttpClientTest::dir_ = nullptr;
Serving* HttpClientTest::plain_ = nullptr;
Serving* HttpClientTest::tls_ = nullptr;

TEST_F(HttpClientTest, AnyStatusIsAResponseWithItsHeadersAndBody) {
  for (int code : {200, 204, 404, 500}) {
    auto r = get(url("/status/" + std::to_string(code)));
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_EQ(r->status, code);
    EXPECT_EQ(r->header("x-reply"), "yes");
    EXPECT_EQ(r->body.size(), code == 204 ? 0u : 2000u);
  }
}

TEST_F(HttpClientTest, HeadAsksForHeadersOnly) {
  Request req;
  req.method = "HEAD";
  req.url = url("/big");
  auto r = HttpClient().send(req);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-length"), std::to_string(1 << 20));
  EXPECT_EQ(r->body, "");
}

TEST_F(HttpClientTest, SendsHeadersAndAuth) {
  HttpClient client;
  Request req;
  req.url = url("/header/X-Custom");
  req.headers = {{"X-Custom", "value 1"}};
  auto r = client.send(req);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->body, "value 1");

  ClientOptions bearer;
  bearer.bearer_token = "t0ken";
  EXPECT_EQ(get(url("/header/Authorization"), bearer)->body, "Bearer t0ken");
  ClientOptions basic;
  basic.username = "user";
  basic.password = "pa:ss";
  EXPECT_EQ(get(url("/header/Authorization"), basic)->body, "Basic dXNlcjpwYTpzcw==");
  // A request's own Authorization wins over the client's.
  req.url = url("/header/Authorization");
  req.headers = {{"Authorization", "Bearer mine"}};
  EXPECT_EQ(HttpClient(bearer).send(req)->body, "Bearer mine");
}

TEST_F(HttpClientTest, UploadsAStringOrAReadersBody) {
  HttpClient client;
  Request req;
  req.method = "POST";
  req.url = url("/upload");
  req.body = "{\"a\": 1}";
  auto r = client.send(req);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->header("x-method"), "POST");
  EXPECT_EQ(r->body, "{\"a\": 1}");

  std::string data;
  for (int i = 0; i < 30000; ++i) data += static_cast<char>('a' + i % 26);
  for (int64_t size : {int64_t{-1}, static_cast<int64_t>(data.size())}) {
    for (const char* method : {"PUT", "PATCH"}) {
      size_t offset = 0;
      Request up;
      up.method = method;
      up.url = url("/upload");
      up.body_size = size;
      up.body_reader = [&](char* buffer, size_t capacity) -> long {
        size_t n = std::min(capacity, std::min<size_t>(1000, data.size() - offset));  // many small reads
        std::copy(data.data() + offset, data.data() + offset + n, buffer);
        offset += n;
        return static_cast<long>(n);
      };
      auto sent = client.send(up);
      ASSERT_TRUE(sent.is_ok()) << sent.status().message();
      EXPECT_EQ(sent->header("x-method"), method);
      EXPECT_EQ(sent->header("x-chunked"), size < 0 ? "chunked" : "");
      EXPECT_EQ(sent->body, data) << method << " of size " << size;
    }
  }
  Request broken;
  broken.method = "PUT";
  broken.url = url("/upload");
  broken.body_reader = [](char*, size_t) -> long { return -1; };
  auto failed = client.send(broken);
  ASSERT_FALSE(failed.is_ok());
  EXPECT_NE(failed.status().message().find("http://127.0.0.1:" + std::to_string(plain_->port()) +
                                           ": the request body could not be read"),
            std::string::npos)
      << failed.status().message();
  EXPECT_EQ(failed.status().code(), Code::kFailed);
}

TEST_F(HttpClientTest, OnHeadSeesStatusAndHeadersBeforeTheBody) {
  std::vector<std::string> seen;
  Request req;
  req.url = url("/lines");
  req.on_head = [&](const Response& head) {
    seen.push_back("head " + std::to_string(head.status) + " " + head.header("content-type"));
  };
  req.on_body = [&](const char*, size_t) {
    if (seen.empty() || seen.back() != "body") seen.push_back("body");
    return true;
  };
  auto r = HttpClient().send(req);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(seen, (std::vector<std::string>{"head 200 text/plain", "body"}));

  // An error's head too, once.
  seen.clear();
  req.url = url("/status/404");
  r = HttpClient().send(req);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(seen, (std::vector<std::string>{"head 404 text/plain"}));
}

TEST_F(HttpClientTest, StreamsA2xxBodyToTheCallback) {
  std::string all;
  Request req;
  req.url = url("/lines");
  req.on_body = [&](const char* data, size_t n) {
    all.append(data, n);
    return true;
  };
  auto r = HttpClient().send(req);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(all, "line 0\nline 1\nline 2\nline 3\nline 4\n");
  EXPECT_EQ(r->body, "");
  EXPECT_FALSE(r->stopped);

  // The callback may stop the transfer: that is no error.
  int calls = 0;
  req.url = url("/forever");
  req.on_body = [&](const char*, size_t) { return ++calls < 3; };
  r = HttpClient().send(req);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_TRUE(r->stopped);
  EXPECT_EQ(calls, 3);

  // An error's body is its message, kept in the response (cut to max_body), not streamed.
  req.url = url("/status/404");
  req.max_body = 100;
  calls = 0;
  r = HttpClient().send(req);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(r->body, std::string(100, 'e'));
}

TEST_F(HttpClientTest, ABodyOverTheCapFails) {
  Request req;
  req.url = url("/big");
  req.max_body = 1000;
  auto r = HttpClient().send(req);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kFailed);
  EXPECT_NE(r.status().message().find("response larger than 1000 bytes"), std::string::npos) << r.status().message();
  req.max_body = 1 << 20;
  r = HttpClient().send(req);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->body.size(), 1u << 20);
}

TEST_F(HttpClientTest, ReusesConnections) {
  HttpClient client;
  Request req;
  req.url = url("/peer");
  auto first = client.send(req);
  auto second = client.send(req);
  ASSERT_TRUE(first.is_ok() && second.is_ok());
  EXPECT_EQ(first->body, second->body) << "the second request came from another client port";
}

TEST_F(HttpClientTest, RedirectsAreLimited) {
  auto r = get(url("/redirect/3"));  // not followed by default
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(r->header("location"), "/redirect/2");

  ClientOptions follow;
  follow.max_redirects = 3;
  r = get(url("/redirect/3"), follow);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "done");

  follow.max_redirects = 2;
  r = get(url("/redirect/3"), follow);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("redirected more than 2 times"), std::string::npos) << r.status().message();

  r = get(url("/to-ftp"), follow);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("only http:// and https://"), std::string::npos) << r.status().message();
}

TEST_F(HttpClientTest, TimeoutsEndStalledAndSlowRequests) {
  ClientOptions stall;
  stall.timeouts.stall_s = 1;
  auto r = get(url("/stall"), stall);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kDeadline) << r.status().message();
  EXPECT_NE(r.status().message().find("no byte moved for 1 s"), std::string::npos) << r.status().message();
  stall.timeouts.stall_s = 10;  // a slow but steady stream is no stall
  Request lines;
  lines.url = url("/lines");
  EXPECT_TRUE(HttpClient(stall).send(lines).is_ok());

  ClientOptions total;
  total.timeouts.total_ms = 300;
  r = get(url("/slow"), total);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kDeadline) << r.status().message();
  EXPECT_NE(r.status().message().find("127.0.0.1:" + std::to_string(plain_->port())), std::string::npos);
}

TEST_F(HttpClientTest, CancelEndsALongStream) {
  int lines = 0;
  Request req;
  req.url = url("/forever");
  req.on_body = [&](const char*, size_t) { return ++lines, true; };
  req.cancelled = [&] { return lines >= 3; };
  auto r = HttpClient().send(req);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kFailed);
  EXPECT_NE(r.status().message().find("cancelled"), std::string::npos) << r.status().message();

  // From another thread, on a stream that sends nothing.
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  req.url = url("/stall");
  req.cancelled = [&] { return cancel.load(); };
  r = HttpClient().send(req);
  canceller.join();
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("cancelled"), std::string::npos) << r.status().message();
}

TEST_F(HttpClientTest, AConnectionRefusedNamesTheServerAndWhatToCheck) {
  auto r = get("http://127.0.0.1:1/x");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("http://127.0.0.1:1: Couldn't connect to server"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("check that the server runs"), std::string::npos);

  ClientOptions hinted;
  hinted.hint = [](Failure f, const std::string& host) {
    return f == Failure::kConnect ? "start " + host + " first" : "";
  };
  r = get("http://127.0.0.1:1/x", hinted);
  EXPECT_NE(r.status().message().find("; start 127.0.0.1:1 first"), std::string::npos) << r.status().message();
  EXPECT_EQ(get("ftp://127.0.0.1/x").status().code(), Code::kUnavailable);
}

TEST_F(HttpClientTest, NoProxyUnlessAskedFor) {
  ::setenv("http_proxy", "http://127.0.0.1:1", 1);
  auto direct = get(url("/status/200"));
  ClientOptions env;
  env.proxy_from_env = true;
  auto proxied = get(url("/status/200"), env);
  ::unsetenv("http_proxy");
  ASSERT_TRUE(direct.is_ok()) << direct.status().message();
  ASSERT_FALSE(proxied.is_ok());
  EXPECT_NE(proxied.status().message().find("Couldn't connect"), std::string::npos) << proxied.status().message();
}

TEST_F(HttpClientTest, TlsTrustsTheGivenCaAndSendsTheClientCertificate) {
  ClientOptions files;
  files.tls.ca_file = file("ca.pem");
  files.tls.cert_file = file("client.pem");
  files.tls.key_file = file("client.key");
  auto r = get(tls_url("/hello"), files);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->body, "hello over tls");

  ClientOptions data;  // as kubeconfig's certificate-authority-data and friends
  data.tls.ca_pem = read_all(file("ca.pem"));
  data.tls.cert_pem = read_all(file("client.pem"));
  data.tls.key_pem = read_all(file("client.key"));
  r = get(tls_url("/hello"), data);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->body, "hello over tls");

  ClientOptions skip;
  skip.tls.insecure_skip_verify = true;
  skip.tls.cert_pem = data.tls.cert_pem;
  skip.tls.key_pem = data.tls.key_pem;
  r = get(tls_url("/hello"), skip);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
}

TEST_F(HttpClientTest, TlsFailuresSayWhatToFix) {
  ClientOptions untrusted;  // the system CAs only
  untrusted.tls.cert_file = file("client.pem");
  untrusted.tls.key_file = file("client.key");
  auto r = get(tls_url("/hello"), untrusted);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find(tls_url("") + ": "), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("trust the CA that signed its certificate"), std::string::npos)
      << r.status().message();

  ClientOptions no_cert;  // the server asks for a client certificate
  no_cert.tls.ca_file = file("ca.pem");
  EXPECT_FALSE(get(tls_url("/hello"), no_cert).is_ok());

  ClientOptions plain;  // TLS to a plain-HTTP server
  r = get("https://127.0.0.1:" + std::to_string(plain_->port()) + "/status/200", plain);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("if the server speaks plain HTTP, use an http:// address"), std::string::npos)
      << r.status().message();

  ClientOptions missing;
  missing.tls.ca_file = file("no-such-ca.pem");
  r = get(tls_url("/hello"), missing);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("check the CA, client certificate and key"), std::string::npos)
      << r.status().message();
}

TEST_F(HttpClientTest, AwsSigV4SignsRequests) {
  ClientOptions s3;
  s3.aws_sigv4 = AwsSigV4{"eu-west-1", "s3", "AKIDEXAMPLE", "secret", "session"};
  HttpClient client(s3);
  Request req;
  req.url = url("/header/Authorization");
  auto r = client.send(req);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->body.rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 0), 0u) << r->body;
  EXPECT_NE(r->body.find("/eu-west-1/s3/aws4_request"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("Signature="), std::string::npos) << r->body;
  req.url = url("/header/x-amz-security-token");
  EXPECT_EQ(client.send(req)->body, "session");
}

TEST(UrlEscape, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(url_escape("app in (a,b)&x=y~._-"), "app%20in%20%28a%2Cb%29%26x%3Dy~._-");
  EXPECT_EQ(host_of_url("https://user:pw@host:5000/v2/x?y"), "host:5000");
  EXPECT_EQ(host_of_url("http://host"), "host");
}

}  // namespace
}  // namespace skiff::net
