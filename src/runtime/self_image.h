// The skiff image: what the Kubernetes executor's step Pods take skiff-emissary from
// (their `init` container copies it into a shared emptyDir), built from the running
// binary and pushed by `skiff image push-self REF` (docs/containers.md).
//
// One gzip'd tar layer, deterministic (entries sorted, mtime 0, owned by root, gzip
// without a timestamp), so the same binaries give the same digests and pushing again
// uploads nothing:
//   full:          /bin/skiff (the running binary) and every shared library it loads, at
//                  the paths `ldd` gives (the dynamic loader too), /bin/skiff-emissary,
//                  /tmp (1777), /etc/passwd and /etc/group with root; Entrypoint /bin/skiff.
//   emissary only: /bin/skiff-emissary; Entrypoint /bin/skiff-emissary.
// Both: os linux, this machine's architecture, Env PATH=/bin:/usr/bin, an OCI manifest.
// Blocking (reads the binaries, runs ldd); not thread-safe.
#pragma once

#include <string>
#include <vector>

#include "runtime/image_ref.h"
#include "runtime/registry.h"
#include "util/status.h"

namespace skiff::runtime {

struct SelfImageOptions {
  bool emissary_only = false;
  std::string self;      // the skiff binary; "" = the running one (/proc/self/exe)
  std::string emissary;  // "" = skiff-emissary beside `self`
  std::string work_dir;  // an existing directory the layer's file is written to
};

struct SelfImage {
  std::vector<std::string> files;  // absolute paths of the regular files in the layer
  BlobSource layer;                // the gzip'd tar, in work_dir
  std::string diff_id;             // sha256 of the uncompressed tar
  BlobSource config;               // the image config (JSON)
  std::string manifest;            // the OCI image manifest (JSON)
  std::string manifest_digest;
};

inline constexpr const char* kOciManifestType = "application/vnd.oci.image.manifest.v1+json";

// The absolute paths of the libraries in `ldd` output (lines "name => /path (addr)" and
// "/path (addr)"; the vDSO has none). A library ldd does not find is an error naming it.
Result<std::vector<std::string>> parse_ldd(const std::string& output);

Result<SelfImage> build_self_image(const SelfImageOptions& options);

struct PushOutcome {
  std::string digest;         // of the manifest
  int uploaded = 0;           // blobs sent
  int present = 0;            // blobs the registry had already
};

// Pushes the layer, then the config, then the manifest under `ref`'s tag.
Result<PushOutcome> push_self_image(RegistryClient& client, const ImageRef& ref, const SelfImage& image);

}  // namespace skiff::runtime
