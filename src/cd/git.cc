#include "cd/git.h"

#include <git2.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "cd/git_fetch.h"
#include "cd/git_stream.h"
#include "cd/git_tree.h"
#include "cd/repo_url.h"

namespace skiff::cd {

namespace fs = std::filesystem;

struct GitCache::Repo {
  std::mutex mu;  // held for every fetch, lookup and checkout of this repository
  std::string url;
  std::string dir;                // <cache_dir>/<slug>-<hash>
  git_repository* git = nullptr;  // opened on first use, kept open
  int64_t fetched_at = INT64_MIN;  // when the last successful fetch began (the cache's clock)
  std::atomic<bool> stale{false};  // invalidate() named it since (set without the mutex: a fetch may hold it)
  ~Repo() { git_repository_free(git); }
};

namespace {

// A directory name for a URL: readable (the URL's last 40 characters) and unique (a hash).
std::string repo_dir_name(const std::string& url) {
  git_oid oid;
  git_odb_hash(&oid, url.data(), url.size(), GIT_OBJECT_BLOB);
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof hex, &oid);
  std::string slug;
  for (char c : redact_url(url)) slug += std::isalnum(static_cast<unsigned char>(c)) || c == '.' ? c : '_';
  if (slug.size() > 40) slug = slug.substr(slug.size() - 40);
  return slug + "-" + std::string(hex, 16);
}

bool is_hex(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string oid_text(const git_oid* oid) {
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof hex, oid);
  return hex;
}

// The commit a reference name leads to, peeling annotated tags; nullopt when no such ref.
std::optional<std::string> peel_ref(git_repository* r, const std::string& name) {
  git_reference* ref = nullptr;
  if (git_reference_lookup(&ref, r, name.c_str()) != 0) return std::nullopt;
  git_object* obj = nullptr;
  int rc = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
  git_reference_free(ref);
  if (rc != 0) return std::nullopt;
  std::string sha = oid_text(git_object_id(obj));
  git_object_free(obj);
  return sha;
}

// The commit `revision` names in the fetched repository, or nullopt.
Result<std::optional<std::string>> find_commit(git_repository* r, const std::string& revision) {
  if (revision.empty() || revision == "HEAD") return peel_ref(r, "HEAD");
  bool sha_like = revision.size() >= 4 && revision.size() <= GIT_OID_HEXSZ && is_hex(revision);
  if (sha_like && revision.size() == GIT_OID_HEXSZ) {  // a full sha wins over a ref of that name, as in git
    git_oid oid;
    git_commit* c = nullptr;
    if (git_oid_fromstr(&oid, revision.c_str()) == 0 && git_commit_lookup(&c, r, &oid) == 0) {
      git_commit_free(c);
      return std::optional<std::string>(oid_text(&oid));
    }
  }
  for (const std::string& name : {revision, "refs/tags/" + revision, "refs/heads/" + revision}) {
    if (name.rfind("refs/", 0) != 0) continue;
    if (auto sha = peel_ref(r, name)) return sha;
  }
  if (!sha_like) return std::optional<std::string>();
  git_oid oid;
  git_object* obj = nullptr;
  if (git_oid_fromstrn(&oid, revision.data(), revision.size()) != 0) return std::optional<std::string>();
  int rc = git_object_lookup_prefix(&obj, r, &oid, revision.size(), GIT_OBJECT_COMMIT);
  if (rc == GIT_EAMBIGUOUS)
    return invalid(fmt::format("revision \"{}\" is ambiguous: give more of the commit's sha", revision));
  if (rc != 0) return std::optional<std::string>();
  std::string sha = oid_text(git_object_id(obj));
  git_object_free(obj);
  return std::optional<std::string>(sha);
}

// Keeps at most `keep` checkouts, dropping the least recently used (by directory mtime,
// which checkout() touches on every reuse); `current` always stays.
void evict(const std::string& checkouts, const std::string& current, std::size_t keep) {
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> dirs;
  for (const auto& e : fs::directory_iterator(checkouts, ec)) {
    if (e.path().filename().string()[0] == '.' || e.path() == current) continue;
    dirs.emplace_back(fs::last_write_time(e.path(), ec), e.path());
  }
  if (dirs.size() + 1 <= keep) return;
  std::sort(dirs.begin(), dirs.end());
  for (size_t i = 0; i + keep < dirs.size() + 1; ++i) fs::remove_all(dirs[i].second, ec);
}

}  // namespace

GitCache::GitCache(std::string cache_dir, GitLimits limits, std::function<int64_t()> now_ms)
    : cache_dir_(std::move(cache_dir)), limits_(limits), now_ms_(std::move(now_ms)) {
  if (!now_ms_)
    now_ms_ = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  git_libgit2_init();
  install_timed_sockets();
}

GitCache::~GitCache() {
  repos_.clear();
  git_libgit2_shutdown();
}

