#include "runtime/registry.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/utsname.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>

#include "net/http_client.h"
#include "runtime/fd.h"
#include "util/base64.h"
#include "util/digest.h"
#include "util/strings.h"

namespace skiff::runtime {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxManifest = 4 << 20;
constexpr size_t kMaxToken = 1 << 20;
constexpr size_t kMaxErrorBody = 4096;
constexpr int64_t kMaxBlob = int64_t{16} << 30;

const char* kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}


// One place to talk to: scheme + host, with its trust settings.
struct Endpoint {
  std::string base;  // "https://host:port"
  std::string host;  // "host:port"
  std::string ca_file;
};

using Response = net::Response;

// Parses `Bearer realm="...",service="...",scope="..."` into its scheme and parameters.
std::pair<std::string, std::map<std::string, std::string>> parse_challenge(const std::string& header) {
  std::map<std::string, std::string> params;
  size_t sp = header.find(' ');
  std::string scheme = lower(header.substr(0, sp));
  size_t i = sp == std::string::npos ? header.size() : sp + 1;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',')) ++i;
    size_t eq = header.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = lower(std::string(trim(header.substr(i, eq - i))));
    std::string value;
    i = eq + 1;
    if (i < header.size() && header[i] == '"') {
      ++i;
      while (i < header.size() && header[i] != '"') {
        if (header[i] == '\\' && i + 1 < header.size()) ++i;
        value += header[i++];
      }
      ++i;
    } else {
      size_t end = header.find(',', i);
      value = std::string(trim(header.substr(i, end == std::string::npos ? std::string::npos : end - i)));
      i = end == std::string::npos ? header.size() : end;
    }
    params[key] = value;
  }
  return {scheme, params};
}

// How a user fixes a TLS failure with `host` (the registry's name for it).
std::string tls_hint(net::Failure failure, const std::string& url_host) {
  std::string host = registry_host(url_host);
  if (failure == net::Failure::kTlsHandshake) {
    return "if " + host + " serves plain HTTP, allow it with --plain-http " + host +
           " (or `registries: {\"" + host + "\": {plainHTTP: true}}` in the registries file)";
  }
  if (failure == net::Failure::kTlsVerify || failure == net::Failure::kTlsSetup) {
    return "if " + host + " uses a private CA, trust it with --registry-ca " + host +
           "=CA.pem (or `registries: {\"" + host + "\": {ca: CA.pem}}` in the registries file)";
  }
  return "";
}

}  // namespace

std::string machine_architecture() {
  struct utsname u;
  if (::uname(&u) != 0) return "amd64";
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  if (m.rfind("arm", 0) == 0) return "arm";
  return m;
}

std::string sha256_digest(const std::string& data) { return "sha256:" + sha256_hex(data); }

struct RegistryClient::Impl {
  RegistryConfig config;
  std::mutex mu;
  std::map<std::string, std::string> tokens;  // "host|scope" -> "Bearer ..." or "Basic ..."
  std::map<std::string, std::unique_ptr<net::HttpClient>> clients;  // by CA file

  Endpoint endpoint(const std::string& url) const {
    Endpoint ep;
    ep.base = url;
    ep.host = registry_host(url);
    auto it = config.hosts.find(ep.host);
    if (it != config.hosts.end()) ep.ca_file = it->second.ca_file;
    return ep;
  }

  std::vector<Endpoint> endpoints(const std::string& registry) const {
    std::vector<Endpoint> out;
    if (auto it = config.mirrors.find(registry); it != config.mirrors.end()) {
      for (const auto& url : it->second) out.push_back(endpoint(url));
    }
    std::string host = registry == "docker.io" ? "registry-1.docker.io" : registry;
    auto hc = config.hosts.find(registry);
    bool plain = hc != config.hosts.end() && hc->second.plain_http;
    Endpoint ep = endpoint((plain ? "http://" : "https://") + host);
    ep.host = registry;
    if (hc != config.hosts.end()) ep.ca_file = hc->second.ca_file;
    out.push_back(ep);
    return out;
  }

