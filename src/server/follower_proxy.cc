#include "server/follower_proxy.h"

#include <httplib.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "net/http_client.h"
#include "server/connections.h"
#include "server/http_util.h"
#include "server/routes.h"

namespace skiff::server {
namespace {

// Headers that describe one hop, not the request or answer: never passed on. The body's
// encoding is the follower's to choose with its own client (the leader is asked for none).
bool hop_by_hop(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const char* const kHop[] = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                                     "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
                                     "host", "content-length", "accept-encoding", "content-encoding", "expect"};
  for (const char* h : kHop) {
    if (name == h) return true;
  }
  return false;
}

// A streamed answer on its way from the leader to the client: the upstream request runs on
// a thread of its own and hands its bytes over here; the client's connection thread takes
// them. At most kWindow bytes wait, so a slow client slows the leader's stream instead of
// growing the follower's memory.
struct Pipe {
  static constexpr size_t kWindow = 1 << 20;
  std::mutex mu;
  std::condition_variable cv;
  bool head = false, done = false;
  net::Response response;  // the head; for a non-2xx answer, its whole body once done
  Status error;
  std::deque<std::string> chunks;
  size_t bytes = 0;
  std::atomic<bool> cancelled{false};
  std::thread upstream;

  void finish() {
    cancelled = true;
    cv.notify_all();
    if (upstream.joinable()) upstream.join();
  }
};

}  // namespace

struct LeaderProxy::Impl {
  ServerOptions options;
  std::unique_ptr<ConnectionServer> http;
  std::shared_ptr<net::HttpClient> client;
  Status tls;
  std::mutex mu;
  std::string leader;
  std::thread thread;  // serving, between start() and stop()
  std::atomic<bool> ended{false};

  std::string leader_url() {
    std::lock_guard<std::mutex> lock(mu);
    return leader;
  }

  static void unavailable(httplib::Response& res, const std::string& why) {
    res.set_header("Retry-After", "1");
    fail(res, Status(Code::kUnavailable, why));
  }

  net::Request upstream_request(const httplib::Request& req, const std::string& base) {
    net::Request out;
    out.method = req.method;
    std::string target = req.target.empty() ? req.path : req.target;
    out.url = base + target;
    for (const auto& [name, value] : req.headers) {
      if (!hop_by_hop(name)) out.headers.emplace_back(name, value);
    }
    out.headers.emplace_back("X-Forwarded-For", req.remote_addr);
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") out.body = req.body;
    out.max_body = size_t(1) << 30;
    return out;
  }

  static void pass_headers(const net::Response& from, httplib::Response& res) {
    res.status = from.status;
    for (const auto& [name, value] : from.headers) {
      if (!hop_by_hop(name) && name != "content-type") res.set_header(name, value);
    }
  }

  void forward(const httplib::Request& req, httplib::Response& res) {
    std::string base = leader_url();
    if (base.empty()) return unavailable(res, "this skiff server is a follower and no leader has been elected yet; retry");
    net::Request out = upstream_request(req, base);
    if (!route_of(req.path).stream) {
      auto r = client->send(out);
      if (!r) return unavailable(res, "the leader at " + base + " cannot be reached: " + r.status().message());
      pass_headers(*r, res);
      res.set_content(r->body, r->header("content-type").empty() ? "text/plain" : r->header("content-type"));
      return;
    }
    stream(std::move(out), base, res);
  }

