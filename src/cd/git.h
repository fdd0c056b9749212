// GitCache: the git repositories Applications read their manifests from, over libgit2.
//
// One bare repository per URL under cache_dir (fetched into, never re-cloned) and one
// directory per commit holding that commit's tree. Layout:
//   <cache_dir>/<slug>-<hash>/repo.git             the bare repository (all branches and tags)
//   <cache_dir>/<slug>-<hash>/checkouts/<sha>/     a commit's tree, written once, then shared
// Thread-safe: calls for the same URL are serialised by a mutex per repository; different
// repositories are fetched in parallel. A GitCache must outlive the calls made on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "util/status.h"

namespace skiff::cd {

struct RepoCredentials {
  std::string username, password;  // https basic auth (a token goes in password)
  std::string ssh_private_key;     // PEM/OpenSSH text, for ssh:// and git@host:path URLs
  std::string ca_pem;              // extra CA for https
  bool insecure = false;           // skip TLS verification (tests/dev only)
};

struct Checkout {
  std::string commit;  // full sha of the commit the revision named
  std::string dir;     // a directory holding that commit's tree (read-only by contract:
                       // shared by every app at that commit; never modified once made)
};

// Bounds on what a repository may cost (docs/cd.md "Git sources").
struct GitLimits {
  // A fetch that takes longer is aborted (checked whenever libgit2 reports progress).
  std::chrono::seconds fetch_timeout{120};
  std::uint64_t max_fetch_bytes = 2ull << 30;   // what one fetch may download
  std::uint64_t max_tree_bytes = 512ull << 20;  // a checkout's total file size
  std::size_t max_tree_files = 100000;          // files, directories and links in a checkout
  std::size_t max_checkouts = 20;               // per repository; the least recently used go
};

class GitCache {
 public:
  // `now_ms` is the clock fetch times are kept in (checkout_since()); default: steady time.
  explicit GitCache(std::string cache_dir, GitLimits limits = {}, std::function<int64_t()> now_ms = {});
  ~GitCache();
  GitCache(const GitCache&) = delete;
  GitCache& operator=(const GitCache&) = delete;

  // The commit `revision` names in `url` now: a branch, a tag (annotated ones peeled),
  // a full or abbreviated commit sha, "HEAD" or "" (the remote's default branch).
  // Fetches when `fetch` (or when the revision is not in the cache yet); else uses what
  // was fetched last. One bare repository per URL under cache_dir, never re-cloned.
  Result<std::string> resolve(const std::string& url, const std::string& revision,
                              const RepoCredentials& creds, bool fetch = true);
  // That commit's tree as a directory (made once per commit, then reused).
  Result<Checkout> checkout(const std::string& url, const std::string& revision,
                            const RepoCredentials& creds, bool fetch = true);
  // As checkout(), fetching only when the repository's last fetch began before `since_ms`
  // (on the cache's clock) or invalidate() named it since: many apps of one repository
  // share a fetch, and a resolution is reused until the caller deems it too old.
  Result<Checkout> checkout_since(const std::string& url, const std::string& revision,
                                  const RepoCredentials& creds, int64_t since_ms);
  // The next checkout_since() of every cached repository that `url` names (compared as
  // cd/repo_url.h compares them) fetches: a push webhook's.
  void invalidate(const std::string& url);
  // Called after every fetch with the URL (credentials left out): Argo CD's
  // argocd_git_request_total. Set before the cache is shared between threads.
  void set_fetch_observer(std::function<void(const std::string& url)> observer) { on_fetch_ = std::move(observer); }

  struct Repo;  // git.cc: one repository's mutex and paths

 private:
  std::shared_ptr<Repo> repo_for(const std::string& url);
  Result<std::string> resolve_locked(Repo& repo, const std::string& revision,
                                     const RepoCredentials& creds, bool fetch);
  Result<Checkout> checkout_locked(Repo& repo, const std::string& revision, const RepoCredentials& creds, bool fetch);

  std::string cache_dir_;
  GitLimits limits_;
  std::function<int64_t()> now_ms_;
  std::function<void(const std::string& url)> on_fetch_;
  std::mutex mu_;  // guards repos_
  std::map<std::string, std::shared_ptr<Repo>> repos_;
};

}  // namespace skiff::cd
