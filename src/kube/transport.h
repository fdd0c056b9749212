// Transport: the Kubernetes client's requests to one API server, over net::HttpClient.
// Adds the server's address, JSON headers, the body cap, and retries: 429 and the 5xx a
// busy or restarting server gives are tried again after Retry-After or a growing pause,
// within a bounded number of attempts and time; a connection failure is tried again for
// requests that are safe to repeat. A non-2xx answer becomes a Status (api_error.h).
//
// Thread-safety: call() and stream() may be used from several threads at once.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "net/http_client.h"
#include "util/status.h"

namespace skiff::kube {

struct ClusterConfig;

struct RetryPolicy {
  int max_attempts = 5;          // of one request, the first included
  long max_total_ms = 30000;     // waiting between attempts, all told
  long first_pause_ms = 200;     // doubles after each attempt...
  long max_pause_ms = 5000;      // ...up to this (a Retry-After may ask longer, within max_total_ms)
  long request_timeout_ms = 60000;  // one attempt, from connecting to the answer's last byte
};

struct ApiCall {
  std::string method = "GET";
  std::string path;            // "/api/v1/namespaces/x/configmaps?limit=1"
  std::optional<std::string> body;
  std::string content_type = "application/json";
  bool repeatable = true;      // safe to send twice (not a POST, not a JSON patch)
  std::string context;         // "create ConfigMap default/x": starts every error message
};

class Transport {
 public:
  Transport(const ClusterConfig& config, RetryPolicy retry = {});
  ~Transport();

  const std::string& server() const { return server_; }

  // Sends `call` (with retries) and returns its 2xx answer, or the error.
  Result<net::Response> call(const ApiCall& call);

  // Sends a GET whose 2xx body goes to `sink` as it arrives (a watch). No retries and no
  // total time limit; `cancelled` is polled about once a second. A non-2xx answer is
  // returned as a response (its body cut short), for the caller to judge.
  Result<net::Response> stream(const std::string& path, const net::BodySink& sink,
                               const std::function<bool()>& cancelled);

 private:
  std::string server_;
  RetryPolicy retry_;
  std::unique_ptr<net::HttpClient> http_;    // requests: a total time limit each
  std::unique_ptr<net::HttpClient> stream_;  // watches: open as long as they last
};

// Sleeps `ms` milliseconds in short steps, returning early (false) when `cancelled` says so.
bool pause_unless_cancelled(long ms, const std::function<bool()>& cancelled);

}  // namespace skiff::kube
