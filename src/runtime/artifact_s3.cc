// The S3 artifact repository: ArtifactRepository over skiff's one HTTP client, signed by
// libcurl's AWS SigV4, path-style (http(s)://endpoint/bucket/key) so that MinIO and other
// S3-compatible servers work without wildcard DNS.
//
// libcurl hashes a body it holds in memory, never one it reads as it sends (an upload), and
// versions before 8.1 do not fall back to UNSIGNED-PAYLOAD for S3 by themselves; it does take
// the payload hash from an x-amz-content-sha256 header the request sets. So every request
// sets it: the empty body's hash for GET, HEAD and DELETE, the real hash of an XML body, and
// UNSIGNED-PAYLOAD for file uploads (S3's documented choice for a payload signed by TLS or
// not at all, which avoids reading every file twice).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>

#include "net/http_client.h"
#include "runtime/artifact_repo.h"
#include "runtime/fd.h"
#include "runtime/s3_protocol.h"
#include "util/digest.h"
#include "util/strings.h"

namespace skiff::runtime {
namespace {

constexpr const char* kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr size_t kMaxErrorBody = 64 << 10;    // an S3 <Error> is a few hundred bytes
constexpr size_t kMaxListPage = 16 << 20;     // 1000 keys of at most 1 KiB each, XML-escaped
constexpr size_t kMaxListObjects = 1000000;   // list() keeps them all in memory
constexpr uint64_t kMinPartSize = 5ull << 20;  // S3's minimum for every part but the last
constexpr uint64_t kMaxPartSize = 5ull << 30;
constexpr uint64_t kMaxParts = 10000;


// S3's bucket naming rules, loosely: what every S3 server accepts in a path-style URL.
bool valid_bucket(const std::string& b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return b.front() != '-' && b.front() != '.' && b.back() != '-' && b.back() != '.';
}

class S3Repository : public ArtifactRepository {
 public:
  S3Repository(S3Config config, std::string base_url, net::ClientOptions options)
      : config_(std::move(config)), base_(std::move(base_url)), client_(std::move(options)) {}

  std::string kind() const override { return "s3"; }
  std::string describe() const override { return "s3://" + config_.bucket + " at " + config_.endpoint; }

  Status put(const std::string& key, const std::string& file) override;
  Status get(const std::string& key, const std::string& file, uint64_t max_bytes) override;
  Status read(const std::string& key, const std::function<bool(const char*, size_t)>& sink) override;
  Result<ObjectInfo> stat(const std::string& key) override;
  Result<std::vector<ObjectInfo>> list(const std::string& prefix) override;
  Status remove(const std::string& key) override;

 private:
  std::string object_url(const std::string& key, const std::string& query = "") const {
    return base_ + "/" + config_.bucket + "/" + s3::escape_key(key) + (query.empty() ? "" : "?" + query);
  }
  std::string where(const std::string& key) const {
    return "s3://" + config_.bucket + "/" + key + " at " + config_.endpoint;
  }
  // A request with the payload-hash header set (see the top of this file).
  net::Request request(const std::string& method, const std::string& url, const std::string& payload_sha) const {
    net::Request r;
    r.method = method;
    r.url = url;
    r.headers.emplace_back("x-amz-content-sha256", payload_sha);
    r.max_body = kMaxErrorBody;
    return r;
  }
  Result<net::Response> send(const net::Request& r, const std::string& doing);
  // The Status for a non-2xx response to `doing` (about `key`, "" for the bucket).
  Status error_of(const net::Response& resp, const std::string& doing, const std::string& key) const;
  Status ensure_bucket();
  Status put_single(const std::string& key, int fd, uint64_t size);
  Status put_multipart(const std::string& key, int fd, uint64_t size);

