// HttpClient: skiff's one HTTP(S) client, over libcurl. Registries (runtime/registry.cc)
// and the CLI's API client use it; the Kubernetes API client, git over HTTP and S3 are to.
//
// A client holds the settings every request shares (TLS trust and identity, auth,
// timeouts, redirects, proxy) and a few idle libcurl handles, so that requests to the same
// host reuse their connections. A request names its method, URL, headers and body (a
// string, or a reader for uploads); its response comes back with status and headers, and
// the body in memory up to a cap or handed to a callback as it arrives (streams, files).
// Only http:// and https:// are spoken, on redirects too. A transport failure is a Status
// naming the server, what failed in libcurl's words, and how to fix it.
//
// Thread-safety: send() may be called from several threads at once; each call has a
// libcurl handle of its own. Callbacks run on the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace skiff::net {

// Trust and identity over TLS, each as a PEM file or as PEM data in memory (as kubeconfig's
// *-data fields give them); data wins over a file.
struct TlsOptions {
  std::string ca_file;  // PEM bundle that signs the server's certificate (besides the system CAs)
  std::string ca_pem;   // the same, as data
  std::string cert_file, cert_pem;  // client certificate (PEM), for servers that ask for one
  std::string key_file, key_pem;    // its private key (PEM)
  bool insecure_skip_verify = false;  // accept any certificate and name: for test servers only
};

// Signs every request with AWS Signature Version 4 (libcurl's CURLOPT_AWS_SIGV4), as S3
// and its peers want. libcurl hashes a string body; a reader's body (an upload) it does not
// see in advance: such a request sets x-amz-content-sha256 itself (UNSIGNED-PAYLOAD or the
// hash), which libcurl then signs as the payload's hash (runtime/artifact_s3.cc).
struct AwsSigV4 {
  std::string region;   // "us-east-1"
  std::string service;  // "s3"
  std::string access_key, secret_key;
  std::string session_token;  // temporary credentials only: sent as x-amz-security-token
};

struct Timeouts {
  long connect_ms = 10000;  // to set up the TCP connection (and TLS)
  long stall_s = 0;         // fail when not a byte moves for this long (to the second); 0 = never
                            // (watch streams and log follows are quiet for long)
  long total_ms = 0;        // the whole request; 0 = no limit
};

// Which part of a request failed, for a caller that knows how its user fixes it.
enum class Failure {
  kConnect,       // name not resolved, connection refused or unreachable
  kTlsHandshake,  // no TLS session (often: the server speaks plain HTTP)
  kTlsVerify,     // the server's certificate is not trusted or not for this name
  kTlsSetup,      // a local CA, certificate or key could not be used
  kTimeout,       // connect, stall or total timeout
  kTooLarge,      // the body in memory passed Request::max_body
  kRedirects,     // more redirects than ClientOptions::max_redirects
  kProtocol,      // a URL (or redirect) that is not http:// or https://
  kCancelled,     // Request::cancelled said so
  kBodyRead,      // the request body's reader failed
  kOther,
};

// Returns the "how to fix" part of a failure's message for the server at `host`
// ("host:port"); "" keeps the client's general advice.
using HintFn = std::function<std::string(Failure failure, const std::string& host)>;

struct ClientOptions {
  TlsOptions tls;
  std::string bearer_token;        // Authorization: Bearer ... (unless a request sets Authorization)
  std::string username, password;  // Authorization: Basic ..., when username is set
  std::optional<AwsSigV4> aws_sigv4;
  Timeouts timeouts;
  int max_redirects = 0;  // 0: a 3xx is returned as it is; else followed up to this many times
  std::string proxy;      // "http://proxy:3128"; "" = none, http_proxy and friends ignored...
  bool proxy_from_env = false;  // ...unless this is set (then libcurl reads them)
  std::string user_agent = "skiff";
  HintFn hint;
};

using Headers = std::vector<std::pair<std::string, std::string>>;
// Fills `buffer` with up to `capacity` bytes of a request body: returns how many, 0 at the
// end, or -1 to abort the request.
using BodyReader = std::function<long(char* buffer, size_t capacity)>;
// Takes the next bytes of a 2xx response's body; false stops the transfer (not an error).
using BodySink = std::function<bool(const char* data, size_t size)>;

struct Response;

struct Request {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::optional<std::string> body;
  BodyReader body_reader;   // instead of `body`, for uploads
  int64_t body_size = -1;   // of the reader's body; -1 = unknown (sent chunked)
  BodySink on_body;         // 2xx bodies go here instead of Response::body
  // Called once the final response's status and headers have arrived, before its body
  // (a proxy passes them on before a stream's first byte).
  std::function<void(const Response&)> on_head;
  // A body kept in memory larger than this fails the request (Failure::kTooLarge); with
  // on_body, a non-2xx body (an error's message) is cut to this size instead.
  size_t max_body = 8 << 20;
  // Polled while the request runs (at least about once a second, even on an idle stream);
  // true aborts it with Failure::kCancelled.
  std::function<bool()> cancelled;
};

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // of the final response; lower-case names, last value wins
  std::string body;
  bool stopped = false;  // on_body returned false

  // The header's value, or "" (`name` in lower case).
  std::string header(const std::string& name) const;
};

class HttpClient {
 public:
  explicit HttpClient(ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `request` and waits for its response. Any HTTP status is a response; a failure
  // to get one is an error: kDeadline for a timeout, kInvalid for a malformed URL, kFailed
  // for a body over the cap, a cancel or a failed reader, else kUnavailable.
  Result<Response> send(const Request& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "https://host:port/path?q" -> "host:port".
std::string host_of_url(const std::string& url);
// Percent-encodes every byte but letters, digits and -._~ (a query value, a path segment).
std::string url_escape(const std::string& s);

}  // namespace skiff::net