  // The registry itself (pushes never go to a mirror).
  Endpoint origin(const std::string& registry) const { return endpoints(registry).back(); }

  // One HTTP client per CA file, so that requests to a host reuse its connections.
  net::HttpClient& client(const std::string& ca_file) {
    std::lock_guard<std::mutex> lock(mu);
    std::unique_ptr<net::HttpClient>& c = clients[ca_file];
    if (!c) {
      net::ClientOptions o;
      o.tls.ca_file = ca_file;
      o.timeouts.connect_ms = config.connect_timeout_s * 1000;
      o.timeouts.stall_s = config.stall_timeout_s;
      o.max_redirects = 5;  // blobs are often served from elsewhere (a CDN, S3)
      o.proxy_from_env = true;
      o.hint = tls_hint;
      c = std::make_unique<net::HttpClient>(std::move(o));
    }
    return *c;
  }

  // GET `url`; a 2xx body goes to `sink` when given. Transport failures are kUnavailable.
  Result<Response> get(const Endpoint& ep, const std::string& url, net::Headers headers, size_t cap,
                       const net::BodySink& sink) {
    net::Request req;
    req.url = url;
    req.headers = std::move(headers);
    req.max_body = cap;
    req.on_body = sink;
    return send(ep, req);
  }

  Result<Response> send(const Endpoint& ep, const net::Request& req) {
    auto r = client(ep.ca_file).send(req);
    if (!r) return Status(Code::kUnavailable, r.status().message());
    return r;
  }

  // Answers a 401 challenge: returns the Authorization header to retry with, or why not.
  // `push` asks for a token that may push as well as pull, whatever scope the challenge names.
  Result<std::string> authorize(const Endpoint& ep, const std::string& challenge, const std::string& repository,
                                bool push) {
    auto [scheme, params] = parse_challenge(challenge);
    auto creds = config.auths.find(ep.host);
    bool have = creds != config.auths.end();
    std::string basic = have ? "Basic " + base64_encode(creds->second.username + ":" + creds->second.password) : "";
    if (scheme == "basic") {
      if (!have) {
        return Status(Code::kFailed, "registry " + ep.host + " needs a username and password: add them to a docker "
                                     "config.json (--registry-config) or an imagePullSecret");
      }
      return basic;
    }
    if (scheme != "bearer" || params["realm"].empty()) {
      return Status(Code::kFailed, "registry " + ep.host + " asks for unsupported authentication \"" + challenge + "\"");
    }
    std::string realm = params["realm"];
    if (!starts_with(realm, "https://") && !starts_with(realm, "http://")) {
      return Status(Code::kFailed, "registry " + ep.host + " gave a token realm that is not an http(s) URL");
    }
    std::string scope = push                   ? "repository:" + repository + ":pull,push"
                        : params.count("scope") ? params["scope"]
                                                : "repository:" + repository + ":pull";
    std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&") +
                      "service=" + net::url_escape(params["service"]) + "&scope=" + net::url_escape(scope);
    net::Headers headers;
    // Credentials go to the realm only over TLS (or when the registry itself is plain HTTP).
    if (have && (starts_with(realm, "https://") || starts_with(ep.base, "http://"))) {
      headers.emplace_back("Authorization", basic);
    }
    Endpoint token_ep = endpoint(realm);
    if (token_ep.ca_file.empty()) token_ep.ca_file = ep.ca_file;
    auto got = get(token_ep, url, std::move(headers), kMaxToken, nullptr);
    if (!got) return Status(Code::kUnavailable, "token server " + got.status().message());
    const Response& r = *got;
    if (r.status == 401 || r.status == 403) {
      return Status(Code::kFailed, have ? "registry " + ep.host + " refused the credentials of user " +
                                              creds->second.username + " (wrong username or password?)"
                                        : "registry " + ep.host + " needs a username and password: add them to a "
                                          "docker config.json (--registry-config) or an imagePullSecret");
    }
    if (r.status != 200) {
      return Status(Code::kFailed, "token server " + token_ep.host + " answered HTTP " + std::to_string(r.status));
    }
    try {
      Json doc = Json::parse(r.body);
      for (const char* key : {"token", "access_token"}) {
        if (doc.contains(key) && doc[key].is_string()) return "Bearer " + doc[key].get<std::string>();
      }
    } catch (const std::exception&) {
    }
    return Status(Code::kFailed, "token server " + token_ep.host + " gave no token");
  }