  S3Config config_;
  std::string base_;  // "http://127.0.0.1:9000"
  net::HttpClient client_;
  std::mutex bucket_mu_;
  bool bucket_ready_ = false;  // createBucketIfNotPresent done (or not asked for)
};

Result<net::Response> S3Repository::send(const net::Request& r, const std::string& doing) {
  Result<net::Response> resp = client_.send(r);
  if (!resp) return Status(resp.status().code(), doing + ": " + resp.status().message());
  return resp;
}

Status S3Repository::error_of(const net::Response& resp, const std::string& doing, const std::string& key) const {
  std::optional<s3::ErrorDoc> doc = s3::parse_error(resp.body);
  std::string code = doc ? doc->code : "";
  std::string said = doc ? " (" + doc->code + (doc->message.empty() ? "" : ": " + doc->message) + ")"
                         : " (HTTP " + std::to_string(resp.status) + ")";
  std::string prefix = doing + ": ";
  if (code == "InvalidAccessKeyId") {
    return Status(Code::kFailed, prefix + "the S3 server at " + config_.endpoint + " does not know the access key" +
                                     said + "; check the access key (the repository's accessKeySecret)");
  }
  if (code == "SignatureDoesNotMatch") {
    return Status(Code::kFailed, prefix + "the secret key does not match the access key" + said +
                                     "; check the secret key (the repository's secretKeySecret)");
  }
  if (code == "NoSuchBucket") {
    return Status(Code::kNotFound, prefix + "there is no bucket \"" + config_.bucket + "\" at " + config_.endpoint +
                                       said + "; create it, or set createBucketIfNotPresent in the repository");
  }
  if (code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" ||
      code == "IllegalLocationConstraintException") {
    return Status(Code::kFailed, prefix + "bucket \"" + config_.bucket + "\" is not in region \"" + config_.region +
                                     "\" at " + config_.endpoint + said + "; check the repository's region");
  }
  if (code == "NoSuchKey" || (code.empty() && resp.status == 404 && !key.empty())) {
    return Status(Code::kNotFound, prefix + "no object " + where(key));
  }
  if (code == "AccessDenied" || (code.empty() && resp.status == 403)) {
    return Status(Code::kFailed, prefix + "access denied" + said +
                                     "; check the access and secret keys and what they may do in bucket \"" +
                                     config_.bucket + "\"");
  }
  return Status(resp.status >= 500 ? Code::kUnavailable : Code::kFailed,
                prefix + "the S3 server at " + config_.endpoint + " answered HTTP " +
                    std::to_string(resp.status) + said);
}

Status S3Repository::ensure_bucket() {
  std::lock_guard<std::mutex> lock(bucket_mu_);
  if (bucket_ready_ || !config_.create_bucket) return Status::ok();
  std::string url = base_ + "/" + config_.bucket;
  std::string doing = "checking bucket \"" + config_.bucket + "\" at " + config_.endpoint;
  net::Request head = request("HEAD", url, kEmptySha256);
  Result<net::Response> resp = send(head, doing);
  if (!resp) return resp.status();
  if (resp->status / 100 == 2) {
    bucket_ready_ = true;
    return Status::ok();
  }
  if (resp->status != 404) {  // HEAD has no body: ask again with GET for the server's reason
    std::string query = s3::canonical_query({{"list-type", "2"}, {"max-keys", "0"}});
    net::Request get = request("GET", url + "?" + query, kEmptySha256);
    Result<net::Response> again = send(get, doing);
    if (!again) return again.status();
    return error_of(again->status / 100 == 2 ? *resp : *again, doing, "");
  }
  std::string body;
  if (config_.region != "us-east-1" && !config_.region.empty()) {
    body = "<CreateBucketConfiguration><LocationConstraint>" + s3::xml_escape(config_.region) +
           "</LocationConstraint></CreateBucketConfiguration>";
  }
  doing = "creating bucket \"" + config_.bucket + "\" at " + config_.endpoint + " (createBucketIfNotPresent)";
  net::Request create = request("PUT", url, sha256_hex(body));
  create.body = body;
  resp = send(create, doing);
  if (!resp) return resp.status();
  std::optional<s3::ErrorDoc> doc = s3::parse_error(resp->body);
  bool mine = doc && (doc->code == "BucketAlreadyOwnedByYou");
  if (resp->status / 100 != 2 && !mine) return error_of(*resp, doing, "");
  bucket_ready_ = true;
  return Status::ok();
}

Status S3Repository::put(const std::string& key, const std::string& file) {
  if (Status s = check_artifact_key(key); !s) return s;
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_status("uploading " + file + " to " + where(key) + ": opening " + file, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errno_status("uploading " + file + ": stat", errno);
  if (!S_ISREG(st.st_mode)) return invalid("uploading " + file + " to " + where(key) + ": not a regular file");
  if (Status s = ensure_bucket(); !s) return s;
  uint64_t size = static_cast<uint64_t>(st.st_size);
  return size <= config_.part_size ? put_single(key, fd.get(), size) : put_multipart(key, fd.get(), size);
}

// Reads [offset, offset + size) of `fd` as a request body.
net::BodyReader file_reader(int fd, uint64_t offset, uint64_t size) {
  auto pos = std::make_shared<uint64_t>(offset);
  uint64_t end = offset + size;
  return [fd, pos, end](char* buffer, size_t capacity) -> long {
    size_t want = static_cast<size_t>(std::min<uint64_t>(capacity, end - *pos));
    if (want == 0) return 0;
    ssize_t n;
    do {
      n = ::pread(fd, buffer, want, static_cast<off_t>(*pos));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return -1;  // an error, or the file shrank under us
    *pos += static_cast<uint64_t>(n);
    return static_cast<long>(n);
  };
}

Status S3Repository::put_single(const std::string& key, int fd, uint64_t size) {
  std::string doing = "uploading " + where(key);
  net::Request r = request("PUT", object_url(key), "UNSIGNED-PAYLOAD");
  r.headers.emplace_back("Content-Type", "application/octet-stream");
  r.body_reader = file_reader(fd, 0, size);
  r.body_size = static_cast<int64_t>(size);
  Result<net::Response> resp = send(r, doing);
  if (!resp) return resp.status();
  if (resp->status / 100 != 2) return error_of(*resp, doing, key);
  return Status::ok();
}

Status S3Repository::put_multipart(const std::string& key, int fd, uint64_t size) {
  // S3 takes at most 10000 parts: a file too large for that many parts of part_size gets
  // larger parts.
  uint64_t part = std::max(config_.part_size, (size + kMaxParts - 1) / kMaxParts);
  if (part > kMaxPartSize) {
    return invalid("uploading " + where(key) + ": " + std::to_string(size) +
                   " bytes is more than S3 takes in one object");
  }
  std::string doing = "starting a multipart upload of " + where(key);
  net::Request init = request("POST", object_url(key, "uploads="), kEmptySha256);
  init.headers.emplace_back("Content-Type", "application/octet-stream");
  init.body = "";
  Result<net::Response> resp = send(init, doing);
  if (!resp) return resp.status();
  if (resp->status / 100 != 2) return error_of(*resp, doing, key);
  std::optional<std::string> upload_id = s3::xml_text(resp->body, "UploadId");
  if (!upload_id || upload_id->empty()) {
    return failed(doing + ": the server's answer has no UploadId: " + resp->body.substr(0, 200));
  }
  auto abort = [&](Status why) {
    net::Request r = request("DELETE", object_url(key, s3::canonical_query({{"uploadId", *upload_id}})), kEmptySha256);
    client_.send(r);  // best effort: the failure that brought us here is what the user needs
    return why;
  };
  std::vector<std::string> etags;
  for (uint64_t offset = 0, n = 1; offset < size; offset += part, ++n) {
    uint64_t len = std::min(part, size - offset);
    doing = "uploading part " + std::to_string(n) + " (" + std::to_string(len) + " bytes at " +
            std::to_string(offset) + ") of " + where(key);
    net::Request r = request(
        "PUT", object_url(key, s3::canonical_query({{"partNumber", std::to_string(n)}, {"uploadId", *upload_id}})),
        "UNSIGNED-PAYLOAD");
    r.body_reader = file_reader(fd, offset, len);
    r.body_size = static_cast<int64_t>(len);
    Result<net::Response> presp = send(r, doing);
    if (!presp) return abort(presp.status());
    if (presp->status / 100 != 2) return abort(error_of(*presp, doing, key));
    std::string etag = presp->header("etag");
    if (etag.empty()) return abort(failed(doing + ": the server's answer has no ETag"));
    etags.push_back(etag);
  }
  doing = "completing the multipart upload of " + where(key);
  std::string body = s3::complete_multipart_body(etags);
  net::Request done =
      request("POST", object_url(key, s3::canonical_query({{"uploadId", *upload_id}})), sha256_hex(body));
  done.headers.emplace_back("Content-Type", "application/xml");
  done.body = body;
  resp = send(done, doing);
  if (!resp) return abort(resp.status());
  // S3 may answer 200 and still fail: the error is then the body.
  if (resp->status / 100 != 2 || s3::parse_error(resp->body)) return abort(error_of(*resp, doing, key));
  return Status::ok();
}

Status S3Repository::get(const std::string& key, const std::string& file, uint64_t max_bytes) {
  if (Status s = check_artifact_key(key); !s) return s;
  if (Status s = ensure_bucket(); !s) return s;
  Fd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_status("downloading " + where(key) + " to " + file + ": opening " + file, errno);
  std::string doing = "downloading " + where(key) + " to " + file;
  uint64_t got = 0;
  bool too_large = false;
  int write_errno = 0;
  net::Request r = request("GET", object_url(key), kEmptySha256);
  r.on_body = [&](const char* data, size_t n) {
    if (got + n > max_bytes) {
      too_large = true;
      return false;
    }
    got += n;
    while (n > 0) {
      ssize_t w = ::write(fd.get(), data, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        write_errno = w < 0 ? errno : EIO;
        return false;
      }
      data += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  };
  Result<net::Response> resp = send(r, doing);
  Status result;
  if (!resp) {
    result = resp.status();
  } else if (resp->status / 100 != 2) {
    result = error_of(*resp, doing, key);
  } else if (too_large) {
    result = failed(doing + ": the object is larger than the limit of " + std::to_string(max_bytes) + " bytes");
  } else if (write_errno) {
    result = errno_status(doing + ": writing " + file, write_errno);
  }
  if (!result) ::unlink(file.c_str());  // no half-written file left for a reader to trust
  return result;
}

Status S3Repository::read(const std::string& key, const std::function<bool(const char*, size_t)>& sink) {
  if (Status s = check_artifact_key(key); !s) return s;
  if (Status s = ensure_bucket(); !s) return s;
  std::string doing = "reading " + where(key);
  net::Request r = request("GET", object_url(key), kEmptySha256);
  r.on_body = sink;
  Result<net::Response> resp = send(r, doing);
  if (!resp) return resp.status();
  if (resp->status / 100 != 2) return error_of(*resp, doing, key);
  return Status::ok();
}

Result<ObjectInfo> S3Repository::stat(const std::string& key) {
  if (Status s = check_artifact_key(key); !s) return s;
  if (Status s = ensure_bucket(); !s) return s;
  std::string doing = "looking up " + where(key);
  Result<net::Response> resp = send(request("HEAD", object_url(key), kEmptySha256), doing);
  if (!resp) return resp.status();
  if (resp->status / 100 != 2) {
    // A HEAD answer has no body to say why; a GET of the same object does (cut short).
    net::Request r = request("GET", object_url(key), kEmptySha256);
    r.on_body = [](const char*, size_t) { return false; };
    Result<net::Response> again = send(r, doing);
    if (!again) return again.status();
    return error_of(again->status / 100 == 2 ? *resp : *again, doing, key);
  }
  int64_t size = 0;
  if (!parse_go_int64(resp->header("content-length"), &size) || size < 0) {
    return failed(doing + ": the server sent no usable Content-Length (\"" + resp->header("content-length") + "\")");
  }
  return ObjectInfo{key, static_cast<uint64_t>(size)};
}

Result<std::vector<ObjectInfo>> S3Repository::list(const std::string& prefix) {
  if (prefix.find('\0') != std::string::npos) return invalid("a listing prefix must not contain a NUL byte");
  if (Status s = ensure_bucket(); !s) return s;
  std::string doing = "listing s3://" + config_.bucket + "/" + prefix + "* at " + config_.endpoint;
  std::vector<ObjectInfo> out;
  std::string token;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> q = {{"list-type", "2"}, {"prefix", prefix}};
    if (!token.empty()) q.emplace_back("continuation-token", token);
    net::Request r = request("GET", base_ + "/" + config_.bucket + "?" + s3::canonical_query(q), kEmptySha256);
    r.max_body = kMaxListPage;
    Result<net::Response> resp = send(r, doing);
    if (!resp) return resp.status();
    if (resp->status / 100 != 2) return error_of(*resp, doing, "");
    Result<s3::ListPage> page = s3::parse_list_page(resp->body);
    if (!page) return Status(page.status().code(), doing + ": " + page.status().message());
    for (ObjectInfo& o : page->objects) out.push_back(std::move(o));
    if (out.size() > kMaxListObjects) {
      return failed(doing + ": more than " + std::to_string(kMaxListObjects) + " objects; list a longer prefix");
    }
    if (!page->truncated) break;
    if (page->next_token == token) return failed(doing + ": the server sent the same continuation token twice");
    token = page->next_token;
  }
  return out;
}

Status S3Repository::remove(const std::string& key) {
  if (Status s = check_artifact_key(key); !s) return s;
  if (Status s = ensure_bucket(); !s) return s;
  std::string doing = "deleting " + where(key);
  Result<net::Response> resp = send(request("DELETE", object_url(key), kEmptySha256), doing);
  if (!resp) return resp.status();
  if (resp->status / 100 == 2) return Status::ok();
  Status s = error_of(*resp, doing, key);
  if (s.code() == Code::kNotFound && s3::parse_error(resp->body).value_or(s3::ErrorDoc{}).code != "NoSuchBucket") {
    return Status::ok();  // already gone
  }
  return s;
}

// "host:port" with insecure -> "http://host:port"; a full URL as it is (without a trailing '/').
Result<std::string> base_url_of(const S3Config& c) {
  std::string e = c.endpoint;
  while (!e.empty() && e.back() == '/') e.pop_back();
  if (e.empty()) return invalid("the S3 repository has no endpoint (e.g. \"s3.amazonaws.com\" or \"minio:9000\")");
  size_t scheme = e.find("://");
  if (scheme == std::string::npos) {
    e = (c.insecure ? "http://" : "https://") + e;
  } else if (e.compare(0, scheme, "http") != 0 && e.compare(0, scheme, "https") != 0) {
    return invalid("S3 endpoint \"" + c.endpoint + "\": only http:// and https:// are spoken");
  }
  size_t host = e.find("://") + 3;
  if (host >= e.size()) return invalid("S3 endpoint \"" + c.endpoint + "\" names no host");
  if (e.find_first_of("/?#", host) != std::string::npos) {
    return invalid("S3 endpoint \"" + c.endpoint + "\" has a path; give the server's host:port only");
  }
  for (char ch : e) {
    if (static_cast<unsigned char>(ch) <= ' ') {
      return invalid("S3 endpoint \"" + c.endpoint + "\" contains a space or control character");
    }
  }
  return e;
}

}  // namespace

Result<std::unique_ptr<ArtifactRepository>> open_s3_repository(const S3Config& config) {
  Result<std::string> base = base_url_of(config);
  if (!base) return base.status();
  if (!valid_bucket(config.bucket)) {
    return invalid("S3 bucket name \"" + config.bucket +
                   "\" is not valid: 3 to 63 lower-case letters, digits, '-' and '.', "
                   "starting and ending with a letter or digit");
  }
  if (config.access_key.empty() != config.secret_key.empty()) {
    return invalid("the S3 repository for bucket \"" + config.bucket + "\" has " +
                   (config.access_key.empty() ? "a secret key but no access key" : "an access key but no secret key") +
                   "; set both accessKeySecret and secretKeySecret, or neither for anonymous access");
  }
  if (config.part_size < kMinPartSize || config.part_size > kMaxPartSize) {
    return invalid("S3 part size " + std::to_string(config.part_size) + " is outside S3's limits (5 MiB to 5 GiB)");
  }
  std::string region = config.region.empty() ? "us-east-1" : config.region;
  net::ClientOptions o;
  o.tls.ca_file = config.ca_file;
  if (!config.access_key.empty()) {
    o.aws_sigv4 = net::AwsSigV4{region, "s3", config.access_key, config.secret_key, config.session_token};
  }
  o.timeouts.connect_ms = 10000;
  o.timeouts.stall_s = 60;  // a transfer that moves nothing for a minute is dead
  std::string endpoint = config.endpoint;
  o.hint = [endpoint](net::Failure f, const std::string&) -> std::string {
    switch (f) {
      case net::Failure::kConnect:
        return "the S3 endpoint \"" + endpoint +
               "\" could not be reached: check the repository's endpoint and that the S3 server runs";
      case net::Failure::kTlsHandshake:
        return "if the S3 server speaks plain HTTP, set insecure: true in the repository";
      case net::Failure::kTlsVerify:
        return "the S3 server's certificate is not trusted: give the CA that signed it";
      default:
        return "";
    }
  };
  S3Config c = config;
  c.region = region;
  return std::unique_ptr<ArtifactRepository>(std::make_unique<S3Repository>(std::move(c), *base, std::move(o)));
}

}  // namespace skiff::runtime
