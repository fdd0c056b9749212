// ImageStore: the local, content-addressed home of pulled images (<data>/images).
//
//   blobs/sha256/<hex>   manifests and image configs, as fetched and verified
//   layers/<hex>/        each layer unpacked once (keyed by its blob digest), shared by
//                        every image that has it; whiteouts kept as overlayfs expects them
//                        (a 0/0 character device; trusted.overlay.opaque=y on a directory)
//   refs.json            reference -> manifest digest
//   tmp/                 downloads and unpacks in progress (renamed into place when whole)
//
// Layers are unpacked in a forked child that chroots into the new layer's directory, so
// no entry of a hostile archive (absolute paths, "..", symlinks followed by later
// entries) can write outside it. Compressed layers are deleted once unpacked. Several
// processes may share a store: refs.json is read and replaced under a file lock.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <memory>
#include <string>
#include <vector>

#include "runtime/image_ref.h"
#include "runtime/registry.h"
#include "util/status.h"

namespace skiff::runtime {

// What the image's config says about how to run it.
struct ImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "NAME=value"
  std::string working_dir;
  std::string user;
};

struct Image {
  std::string name;             // the reference it was pulled as (canonical)
  std::string manifest_digest;
  ImageConfig config;
  std::vector<std::string> layer_dirs;  // bottom first
  int64_t size = 0;                     // compressed bytes, as the manifest says
};

enum class PullPolicy { kAlways, kIfNotPresent, kNever };

// What an image's config blob says about running it (its "config" object).
ImageConfig image_config_from(const nlohmann::json& blob);
// The config of `image` read from its registry (manifest, then config blob), pulling no
// layer: the kubernetes executor's ENTRYPOINT lookup.
Result<ImageConfig> remote_image_config(const RegistryConfig& config, const std::string& image);

// Kubernetes' rules: the given policy, else Always for ":latest" (or no tag), else
// IfNotPresent.
Result<PullPolicy> pull_policy_for(const std::string& policy, const ImageRef& ref);

class ImageStore {
 public:
  static Result<std::unique_ptr<ImageStore>> open(const std::string& root);

  // The image as stored, or kNotFound.
  Result<Image> find(const ImageRef& ref);
  // Fetches the manifest, then whatever blobs and layers are missing.
  Result<Image> pull(RegistryClient& client, const ImageRef& ref, const PullProgress& progress);
  // find() or pull() as the policy says.
  Result<Image> ensure(RegistryClient& client, const ImageRef& ref, PullPolicy policy, const PullProgress& progress);

  std::vector<Image> list();
  // Forgets a reference (its layers stay until prune()).
  Status remove(const ImageRef& ref);
  // Deletes blobs and layers no reference needs; returns how many entries went.
  Result<int> prune();

  const std::string& root() const { return root_; }

 private:
  explicit ImageStore(std::string root) : root_(std::move(root)) {}
  Result<Image> load(const std::string& name, const std::string& manifest_digest);
  Status record(const std::string& name, const std::string& manifest_digest);
  // Reads refs.json, lets `change` edit it, writes it back, all under the store's lock.
  Status update_refs(const std::function<Status(nlohmann::json&)>& change);

  std::string root_;
};

// Unpacks a (possibly compressed) tar layer into `dest`, which must not exist yet.
Status unpack_layer(const std::string& blob_path, const std::string& dest);

}  // namespace skiff::runtime