  // One request to `ep` about `ref`'s repository, with the authentication dance: `make`
  // fills a fresh request for each attempt (so that an upload's reader starts over).
  // Statuses other than 2xx come back in the response; transport and auth failures as
  // errors. `push` asks for a token that may also push (kept apart from pull tokens).
  Result<Response> call(const Endpoint& ep, const ImageRef& ref, bool push,
                        const std::function<Status(net::Request*)>& make) {
    std::string key = ep.host + "|" + ref.repository + (push ? "|push" : "");
    std::string auth;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (auto it = tokens.find(key); it != tokens.end()) auth = it->second;
    }
    for (int attempt = 0; attempt < 2; ++attempt) {
      net::Request req;
      if (Status s = make(&req); !s) return s;
      // Credentials stay with the registry: an upload location elsewhere gets none.
      if (!auth.empty() && net::host_of_url(req.url) == net::host_of_url(ep.base)) {
        req.headers.emplace_back("Authorization", auth);
      }
      auto r = send(ep, req);
      if (!r || r->status != 401) return r;
      std::string challenge = r->header("www-authenticate");
      if (attempt == 1 || challenge.empty()) {
        auto creds = config.auths.find(ep.host);
        return Status(Code::kFailed, creds != config.auths.end()
                                         ? "registry " + ep.host + " refused the credentials of user " +
                                               creds->second.username + " (wrong username or password?)"
                                         : "registry " + ep.host + " needs a username and password: add them to a "
                                           "docker config.json (--registry-config) or an imagePullSecret");
      }
      auto next = authorize(ep, challenge, ref.repository, push);
      if (!next) return next.status();
      auth = *next;
      std::lock_guard<std::mutex> lock(mu);
      tokens[key] = auth;
    }
    return Status(Code::kInternal, "unreachable");
  }

  // GET on one endpoint, authenticated (see call()).
  Result<Response> fetch(const Endpoint& ep, const ImageRef& ref, const std::string& path,
                         const net::Headers& headers, size_t cap, const net::BodySink& sink) {
    return call(ep, ref, false, [&](net::Request* req) {
      req->url = ep.base + "/v2/" + ref.repository + path;
      req->headers = headers;
      req->max_body = cap;
      req->on_body = sink;
      return Status::ok();
    });
  }

  Result<Response> fetch_manifest_bytes(const Endpoint& ep, const ImageRef& ref, const std::string& reference) {
    auto r = fetch(ep, ref, "/manifests/" + reference, {{"Accept", kManifestAccept}}, kMaxManifest, nullptr);
    if (!r) return r;
    if (r->status == 404) {
      return Status(Code::kNotFound, "manifest " + ref.repository + ":" + reference + " not found at " + ep.base);
    }
    if (r->status != 200) {
      return Status(Code::kFailed, ep.base + " answered HTTP " + std::to_string(r->status) + " for manifest " +
                                       ref.repository + ":" + reference + ": " + r->body.substr(0, 200));
    }
    std::string digest = sha256_digest(r->body);
    if (valid_digest(reference) && digest != reference) {
      return Status(Code::kFailed, "manifest from " + ep.base + " does not match its digest " + reference);
    }
    return r;
  }

  Result<Manifest> manifest_at(const Endpoint& ep, const ImageRef& ref) {
    auto r = fetch_manifest_bytes(ep, ref, ref.reference());
    if (!r) return r.status();
    Json doc;
    try {
      doc = Json::parse(r->body);
    } catch (const std::exception& e) {
      return Status(Code::kFailed, "manifest from " + ep.base + " is not JSON: " + e.what());
    }
    std::string media = doc.value("mediaType", r->header("content-type"));
    if (doc.contains("manifests")) {  // an index: choose this machine's platform
      std::string arch = machine_architecture();
      std::string chosen;
      for (const auto& m : doc["manifests"]) {
        if (!m.is_object() || !m.contains("platform") || !m["platform"].is_object()) continue;
        if (m["platform"].value("os", "") == "linux" && m["platform"].value("architecture", "") == arch) {
          chosen = m.value("digest", "");
          break;
        }
      }
      if (!valid_digest(chosen)) {
        return Status(Code::kNotFound, "image " + ref.canonical() + " has no linux/" + arch + " variant");
      }
      r = fetch_manifest_bytes(ep, ref, chosen);
      if (!r) return r.status();
      try {
        doc = Json::parse(r->body);
      } catch (const std::exception& e) {
        return Status(Code::kFailed, "manifest from " + ep.base + " is not JSON: " + e.what());
      }
    }
    Manifest out;
    out.digest = sha256_digest(r->body);
    out.body = r->body;
    auto descriptor = [&](const Json& d) -> Result<Descriptor> {
      if (!d.is_object() || !d.contains("digest") || !d["digest"].is_string() || !valid_digest(d["digest"])) {
        return Status(Code::kFailed, "manifest of " + ref.canonical() + " has a descriptor without a sha256 digest");
      }
      Descriptor desc{d.value("mediaType", ""), d["digest"].get<std::string>(), d.value("size", int64_t{0})};
      if (desc.size < 0 || desc.size > kMaxBlob) {
        return Status(Code::kFailed, "manifest of " + ref.canonical() + " announces a blob of " +
                                         std::to_string(desc.size) + " bytes (at most 16 GiB are accepted)");
      }
      return desc;
    };
    if (!doc.contains("config") || !doc.contains("layers") || !doc["layers"].is_array()) {
      return Status(Code::kFailed, "manifest of " + ref.canonical() + " (" + media +
                                       ") is not an image manifest (schema 2 or OCI)");
    }
    auto config = descriptor(doc["config"]);
    if (!config) return config.status();
    out.config = *config;
    for (const auto& l : doc["layers"]) {
      auto layer = descriptor(l);
      if (!layer) return layer.status();
      out.layers.push_back(*layer);
    }
    return out;
  }

  // Runs `attempt` on each endpoint in turn; the first success wins, else every failure
  // is reported.
  template <typename T, typename F>
  Result<T> each_endpoint(const ImageRef& ref, F attempt) {
    std::string errors;
    Code code = Code::kUnavailable;
    for (const Endpoint& ep : endpoints(ref.registry)) {
      Result<T> r = attempt(ep);
      if (r) return r;
      errors += (errors.empty() ? "" : "; ") + r.status().message();
      if (r.status().code() != Code::kUnavailable) code = r.status().code();
    }
    return Status(code, "pulling " + ref.canonical() + ": " + errors);
  }
};

