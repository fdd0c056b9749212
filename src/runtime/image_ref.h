// ImageRef: an image reference resolved the way Docker and Kubernetes resolve it.
//
// "busybox" is docker.io/library/busybox:latest; "ghcr.io/org/app@sha256:..." names a
// manifest by digest; a first component with a '.' or ':' (or "localhost") is a registry
// host. Names are checked against the distribution spec's grammar, so a reference can be
// used in URLs and file names without further escaping.
#pragma once

#include <string>

#include "util/status.h"

namespace skiff::runtime {

struct ImageRef {
  std::string registry;    // "docker.io", "registry.local:5000"
  std::string repository;  // "library/busybox"
  std::string tag;         // "latest"; empty when only a digest was given
  std::string digest;      // "sha256:<64 hex>" or empty

  // The fully qualified form: registry/repository[:tag][@digest].
  std::string canonical() const;
  // What the registry is asked for: the digest if given, else the tag.
  const std::string& reference() const { return digest.empty() ? tag : digest; }
};

Result<ImageRef> parse_image_ref(const std::string& text);

// True for "sha256:" followed by 64 lowercase hex digits.
bool valid_digest(const std::string& digest);

}  // namespace skiff::runtime
