#include "net/http_client.h"

#include <curl/curl.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <mutex>

#include "util/base64.h"
#include "util/strings.h"

namespace skiff::net {
namespace {

constexpr size_t kMaxIdleHandles = 4;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "https://host:port/path" -> "https://host:port".
std::string origin_of(const std::string& url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  return url.substr(0, end);
}

using Clock = std::chrono::steady_clock;

// What one send() keeps while libcurl calls back.
struct Transfer {
  const Request* request;
  Response* response;
  long stall_s = 0;
  bool overflow = false;  // the body passed max_body
  bool stalled = false;   // no byte moved for stall_s
  bool read_failed = false;  // the body reader gave up
  curl_off_t moved = 0;   // bytes down and up, at the last progress call
  Clock::time_point last_move = Clock::now();
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (starts_with(line, "HTTP/")) {  // a new response (after a redirect or a 100 Continue)
    t->response->headers.clear();
    t->response->body.clear();
    size_t sp = line.find(' ');
    if (sp != std::string::npos) t->response->status = std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
    return size * n;
  }
  // The blank line that ends a final response's headers (not a 100 Continue's).
  if (trim(line).empty() && t->response->status >= 200 && t->request->on_head) {
    t->request->on_head(*t->response);
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    t->response->headers[lower(std::string(trim(line.substr(0, colon))))] = std::string(trim(line.substr(colon + 1)));
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  const Request& req = *t->request;
  std::string& body = t->response->body;
  bool success = t->response->status >= 200 && t->response->status < 300;
  if (req.on_body && success) {
    if (req.on_body(data, len)) return len;
    t->response->stopped = true;
    return 0;
  }
  size_t room = req.max_body - std::min(body.size(), req.max_body);
  if (len > room) {
    if (req.on_body) {  // an error's message: its start is enough
      body.append(data, room);
      return len;
    }
    t->overflow = true;
    return 0;
  }
  body.append(data, len);
  return len;
}

size_t on_read(char* buffer, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  long got = t->request->body_reader(buffer, size * n);
  if (got >= 0) return static_cast<size_t>(got);
  t->read_failed = true;
  return CURL_READFUNC_ABORT;
}

// libcurl calls this often while bytes move and about once a second when none do. Its
// own low-speed limit averages over several seconds, which blurs "no byte for N s".
int on_progress(void* user, curl_off_t, curl_off_t down, curl_off_t, curl_off_t up) {
  auto* t = static_cast<Transfer*>(user);
  if (t->request->cancelled && t->request->cancelled()) return 1;
  if (t->stall_s <= 0) return 0;
  Clock::time_point now = Clock::now();
  if (down + up != t->moved) {
    t->moved = down + up;
    t->last_move = now;
  } else if (now - t->last_move >= std::chrono::seconds(t->stall_s)) {
    t->stalled = true;
    return 1;
  }
  return 0;
}

Failure failure_of(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return Failure::kConnect;
    case CURLE_SSL_CONNECT_ERROR:
      return Failure::kTlsHandshake;
    case CURLE_PEER_FAILED_VERIFICATION:
      return Failure::kTlsVerify;
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
      return Failure::kTlsSetup;
    case CURLE_OPERATION_TIMEDOUT:
      return Failure::kTimeout;
    case CURLE_TOO_MANY_REDIRECTS:
      return Failure::kRedirects;
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Failure::kProtocol;
    case CURLE_ABORTED_BY_CALLBACK:
      return Failure::kCancelled;
    case CURLE_READ_ERROR:
      return Failure::kBodyRead;
    default:
      return Failure::kOther;
  }
}

std::string default_hint(Failure failure, const ClientOptions& options) {
  switch (failure) {
    case Failure::kConnect:
      return "check that the server runs and that the host and port are right";
    case Failure::kTlsHandshake:
      return "if the server speaks plain HTTP, use an http:// address";
    case Failure::kTlsVerify:
      return "trust the CA that signed its certificate";
    case Failure::kTlsSetup:
      return "check the CA, client certificate and key (PEM files or data)";
    case Failure::kRedirects:
      return "the server redirected more than " + std::to_string(options.max_redirects) + " times";
    case Failure::kProtocol:
      return "only http:// and https:// are spoken, on redirects too";
    default:
      return "";
  }
}

Code code_of(Failure failure, CURLcode code) {
  if (code == CURLE_URL_MALFORMAT) return Code::kInvalid;
  switch (failure) {
    case Failure::kTimeout:
      return Code::kDeadline;
    case Failure::kTooLarge:
    case Failure::kCancelled:
    case Failure::kBodyRead:
      return Code::kFailed;
    default:
      return Code::kUnavailable;
  }
}

void set_blob(CURL* curl, CURLoption option, const std::string& data) {
  curl_blob blob{const_cast<char*>(data.data()), data.size(), CURL_BLOB_COPY};
  curl_easy_setopt(curl, option, &blob);
}

// The options every request of a client shares.
void apply(CURL* curl, const ClientOptions& o) {
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (o.max_redirects > 0) {
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, static_cast<long>(o.max_redirects));
  }
  if (!o.proxy_from_env) curl_easy_setopt(curl, CURLOPT_PROXY, o.proxy.c_str());
  curl_easy_setopt(curl, CURLOPT_USERAGENT, o.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, o.timeouts.connect_ms);
  if (o.timeouts.total_ms > 0) curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, o.timeouts.total_ms);