RegistryClient::RegistryClient(RegistryConfig config) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
}

RegistryClient::~RegistryClient() = default;

Result<Manifest> RegistryClient::manifest(const ImageRef& ref) {
  return impl_->each_endpoint<Manifest>(ref, [&](const Endpoint& ep) { return impl_->manifest_at(ep, ref); });
}

Result<std::string> RegistryClient::small_blob(const ImageRef& ref, const Descriptor& blob) {
  if (blob.size > (8 << 20)) return Status(Code::kFailed, "blob " + blob.digest + " is larger than 8 MiB");
  return impl_->each_endpoint<std::string>(ref, [&](const Endpoint& ep) -> Result<std::string> {
    auto r = impl_->fetch(ep, ref, "/blobs/" + blob.digest, {}, 8 << 20, nullptr);
    if (!r) return r.status();
    if (r->status != 200) {
      return Status(r->status == 404 ? Code::kNotFound : Code::kFailed,
                    ep.base + " answered HTTP " + std::to_string(r->status) + " for blob " + blob.digest);
    }
    if (sha256_digest(r->body) != blob.digest) {
      return Status(Code::kFailed, "blob " + blob.digest + " from " + ep.base + " does not match its digest");
    }
    return std::move(r->body);
  });
}

Status RegistryClient::blob(const ImageRef& ref, const Descriptor& blob, const std::string& path,
                            const PullProgress& progress) {
  auto done = impl_->each_endpoint<bool>(ref, [&](const Endpoint& ep) -> Result<bool> {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) return errno_status("creating " + path, errno);
    Sha256 hash;
    int64_t got = 0;
    bool write_failed = false;
    net::BodySink sink = [&](const char* data, size_t n) {
      got += static_cast<int64_t>(n);
      if (got > blob.size) return false;  // more than the manifest announced: stop reading
      hash.add(data, n);
      size_t off = 0;
      while (off < n) {
        ssize_t w = ::write(fd.get(), data + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          write_failed = true;
          return false;
        }
        off += static_cast<size_t>(w);
      }
      if (progress) progress(blob.digest, got, blob.size);
      return true;
    };
    auto r = impl_->fetch(ep, ref, "/blobs/" + blob.digest, {}, kMaxErrorBody, sink);
    if (write_failed) return errno_status("writing " + path, errno);
    if (got > blob.size) {
      return Status(Code::kFailed, "blob " + blob.digest + " from " + ep.base + " is larger than announced");
    }
    if (!r) return r.status();
    if (r->status != 200) {
      return Status(r->status == 404 ? Code::kNotFound : Code::kFailed,
                    ep.base + " answered HTTP " + std::to_string(r->status) + " for blob " + blob.digest);
    }
    if ("sha256:" + hash.hex() != blob.digest || got != blob.size) {
      return Status(Code::kFailed, "blob " + blob.digest + " from " + ep.base + " does not match its digest");
    }
    return true;
  });
  return done ? Status::ok() : done.status();
}