  // A log, watch or event stream: the leader's head as soon as it comes, then its bytes as
  // they come, until either side ends it.
  void stream(net::Request out, const std::string& base, httplib::Response& res) {
    auto pipe = std::make_shared<Pipe>();
    out.on_head = [pipe](const net::Response& head) {
      std::lock_guard<std::mutex> lock(pipe->mu);
      pipe->response = head;
      pipe->head = true;
      pipe->cv.notify_all();
    };
    out.on_body = [pipe](const char* data, size_t size) {
      std::unique_lock<std::mutex> lock(pipe->mu);
      pipe->cv.wait(lock, [&] { return pipe->bytes < Pipe::kWindow || pipe->cancelled; });
      if (pipe->cancelled) return false;
      pipe->chunks.emplace_back(data, size);
      pipe->bytes += size;
      pipe->cv.notify_all();
      return true;
    };
    out.cancelled = [pipe] { return pipe->cancelled.load(); };
    out.max_body = 1 << 20;  // of an error's message
    pipe->upstream = std::thread([pipe, client = client, out = std::move(out)] {
      auto r = client->send(out);
      std::lock_guard<std::mutex> lock(pipe->mu);
      if (!r) {
        pipe->error = r.status();
      } else if (r->status < 200 || r->status >= 300) {
        pipe->response = *r;
        pipe->head = true;
      }
      pipe->done = true;
      pipe->cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(pipe->mu);
    pipe->cv.wait(lock, [&] { return pipe->head || pipe->done; });
    bool ok = pipe->head && pipe->response.status >= 200 && pipe->response.status < 300;
    if (!ok) {
      pipe->cv.wait(lock, [&] { return pipe->done; });
      lock.unlock();
      pipe->finish();
      if (!pipe->head) return unavailable(res, "the leader at " + base + " cannot be reached: " + pipe->error.message());
      pass_headers(pipe->response, res);
      std::string type = pipe->response.header("content-type");
      res.set_content(pipe->response.body, type.empty() ? "text/plain" : type);
      return;
    }
    pass_headers(pipe->response, res);
    std::string type = pipe->response.header("content-type");
    lock.unlock();
    res.set_chunked_content_provider(
        type,
        [pipe](size_t, httplib::DataSink& sink) {
          std::unique_lock<std::mutex> lock(pipe->mu);
          pipe->cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return !pipe->chunks.empty() || pipe->done; });
          while (!pipe->chunks.empty()) {
            std::string chunk = std::move(pipe->chunks.front());
            pipe->chunks.pop_front();
            pipe->bytes -= chunk.size();
            pipe->cv.notify_all();
            lock.unlock();
            if (!sink.write(chunk.data(), chunk.size())) return false;
            lock.lock();
          }
          if (pipe->done) {
            sink.done();  // the leader ended it (or went away: the client reconnects, as to a restarted server)
            return true;
          }
          lock.unlock();
          return sink.is_writable();
        },
        [pipe](bool) { pipe->finish(); });
  }

  void routes() {
    httplib::Server& s = *http;
    s.set_payload_max_length(options.max_body);
    s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      // As the leader does (api.cc): no brotli (cpp-httplib's is far too slow).
      auto& headers = const_cast<httplib::Request&>(req).headers;
      if (auto it = headers.find("Accept-Encoding"); it != headers.end() && it->second.find("br") != std::string::npos) {
        it->second = it->second.find("gzip") != std::string::npos ? "gzip" : "";
      }
      using R = httplib::Server::HandlerResponse;
      bool refused = req.method == "GET" && route_of(req.path).stream && !ConnectionServer::admit_stream(res);
      return refused ? R::Handled : R::Unhandled;
    });
    s.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      std::string base = leader_url();
      reply(res, 200, {{"role", "follower"}, {"leader", base.empty() ? Json(nullptr) : Json(base)}});
    });
    auto fwd = [this](const httplib::Request& req, httplib::Response& res) { forward(req, res); };
    s.Get(".*", fwd);
    s.Post(".*", fwd);
    s.Put(".*", fwd);
    s.Patch(".*", fwd);
    s.Delete(".*", fwd);
    s.Options(".*", fwd);
  }
};

LeaderProxy::LeaderProxy(const ServerOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  ConnectionLimits limits;
  limits.max_connections_per_client = options.max_connections_per_client;
  limits.max_streams_per_client = options.max_streams_per_client;
  limits.stream.max_body_bytes = options.max_body;
  impl_->http = std::make_unique<ConnectionServer>(limits);
  if (!options.tls_cert.empty() && !options.tls_key.empty()) impl_->tls = impl_->http->use_tls(options.tls_cert, options.tls_key);
  net::ClientOptions client;
  client.timeouts.connect_ms = 2000;  // a dead leader is found out quickly
  // The leader serves the same certificate as this server when they share it (the same
  // --tls-cert, or the self-signed one in a shared data directory).
  client.tls.ca_file = options.tls_cert;
  impl_->client = std::make_shared<net::HttpClient>(client);
  impl_->routes();
}

LeaderProxy::~LeaderProxy() { stop(); }

Status LeaderProxy::bind() {
  if (!impl_->tls) return impl_->tls;
  ServerOptions& o = impl_->options;
  int wanted = o.port;
  if (o.port == 0) {
    o.port = impl_->http->bind_to_any_port(o.host.c_str());
  } else if (!impl_->http->bind_to_port(o.host.c_str(), o.port)) {
    o.port = -1;
  }
  if (o.port <= 0) {
    return Status(Code::kUnavailable, "cannot listen on " + o.host + ":" + std::to_string(wanted) + " (in use, or not allowed)");
  }
  return Status::ok();
}

int LeaderProxy::port() const { return impl_->options.port; }

void LeaderProxy::start() {
  impl_->thread = std::thread([this] {
    impl_->http->listen_after_bind();
    impl_->ended = true;
  });
  // Until it listens, a stop() would be lost (cpp-httplib stops only a running server).
  while (!impl_->http->is_running() && !impl_->ended) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void LeaderProxy::stop() {
  impl_->http->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void LeaderProxy::set_leader(const std::string& url) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->leader = url;
  while (!impl_->leader.empty() && impl_->leader.back() == '/') impl_->leader.pop_back();
}

}  // namespace skiff::server
