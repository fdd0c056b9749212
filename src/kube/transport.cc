#include "kube/transport.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "kube/api_error.h"
#include "kube/kubeconfig.h"

namespace skiff::kube {
namespace {

constexpr size_t kMaxBody = 64 << 20;  // a list of many objects
constexpr size_t kMaxErrorBody = 64 << 10;

net::ClientOptions http_options(const ClusterConfig& config, long total_ms) {
  net::ClientOptions o;
  o.tls = config.tls;
  o.bearer_token = config.bearer_token;
  o.username = config.username;
  o.password = config.password;
  o.timeouts.total_ms = total_ms;
  o.user_agent = "skiff";
  std::string source = config.source;
  o.hint = [source](net::Failure failure, const std::string& host) -> std::string {
    switch (failure) {
      case net::Failure::kConnect:
        return "check that the cluster's API server runs at " + host + " (from " + source + ")";
      case net::Failure::kTlsVerify:
        return "the server's certificate is not signed by the CA in " + source;
      case net::Failure::kTlsSetup:
        return "check the CA, client certificate and key in " + source;
      default:
        return "";
    }
  };
  return o;
}

}  // namespace

bool pause_unless_cancelled(long ms, const std::function<bool()>& cancelled) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    if (cancelled && cancelled()) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(100)));
  }
  return !(cancelled && cancelled());
}

Transport::Transport(const ClusterConfig& config, RetryPolicy retry)
    : server_(config.server),
      retry_(retry),
      http_(std::make_unique<net::HttpClient>(http_options(config, retry.request_timeout_ms))),
      stream_(std::make_unique<net::HttpClient>(http_options(config, 0))) {}

Transport::~Transport() = default;

Result<net::Response> Transport::call(const ApiCall& call) {
  net::Request req;
  req.method = call.method;
  req.url = server_ + call.path;
  req.headers = {{"Accept", "application/json, */*"}};  // */*: text subresources (a log)
  if (call.body) {
    req.body = call.body;
    req.headers.emplace_back("Content-Type", call.content_type);
  }
  req.max_body = kMaxBody;

  long waited_ms = 0;
  long pause_ms = retry_.first_pause_ms;
  for (int attempt = 1;; ++attempt) {
    Result<net::Response> got = http_->send(req);
    long wait_ms = -1;  // -1: no retry
    if (!got) {
      if (got.status().code() == Code::kUnavailable && call.repeatable) wait_ms = pause_ms;
    } else if (got->status >= 200 && got->status < 300) {
      return got;
    } else if (is_retriable(got->status) && (call.repeatable || got->status == 429 || got->status == 503)) {
      wait_ms = retry_after_ms(got->header("retry-after"));  // the server's word, within the time left
      if (wait_ms < 0) wait_ms = pause_ms;
    }
    bool retry = wait_ms >= 0 && attempt < retry_.max_attempts && waited_ms + wait_ms <= retry_.max_total_ms;
    if (!retry) {
      if (!got) return got.status().with_context(call.context);
      Status s = api_error(got->status, got->body.substr(0, kMaxErrorBody), call.context);
      if (attempt > 1) s = Status(s.code(), s.message() + " (after " + std::to_string(attempt) + " attempts)");
      return s;
    }
    pause_unless_cancelled(wait_ms, nullptr);
    waited_ms += wait_ms;
    pause_ms = std::min(pause_ms * 2, retry_.max_pause_ms);
  }
}

Result<net::Response> Transport::stream(const std::string& path, const net::BodySink& sink,
                                        const std::function<bool()>& cancelled) {
  net::Request req;
  req.url = server_ + path;
  req.headers = {{"Accept", "application/json, */*"}};  // */*: text subresources (a log)
  req.on_body = sink;
  req.max_body = kMaxErrorBody;
  req.cancelled = cancelled;
  return stream_->send(req);
}

}  // namespace skiff::kube