std::shared_ptr<GitCache::Repo> GitCache::repo_for(const std::string& url) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& repo = repos_[url];
  if (!repo) {
    repo = std::make_shared<Repo>();
    repo->url = url;
    repo->dir = cache_dir_ + "/" + repo_dir_name(url);
  }
  return repo;
}

Result<std::string> GitCache::resolve_locked(Repo& repo, const std::string& revision, const RepoCredentials& creds,
                                             bool fetch) {
  if (!repo.git) {
    std::string path = repo.dir + "/repo.git";
    std::error_code ec;
    fs::create_directories(repo.dir + "/checkouts", ec);
    if (ec) return internal_error(fmt::format("creating the git cache {}: {}", repo.dir, ec.message()));
    if (git_repository_open_bare(&repo.git, path.c_str()) != 0) {
      if (git_repository_init(&repo.git, path.c_str(), 1) != 0)
        return internal_error(fmt::format("creating the git cache {}: {}", path, libgit2_message()));
      fetch = true;  // a new cache has nothing yet
    }
  }
  auto fetch_now = [&]() -> Status {
    int64_t began = now_ms_();
    repo.stale = false;
    Status s = fetch_remote(repo.git, repo.url, creds, limits_);
    if (s) repo.fetched_at = began;
    if (on_fetch_) on_fetch_(redact_url(repo.url));
    return s;
  };
  bool fetched = false;
  if (fetch) {
    if (Status s = fetch_now(); !s) return s;
    fetched = true;
  }
  auto found = find_commit(repo.git, revision);
  if (found && !found->has_value() && !fetched) {  // maybe newer than the last fetch
    if (Status s = fetch_now(); !s) return s;
    found = find_commit(repo.git, revision);
  }
  if (!found) return found.status().with_context(redact_url(repo.url));
  if (!found->has_value())
    return not_found(fmt::format("revision \"{}\" not found in {}: no such branch, tag or commit", revision,
                                 redact_url(repo.url)));
  return **found;
}

Result<std::string> GitCache::resolve(const std::string& url, const std::string& revision,
                                      const RepoCredentials& creds, bool fetch) {
  auto repo = repo_for(url);
  std::lock_guard<std::mutex> lock(repo->mu);
  return resolve_locked(*repo, revision, creds, fetch);
}

Result<Checkout> GitCache::checkout(const std::string& url, const std::string& revision,
                                    const RepoCredentials& creds, bool fetch) {
  auto repo = repo_for(url);
  std::lock_guard<std::mutex> lock(repo->mu);
  return checkout_locked(*repo, revision, creds, fetch);
}

Result<Checkout> GitCache::checkout_since(const std::string& url, const std::string& revision,
                                          const RepoCredentials& creds, int64_t since_ms) {
  auto repo = repo_for(url);
  std::lock_guard<std::mutex> lock(repo->mu);
  return checkout_locked(*repo, revision, creds, repo->stale || repo->fetched_at < since_ms);
}

void GitCache::invalidate(const std::string& url) {
  std::string wanted = normalize_repo_url(url);
  std::vector<std::shared_ptr<Repo>> named;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [repo_url, repo] : repos_)
      if (normalize_repo_url(repo_url) == wanted) named.push_back(repo);
  }
  for (const auto& repo : named) repo->stale = true;
}

Result<Checkout> GitCache::checkout_locked(Repo& repo, const std::string& revision, const RepoCredentials& creds,
                                           bool fetch) {
  const std::string& url = repo.url;
  auto sha = resolve_locked(repo, revision, creds, fetch);
  if (!sha) return sha.status();
  std::string dir = repo.dir + "/checkouts/" + *sha;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    fs::last_write_time(dir, fs::file_time_type::clock::now(), ec);
    return Checkout{*sha, dir};
  }
  std::string tmp = repo.dir + "/checkouts/.tmp-" + *sha;
  fs::remove_all(tmp, ec);
  git_oid oid;
  git_commit* commit = nullptr;
  git_tree* tree = nullptr;
  git_oid_fromstr(&oid, sha->c_str());
  if (git_commit_lookup(&commit, repo.git, &oid) != 0 || git_commit_tree(&tree, commit) != 0) {
    git_commit_free(commit);
    return internal_error(fmt::format("reading commit {} of {}: {}", *sha, redact_url(url), libgit2_message()));
  }
  Status s = write_tree(repo.git, tree, tmp, limits_);
  git_tree_free(tree);
  git_commit_free(commit);
  if (s) fs::rename(tmp, dir, ec);
  if (!s || ec) {
    fs::remove_all(tmp, ec);
    if (s) return internal_error(fmt::format("checking out {} of {}: {}", *sha, redact_url(url), ec.message()));
    return s.with_context(fmt::format("checking out {} (revision \"{}\") of {}", sha->substr(0, 12), revision,
                                      redact_url(url)));
  }
  evict(repo.dir + "/checkouts", dir, limits_.max_checkouts);
  return Checkout{*sha, dir};
}

}  // namespace skiff::cd