  const TlsOptions& tls = o.tls;
  if (!tls.ca_pem.empty()) {
    set_blob(curl, CURLOPT_CAINFO_BLOB, tls.ca_pem);
  } else if (!tls.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, tls.ca_file.c_str());
  }
  if (!tls.cert_pem.empty()) {
    set_blob(curl, CURLOPT_SSLCERT_BLOB, tls.cert_pem);
  } else if (!tls.cert_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, tls.cert_file.c_str());
  }
  if (!tls.key_pem.empty()) {
    set_blob(curl, CURLOPT_SSLKEY_BLOB, tls.key_pem);
  } else if (!tls.key_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLKEY, tls.key_file.c_str());
  }
  if (tls.insecure_skip_verify) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (o.aws_sigv4) {
    std::string sigv4 = "aws:amz:" + o.aws_sigv4->region + ":" + o.aws_sigv4->service;
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());  // libcurl copies strings
    curl_easy_setopt(curl, CURLOPT_USERNAME, o.aws_sigv4->access_key.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, o.aws_sigv4->secret_key.c_str());
  }
}

// The headers of one request: its own, then the client's auth unless it set its own.
curl_slist* header_list(const Request& req, const ClientOptions& o) {
  curl_slist* list = nullptr;
  bool has_auth = false;
  for (const auto& [name, value] : req.headers) {
    has_auth |= lower(name) == "authorization";
    list = curl_slist_append(list, (name + ": " + value).c_str());
  }
  if (!has_auth && !o.bearer_token.empty()) {
    list = curl_slist_append(list, ("Authorization: Bearer " + o.bearer_token).c_str());
  } else if (!has_auth && !o.username.empty()) {
    list = curl_slist_append(list, ("Authorization: Basic " + base64_encode(o.username + ":" + o.password)).c_str());
  }
  if (o.aws_sigv4 && !o.aws_sigv4->session_token.empty()) {
    list = curl_slist_append(list, ("x-amz-security-token: " + o.aws_sigv4->session_token).c_str());
  }
  // libcurl waits up to a second for "100 Continue" before an upload; not every server sends one.
  // Not when signing with SigV4: libcurl 7.88 signs that removal header as "expect:" although
  // it sends no Expect, and the server's signature then differs (S3 servers answer 100).
  if (req.body_reader && !o.aws_sigv4) list = curl_slist_append(list, "Expect:");
  return list;
}

void set_method_and_body(CURL* curl, const Request& req, Transfer* t) {
  if (req.body_reader) {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, t);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body_size));
  } else if (req.body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body->size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body->data());
  }
  if (req.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET" || req.body || req.body_reader) {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
}

}  // namespace

std::string Response::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

std::string host_of_url(const std::string& url) {
  std::string origin = origin_of(url);
  size_t scheme = origin.find("://");
  std::string host = scheme == std::string::npos ? origin : origin.substr(scheme + 3);
  if (size_t at = host.rfind('@'); at != std::string::npos) host.erase(0, at + 1);  // user:password@
  return host;
}

std::string url_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

struct HttpClient::Impl {
  ClientOptions options;
  std::mutex mu;
  std::vector<CURL*> idle;  // reset, but holding their open connections

  ~Impl() {
    for (CURL* h : idle) curl_easy_cleanup(h);
  }

  CURL* take() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }

  void give(CURL* h) {
    curl_easy_reset(h);  // forgets the request's options and callbacks, keeps connections
    std::lock_guard<std::mutex> lock(mu);
    if (idle.size() < kMaxIdleHandles) {
      idle.push_back(h);
    } else {
      curl_easy_cleanup(h);
    }
  }

  Status failure(CURL* curl, CURLcode code, const Transfer& t, const char* detail) {
    const Request& req = *t.request;
    Failure f = t.overflow      ? Failure::kTooLarge
                : t.stalled     ? Failure::kTimeout
                : t.read_failed ? Failure::kBodyRead
                                : failure_of(code);
    char* effective = nullptr;
    curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective);
    std::string url = effective && *effective ? effective : req.url;
    std::string what = curl_easy_strerror(code);
    if (detail && *detail && what != detail) what += " (" + std::string(detail) + ")";
    if (t.overflow) what = "response larger than " + std::to_string(req.max_body) + " bytes";
    if (t.stalled) what = "no byte moved for " + std::to_string(t.stall_s) + " s";
    if (t.read_failed) what = "the request body could not be read";
    if (f == Failure::kCancelled) what = "cancelled";
    std::string hint = options.hint ? options.hint(f, host_of_url(url)) : "";
    if (hint.empty()) hint = default_hint(f, options);
    return Status(code_of(f, code), origin_of(url) + ": " + what + (hint.empty() ? "" : "; " + hint));
  }
};

HttpClient::HttpClient(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->options = std::move(options);
}

HttpClient::~HttpClient() = default;

Result<Response> HttpClient::send(const Request& req) {
  CURL* curl = impl_->take();
  if (!curl) return internal_error("cannot initialise libcurl (out of memory?)");
  Response response;
  Transfer t{&req, &response, impl_->options.timeouts.stall_s};
  char detail[CURL_ERROR_SIZE] = "";
  apply(curl, impl_->options);
  curl_slist* headers = header_list(req, impl_->options);
  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  if (req.cancelled || t.stall_s > 0) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  }
  set_method_and_body(curl, req, &t);
  CURLcode code = curl_easy_perform(curl);
  Status error;
  if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && response.stopped)) {
    error = impl_->failure(curl, code, t, detail);
  } else {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status) response.status = static_cast<int>(status);
  }
  impl_->give(curl);
  curl_slist_free_all(headers);
  if (!error.is_ok()) return error;
  return response;
}

}  // namespace skiff::net
