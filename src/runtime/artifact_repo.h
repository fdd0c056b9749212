// Artifact repositories: where steps' output artifacts are kept and input artifacts come
// from, as Argo configures them (its `artifactRepository` objects).
//
// Two kinds: S3 (any S3-compatible server: AWS, MinIO, ...; libcurl signs with SigV4) and
// a local repository, a directory under skiff's data directory, which is the default when
// nothing else is configured. A repository stores whole objects by key ("wf/pod/art.tgz");
// what an object holds (a tar.gz, a zip, a plain file) is the caller's business.
//
// Which repository a workflow uses (artifact_executor.h): its spec.artifactRepositoryRef, else
// the namespace's `artifact-repositories` ConfigMap's default key, else the local one.
//
// Thread-safety: a repository's methods may be called from several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "util/status.h"

namespace skiff::runtime {

// An S3 repository (Argo's S3ArtifactRepository, with the secrets already read).
struct S3Config {
  std::string endpoint;  // "host:port" (Argo's form; no scheme) or a full http(s):// URL
  std::string bucket;
  std::string region = "us-east-1";
  bool insecure = false;  // plain http:// (Argo's `insecure`), not "skip TLS checks"
  std::string access_key, secret_key, session_token;
  bool create_bucket = false;  // createBucketIfNotPresent
  std::string ca_file;         // extra CA for the endpoint's TLS certificate ("" = system's)
  // Objects larger than this go up in parts of this size (S3 multipart upload).
  uint64_t part_size = 64ull << 20;
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
};

class ArtifactRepository {
 public:
  virtual ~ArtifactRepository() = default;
  // The field under which Argo's status names an artifact's location: "s3" for both kinds
  // (the local repository's artifacts are key-only s3 artifacts, as Argo's default
  // repository's are: {"s3": {"key": ...}}).
  virtual std::string kind() const = 0;
  // A line for messages: "s3://bucket at host:port", "the local repository".
  virtual std::string describe() const = 0;
  // Uploads the file at `file` as `key` (replacing what was there).
  virtual Status put(const std::string& key, const std::string& file) = 0;
  // Downloads `key` to `file` (created or truncated); at most `max_bytes` (kFailed past it).
  // kNotFound when there is no such object.
  virtual Status get(const std::string& key, const std::string& file, uint64_t max_bytes) = 0;
  // Streams `key` to `sink` (false from the sink stops the transfer without error).
  virtual Status read(const std::string& key, const std::function<bool(const char*, size_t)>& sink) = 0;
  // kNotFound when absent.
  virtual Result<ObjectInfo> stat(const std::string& key) = 0;
  // Objects whose key starts with `prefix`.
  virtual Result<std::vector<ObjectInfo>> list(const std::string& prefix) = 0;
  // Deleting what is not there is not an error.
  virtual Status remove(const std::string& key) = 0;
};

// Keys are relative paths: no leading '/', no "." or ".." parts, no empty parts, no NUL;
// at most 1024 bytes (S3's limit).
Status check_artifact_key(const std::string& key);

// The local repository rooted at `root` (created when missing).
Result<std::unique_ptr<ArtifactRepository>> open_local_repository(const std::string& root);
// An S3 repository; checks the configuration, not the server (the first request does).
Result<std::unique_ptr<ArtifactRepository>> open_s3_repository(const S3Config& config);

}  // namespace skiff::runtime