namespace {

// "HTTP 403 (DENIED: requested access to the resource is denied)" from a registry's
// answer: its errors[] as the distribution spec words them, else the start of the body.
std::string http_problem(const Response& r) {
  std::string text = "HTTP " + std::to_string(r.status);
  std::string detail;
  try {
    Json doc = Json::parse(r.body);
    if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array()) {
      for (const auto& e : doc["errors"]) {
        if (!e.is_object()) continue;
        std::string one = e.value("code", "") + (e.contains("message") && e["message"].is_string()
                                                      ? ": " + e["message"].get<std::string>()
                                                      : "");
        detail += (detail.empty() ? "" : "; ") + one;
      }
    }
  } catch (const std::exception&) {
    detail = std::string(trim(r.body.substr(0, 200)));
  }
  return detail.empty() ? text : text + " (" + detail + ")";
}

}  // namespace

Result<bool> RegistryClient::push_blob(const ImageRef& ref, const BlobSource& blob) {
  const Descriptor& d = blob.descriptor;
  std::string what = "pushing blob " + d.digest + " to " + ref.registry + "/" + ref.repository;
  if (!valid_digest(d.digest)) return Status(Code::kInvalid, what + ": not a sha256 digest");
  if (d.size < 0 || d.size > kMaxBlob) {
    return Status(Code::kInvalid, what + ": " + std::to_string(d.size) + " bytes (at most 16 GiB are pushed)");
  }
  if (blob.path.empty() && static_cast<int64_t>(blob.data.size()) != d.size) {
    return Status(Code::kInvalid, what + ": the descriptor's size does not match the data");
  }
  Endpoint ep = impl_->origin(ref.registry);
  std::string base = ep.base + "/v2/" + ref.repository + "/blobs/";
  auto head = impl_->call(ep, ref, true, [&](net::Request* req) {
    req->method = "HEAD";
    req->url = base + d.digest;
    return Status::ok();
  });
  if (!head) return head.status().with_context(what);
  if (head->status == 200) return false;  // the repository has it (or mounts it) already
  auto start = impl_->call(ep, ref, true, [&](net::Request* req) {
    req->method = "POST";
    req->url = base + "uploads/";
    req->body = std::string();
    req->max_body = kMaxErrorBody;
    return Status::ok();
  });
  if (!start) return start.status().with_context(what);
  if (start->status != 202) {
    return Status(Code::kFailed, what + ": registry " + ep.host + " answered " + http_problem(*start) +
                                     " to POST /v2/" + ref.repository + "/blobs/uploads/");
  }
  std::string location = start->header("location");
  if (location.empty()) {
    return Status(Code::kFailed, what + ": registry " + ep.host + " gave no Location for the upload");
  }
  if (location[0] == '/') location = ep.base + location;
  if (!starts_with(location, "https://") && !starts_with(location, "http://")) {
    return Status(Code::kFailed, what + ": registry " + ep.host + " gave an upload Location that is not a URL");
  }
  location += (location.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") +
              net::url_escape(d.digest);
  std::shared_ptr<Fd> file;
  auto put = impl_->call(ep, ref, true, [&](net::Request* req) -> Status {
    req->method = "PUT";
    req->url = location;
    req->headers = {{"Content-Type", "application/octet-stream"}};
    req->max_body = kMaxErrorBody;
    if (blob.path.empty()) {
      req->body = blob.data;
      return Status::ok();
    }
    file = std::make_shared<Fd>(::open(blob.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file->valid()) return errno_status("opening " + blob.path, errno);
    auto f = file;
    req->body_size = d.size;
    req->body_reader = [f](char* buffer, size_t capacity) -> long {
      for (;;) {
        ssize_t n = ::read(f->get(), buffer, capacity);
        if (n < 0 && errno == EINTR) continue;
        return n < 0 ? -1 : static_cast<long>(n);
      }
    };
    return Status::ok();
  });
  if (!put) return put.status().with_context(what);
  if (put->status != 201) {
    return Status(Code::kFailed, what + ": registry " + ep.host + " answered " + http_problem(*put) +
                                     " to the upload's PUT");
  }
  return true;
}

Result<std::string> RegistryClient::push_manifest(const ImageRef& ref, const std::string& media_type,
                                                  const std::string& body) {
  std::string what = "pushing manifest " + ref.canonical();
  if (body.size() > kMaxManifest) return Status(Code::kInvalid, what + ": larger than 4 MiB");
  if (ref.tag.empty() && ref.digest.empty()) return Status(Code::kInvalid, what + ": the reference has no tag");
  Endpoint ep = impl_->origin(ref.registry);
  std::string reference = ref.tag.empty() ? ref.digest : ref.tag;
  auto r = impl_->call(ep, ref, true, [&](net::Request* req) {
    req->method = "PUT";
    req->url = ep.base + "/v2/" + ref.repository + "/manifests/" + reference;
    req->headers = {{"Content-Type", media_type}};
    req->body = body;
    req->max_body = kMaxErrorBody;
    return Status::ok();
  });
  if (!r) return r.status().with_context(what);
  if (r->status != 201 && r->status != 200) {
    return Status(Code::kFailed, what + ": registry " + ep.host + " answered " + http_problem(*r) + " to PUT /v2/" +
                                     ref.repository + "/manifests/" + reference);
  }
  std::string digest = sha256_digest(body);
  std::string served = r->header("docker-content-digest");
  if (!served.empty() && served != digest) {
    return Status(Code::kFailed, what + ": registry " + ep.host + " stored it as " + served + ", not " + digest);
  }
  return digest;
}

}  // namespace skiff::runtime
