// ChartCache: Helm charts from Helm repositories and OCI registries, for Application sources
// that name a `chart`, pulled as Argo CD's repo server pulls them: by `helm pull` (the helm
// program render.h runs), into a cache directory, then rendered like a chart kept in git.
//
//   <cache_dir>/<hash of url and chart>/<version>/<chart>/   one chart version, written once
//
// An exact version ("1.2.3") is pulled once and then served from the cache with no network;
// a constraint ("1.2.*", ">=1.0 <2.0", "" for the newest) asks the repository every time, as
// Argo CD resolves it on each refresh. Thread-safe (pulls are serialised).
#pragma once

#include <mutex>
#include <string>

#include "cd/git.h"
#include "cd/render.h"
#include "util/status.h"

namespace skiff::cd {

struct ChartLimits {
  size_t max_files = 10000;           // in one unpacked chart
  uint64_t max_bytes = 256ull << 20;  // total size of one unpacked chart
};

class ChartCache {
 public:
  explicit ChartCache(std::string cache_dir, RenderOptions options = {}, ChartLimits limits = {});

  // The chart `chart` at `version` from `repo_url`: an http(s) Helm repository (its
  // index.yaml), or an OCI registry (oci://host/path, or host/path with no scheme, as Argo CD
  // writes OCI repositories). Checkout::commit is the chart's version; Checkout::dir holds
  // the chart's directory, named `chart`. Credentials: username/password (basic auth or the
  // registry's), ca_pem, insecure. kInvalid for a bad chart name, version or URL; kFailed
  // with helm's message when the pull fails (unknown chart or version, refused credentials).
  Result<Checkout> pull(const std::string& repo_url, const std::string& chart, const std::string& version,
                        const RepoCredentials& creds);

 private:
  std::string cache_dir_;
  RenderOptions options_;
  ChartLimits limits_;
  std::mutex mu_;  // one pull at a time
};

}  // namespace skiff::cd
