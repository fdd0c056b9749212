// Registry client: the OCI distribution API over HTTPS (net::HttpClient), as Docker and
// containerd speak it.
//
// Where to go: a registry's mirrors first (in order), then the registry itself
// (docker.io means registry-1.docker.io). How to get in: credentials from docker
// config.json files ("auths", keyed by host) answer a Basic challenge or buy a Bearer
// token from the challenge's realm (scope pull, or pull,push for pushes). Pushes go to the
// registry itself, never a mirror. Whom to trust: the system CAs plus a CA file per host;
// plain HTTP only for hosts explicitly allowed. Every fetched manifest and blob is checked
// against its sha256 digest and its announced size. Thread-safe: one client may serve
// several pulls at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/image_ref.h"
#include "util/status.h"

namespace skiff::runtime {

struct RegistryCredentials {
  std::string username;
  std::string password;
};

struct RegistryHostConfig {
  std::string ca_file;      // PEM bundle trusted for this host, in addition to the system's
  bool plain_http = false;  // talk http:// to this host (explicitly allowed only)
};

struct RegistryConfig {
  std::map<std::string, std::vector<std::string>> mirrors;  // registry -> endpoints ("https://host:port")
  std::map<std::string, RegistryHostConfig> hosts;          // by "host[:port]"
  std::map<std::string, RegistryCredentials> auths;         // by "host[:port]"
  long connect_timeout_s = 10;
  long stall_timeout_s = 30;  // a transfer that moves no byte for this long fails
};

// "https://host:port/path" -> "host:port"; Docker Hub's hosts are "docker.io".
std::string registry_host(std::string url);
// "docker.io=https://mirror.local[,https://other]" (also "docker.io=mirror.local:5000").
Status add_mirror(RegistryConfig* config, const std::string& spec);
// Reads a docker config.json's "auths" (auth = base64 "user:password", or username and
// password). Later files do not override hosts an earlier one set.
Status load_docker_config(RegistryConfig* config, const std::string& path);
Status load_docker_config_text(RegistryConfig* config, const std::string& text, const std::string& origin);
// Reads skiff's registries file (YAML):
//   mirrors: {docker.io: [https://mirror.local]}
//   registries: {"registry.local:5000": {ca: /path/ca.pem, plainHTTP: false}}
Status load_registries_file(RegistryConfig* config, const std::string& path);

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
};

struct Manifest {
  std::string digest;  // of the image manifest (after resolving an index)
  std::string body;    // its JSON, as served
  Descriptor config;
  std::vector<Descriptor> layers;
};

// A blob to push: its bytes in memory, or a file holding them.
struct BlobSource {
  Descriptor descriptor;  // digest and size of the bytes (media type unused)
  std::string data;       // the bytes, when `path` is empty
  std::string path;
};

// Called as bytes arrive: (layer digest, bytes so far, total).
using PullProgress = std::function<void(const std::string& digest, int64_t done, int64_t total)>;

class RegistryClient {
 public:
  explicit RegistryClient(RegistryConfig config);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // The image manifest for `ref`; an index is resolved to this machine's platform.
  Result<Manifest> manifest(const ImageRef& ref);
  // Downloads a blob of `ref`'s repository to `path` (created), verifying size and digest.
  Status blob(const ImageRef& ref, const Descriptor& blob, const std::string& path, const PullProgress& progress);
  // Downloads a small blob (a config) into memory, verified.
  Result<std::string> small_blob(const ImageRef& ref, const Descriptor& blob);

  // Uploads a blob to `ref`'s repository (one monolithic PUT) unless a HEAD finds it there
  // already; true when it was uploaded.
  Result<bool> push_blob(const ImageRef& ref, const BlobSource& blob);
  // Puts a manifest (`media_type`, at most 4 MiB) under `ref`'s tag (else its digest);
  // returns the manifest's digest. Its blobs must be pushed first.
  Result<std::string> push_manifest(const ImageRef& ref, const std::string& media_type, const std::string& body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Lower-case hex sha256 of `data` ("sha256:" + hex).
std::string sha256_digest(const std::string& data);
// This machine's architecture in OCI's words ("amd64", "arm64").
std::string machine_architecture();

}  // namespace skiff::runtime
